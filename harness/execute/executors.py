"""Executors: how a run's pending rows get computed, chosen by name.

``local`` trains on a pool of ``jobs`` processes, then evaluates and measures in this
process one row at a time (``local.py``); ``ray`` turns the plan's stages into Ray tasks
(``ray.py``). Both take a ``Runner`` and return its ``RunSummary``.
"""

from __future__ import annotations

from distill_bench.execute.local import LocalExecutor, default_jobs
from distill_bench.execute.ray import RayExecutor
from distill_bench.plugin_api.errors import BenchError

EXECUTORS = ("local", "ray")


def make_executor(
    name: str,
    matrix_text: str,
    data_source: str,
    address: str | None = None,
    num_cpus: int | None = None,
    gpus_per_task: float | None = None,
    jobs: int | None = None,
) -> LocalExecutor | RayExecutor:
    """The executor called ``name``. ``matrix_text`` and ``data_source`` are what workers
    replan from; ``jobs``: the local executor's training processes (None: ``default_jobs()``);
    the local executor refuses an ``address`` and Ray refuses ``jobs``."""
    if name == "local":
        if address:
            raise BenchError("--address is for --executor ray")
        if jobs is not None and jobs < 1:
            raise BenchError(f"--jobs: expected a whole number >= 1, got {jobs}")
        return LocalExecutor(matrix_text, data_source, default_jobs() if jobs is None else jobs)
    if jobs is not None:
        raise BenchError("--jobs is for --executor local (Ray sizes its own workers: --num-cpus)")
    if name == "ray":
        return RayExecutor(matrix_text, data_source, address, num_cpus, gpus_per_task)
    raise BenchError(f"unknown executor {name!r} (executors: {', '.join(EXECUTORS)})")
