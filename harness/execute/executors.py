"""Executors: how a run's pending rows get computed, chosen by name.

``local`` runs them in this process, one at a time (``local.py``); ``ray`` turns the
plan's stages into Ray tasks (``ray.py``). Both take a ``Runner`` and return its
``RunSummary``.
"""

from __future__ import annotations

from distill_bench.execute.local import LocalExecutor
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
) -> LocalExecutor | RayExecutor:
    """The executor called ``name``. ``matrix_text`` and ``data_source`` are what Ray
    workers replan from; the local executor refuses an ``address``."""
    if name == "local":
        if address:
            raise BenchError("--address is for --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(matrix_text, data_source, address, num_cpus, gpus_per_task)
    raise BenchError(f"unknown executor {name!r} (executors: {', '.join(EXECUTORS)})")
