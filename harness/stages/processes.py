"""Stopping a process pool's workers when the run that owns them stops."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor


def terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM to every live worker of ``pool``. Ctrl-C in a terminal reaches the whole
    process group, but a SIGTERM sent to one pid (`kill PID`, a scheduler's preemption)
    reaches only the driver, whose ``shutdown(wait=True)`` would then wait for the workers'
    tasks to finish: a teacher's fine-tuning or measurement, minutes to an hour."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
