"""Pre-flight checks: what must hold before anything trains.

Every dataset loads (a missing file stops the run before any training) and every
teacher accepts its dataset (a bad model path fails here, not mid-matrix). Both raise
``BenchError``: bad input stops the run with one line.
"""

from __future__ import annotations

from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.context import StageContext, StageFailed
from distill_bench.stages.data.stage import task_of
from distill_bench.stages.teacher.stage import teacher_model


def preflight(ctx: StageContext) -> None:
    """Load every dataset of the plan, then check every teacher against its dataset."""
    plan = ctx.plan
    # load every dataset first: a missing file stops the run before any training
    for item in [*plan.teacher_rows, *plan.cells]:
        try:
            task_of(ctx, item)
        except StageFailed as failure:
            raise BenchError(f"dataset {item.dataset.name!r}: {failure.error}") from None
    # and every teacher against its dataset: a bad model path fails here, not mid-matrix
    for row in plan.teacher_rows:
        teacher = teacher_model(ctx, row.teacher)
        if hasattr(teacher, "check"):
            teacher.check(task_of(ctx, row))
