"""The local executor: a run's pending rows computed in this process, one at a time."""

from __future__ import annotations

from distill_bench.execute.runner import Runner
from distill_bench.execute.summary import RunSummary


class LocalExecutor:
    """In this process, one row at a time."""

    def run(self, runner: Runner) -> RunSummary:
        return runner.run()
