"""`make bench`: benchmarks, each measured against a baseline in the same run.

No benchmark is written yet (the proof issue brings them); this says so instead of pretending.
"""

from __future__ import annotations

import sys


def main() -> None:
    print("No benchmarks yet: they arrive with the 'Proof' issue. Nothing was measured.")
    sys.exit(0)


if __name__ == "__main__":
    main()
