"""Running one function in several threads at once, as several workers would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_together(work: Callable[[], object], *, threads: int = 2) -> None:
    """Start `threads` threads on `work` at the same moment (a barrier), wait for all, close
    their database connections, and raise the first error any of them met."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    if errors:
        raise errors[0]
