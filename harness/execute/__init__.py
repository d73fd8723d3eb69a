"""Running a plan: the scheduler, row assembly, the local and Ray executors, the library API.

``run_matrix(matrix_path, ...)`` plans and runs a matrix; ``plan_matrix`` and
``run_planned`` are its two halves (``api.py``). ``runner.py`` holds the small
``Runner`` over the stages' shared context, ``rows.py`` turns a teacher row or a cell
into a ``ResultRow``, ``local.py`` and ``ray.py`` are the executors (chosen by
``executors.make_executor``), ``preflight.py`` checks extras, data files and teachers
before anything is written (``bench run --dry-run`` runs only that). Imports every
layer below it (``plugin_api``, ``matrix``, ``store``, ``report``, ``stages``); only
``cli`` imports it. Importing this package does not import torch: running does.
"""

from distill_bench.execute.api import (
    PlannedMatrix,
    check_planned,
    open_store,
    plan_matrix,
    resolve_data_dir,
    run_matrix,
    run_planned,
    stored_statuses,
)
from distill_bench.execute.summary import RunSummary

__all__ = [
    "PlannedMatrix",
    "RunSummary",
    "check_planned",
    "open_store",
    "plan_matrix",
    "resolve_data_dir",
    "run_matrix",
    "run_planned",
    "stored_statuses",
]
