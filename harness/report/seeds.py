"""What varies inside a leaderboard entry: teacher seeds and student seeds. Pure, no torch.

A row's unit is (teacher seed, student seed): its scores and per-example predictions are
keyed by it, so a gain pairs rows of one unit, and an interval over seeds treats the
teacher as the unit of independent replication when there are several.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

import numpy as np
from distill_bench.report.stats import Estimate, Predictions, Unit, estimate
from distill_bench.store.results import ResultRow


def teacher_seed_of(row: ResultRow) -> int:
    """The seed of the teacher a row's student learnt from (a teacher row: its own seed).
    Rows written before it was recorded: the matrix's teacher_seed, else the row's seed."""
    if "teacher_seed" in row.config:
        return int(row.config["teacher_seed"])
    budget_seed = (row.config.get("budget") or {}).get("teacher_seed")
    return row.seed if row.role == "teacher" or budget_seed is None else int(budget_seed)


def unit_of(row: ResultRow) -> Unit:
    return (teacher_seed_of(row), row.seed)


def predictions_of(rows: list[ResultRow]) -> Predictions | None:
    """The rows' per-example predictions, one per unit; None unless every row has them."""
    if not rows or any("eval_predictions" not in r.metrics for r in rows):
        return None
    labels = np.asarray(rows[0].metrics["eval_labels"], dtype=np.int64)
    return Predictions(
        labels=labels,
        by_unit={
            unit_of(r): np.asarray(r.metrics["eval_predictions"], dtype=np.int64) for r in rows
        },
        metric=rows[0].metrics["primary_metric"],
        oos_label=rows[0].metrics.get("oos_label"),
    )


def spreads(by_unit: dict[Unit, float]) -> tuple[float | None, float | None]:
    """(teacher spread, student spread): the std of per-teacher means (None with one
    teacher) and the pooled std of student seeds around their teacher's mean (None
    without two seeds under some teacher)."""
    per_teacher: dict[int, list[float]] = defaultdict(list)
    for (t, _), v in by_unit.items():
        per_teacher[t].append(v)
    means = [statistics.mean(v) for v in per_teacher.values()]
    teacher = statistics.stdev(means) if len(means) >= 2 else None
    squares = sum(sum((x - statistics.mean(v)) ** 2 for x in v) for v in per_teacher.values())
    dof = sum(len(v) - 1 for v in per_teacher.values())
    return teacher, (squares / dof) ** 0.5 if dof > 0 else None


def seed_estimate(by_unit: dict[Unit, float]) -> Estimate:
    """Over seeds: with several teachers the t interval of per-teacher means (the teacher
    is the unit of independent replication), else of the student seeds."""
    teachers = sorted({t for t, _ in by_unit})
    flat = estimate(list(by_unit.values()))
    if len(teachers) < 2:
        return flat
    means = [statistics.mean(v for (t, _), v in by_unit.items() if t == k) for k in teachers]
    over = estimate(means)
    return Estimate(flat.mean, flat.std, over.low, over.high, flat.n, teachers=len(teachers))
