"""A matrix's cached stages, for the benchmark scripts that reuse what `bench run` trained."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from distill_bench.execute.api import DATA_ENV, PlannedMatrix, plan_matrix


def bench_data_dir() -> Path:
    """The data directory of `bench run` (its ``DATA_ENV``, $BENCH_DATA_DIR), else
    ../shared/data (the layout beside a checkout, as in CI)."""
    return Path(os.environ.get(DATA_ENV, "../shared/data"))


def cached_teacher(
    matrix: str, data_dir: Path, dataset: str | None = None
) -> tuple[PlannedMatrix, Path, Path]:
    """(the planned matrix, its fine-tuned teacher's folder, its data stage's folder) for the
    first cell on ``dataset`` (the first cell when None), read from the stage cache; exits
    naming the command to run when they are not there."""
    planned = plan_matrix(matrix, data_dir=data_dir)
    cell = next((c for c in planned.plan.cells if dataset in (None, c.dataset.name)), None)
    if cell is None:
        names = sorted({c.dataset.name for c in planned.plan.cells})
        sys.exit(f"{matrix}: no cell on dataset {dataset!r}; its datasets are {names}")
    teacher_dir = planned.cache.get("teacher", cell.teacher_key)
    data = planned.cache.get("data", cell.data_key)
    if teacher_dir is None or data is None:
        which = f"{dataset} teacher" if dataset else "teacher"
        sys.exit(f"{matrix}: its {which} is not cached; run `bench run --matrix {matrix}`")
    return planned, teacher_dir, data
