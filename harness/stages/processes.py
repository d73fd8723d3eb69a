"""Stopping a process pool's workers when the run that owns them stops."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor


def terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM to every live worker of ``pool``. Ctrl-C in a terminal reaches the whole
    process group, but a SIGTERM sent to one pid (`kill PID`, a scheduler's preemption)
    reaches only the driver, whose ``shutdown(wait=True)`` would then wait for the workers'
    tasks to finish: a teacher's fine-tuning or measurement, minutes to an hour."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


@contextlib.contextmanager
def owned_pool(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """``pool`` for the block, then shut down: its workers are terminated first when the
    block is left by an exception (a SIGTERM turned into one, a failure), so nothing keeps
    computing for a run that is gone; cancelled work never starts."""
    try:
        yield pool
    except BaseException:
        terminate_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
