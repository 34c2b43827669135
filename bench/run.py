"""`make bench`: benchmarks, each measured against a baseline in the same run.

    python -m bench.run                   # intake, task_list, sweep, memory, metrics
    python -m bench.run sweep memory      # some of them (their rows in the results are replaced)
    python -m bench.run --keep-db intake  # leave the heart_bench database for a look afterwards

Writes bench/results/latest.json and BENCHMARKS.md. See BENCHMARKS.md for what each measures.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from datetime import UTC, datetime

from .figures import Outcome

BENCHMARKS = (
    "intake",
    "task_list",
    "sweep",
    "memory",
    "metrics",
    "eligible_calls",
    "retention",
    "hsds",
    "fhir_task",
    "neighbor_search",
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        help=f"any of {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the benchmark database at the end"
    )
    args = parser.parse_args(argv)
    names = [name.replace("-", "_") for name in args.benchmarks] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    args.names = [name for name in BENCHMARKS if name in names]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    # Django is set up by open_bench (its settings read the environment it prepares), so the
    # benchmark modules are imported after it.
    from .context import open_bench
    from .infra import database_drop
    from .report import machine_facts, save

    bench = open_bench()
    outcomes: list[Outcome] = []
    failed: list[str] = []
    machine = machine_facts(bench)
    try:
        for name in args.names:
            module = importlib.import_module(f"bench.{name}")
            bench.log(f"--- {name}")
            began = time.monotonic()
            began_at = datetime.now(UTC).isoformat(timespec="seconds")
            try:
                outcome: Outcome = module.run(bench)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                bench.log(
                    f"{name}: FAILED (see the traceback above); its results are kept as they were"
                )
                continue
            outcome.started = began_at
            outcome.seconds = time.monotonic() - began
            outcomes.append(outcome)
            bench.log(f"{name}: done in {outcome.seconds:.0f} s")
            save(
                outcomes=outcomes,
                machine=machine,
                run=_run_info(args.names, started_at, started, finished=False),
            )
    finally:
        bench.close()
        if not args.keep_db:
            database_drop(bench.database_url)
    wall = time.monotonic() - started
    save(outcomes=outcomes, machine=machine, run=_run_info(args.names, started_at, started))
    for outcome in outcomes:
        for figure in outcome.figures:
            mark = {True: "met", False: "MISSED", None: "-"}[figure.met]
            print(
                f"{figure.name:<52} {figure.value:>10g} {figure.unit:<8} "
                f"baseline {figure.baseline!s:>10}  ratio {figure.ratio!s:>7}  "
                f"goal {figure.goal} [{mark}]"
            )
    print(f"Wrote bench/results/latest.json and BENCHMARKS.md; wall time {wall:.0f} s.")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _run_info(
    names: list[str], started_at: str, started: float, *, finished: bool = True
) -> dict[str, object]:
    command = (
        "make bench" if names == list(BENCHMARKS) else f"python -m bench.run {' '.join(names)}"
    )
    return {
        "command": command,
        "benchmarks": names,
        "started": started_at,
        "wall_seconds": round(time.monotonic() - started, 1),
        "finished": finished,
    }


if __name__ == "__main__":
    sys.exit(main())
