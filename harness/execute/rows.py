"""Row assembly: a teacher row or a cell as a ``ResultRow``, ok with its figures or failed.

A row reads the stages it needs through the ``StageContext`` (computing what is not
cached), scores the saved predictions on the evaluation split, measures the model and
records what each stage took. A stage that fails makes a failed row naming that stage
and its error; bad input (``BenchError``) stops the run instead. Storing the row is the
caller's job (the runner, or a Ray worker that sends it to the driver).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from distill_bench.matrix.plan import Cell, TeacherRow
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.metrics import diagnostics
from distill_bench.report.render import row_label
from distill_bench.stages.context import StageContext, StageFailed
from distill_bench.stages.data.stage import task_of
from distill_bench.stages.measure.environment import environment
from distill_bench.stages.measure.stage import evaluation_metrics, measure_model, per_example
from distill_bench.stages.student.stage import student_checkpoint
from distill_bench.stages.teacher.stage import PREDICTIONS, teacher_checkpoint
from distill_bench.stages.transfer.build import row_metrics
from distill_bench.stages.transfer.stage import transfer_set
from distill_bench.store.cache import read_json
from distill_bench.store.results import ResultRow
from safetensors.numpy import load_file

Work = Callable[[], tuple[dict, dict, dict]]  # -> (metrics, measurements, timings)


def evaluation_logits(ckpt: Path) -> np.ndarray:
    """A teacher's or student's saved logits on the evaluation split."""
    return load_file(str(ckpt / PREDICTIONS))["evaluation"]


def info_seconds(ctx: StageContext, stage: str, key: str) -> dict:
    """A stage's key and the seconds its info.json says it took (None if it has none)."""
    entry = ctx.cache.entry(stage, key)
    seconds = (
        read_json(entry / "info.json").get("seconds") if (entry / "info.json").is_file() else None
    )
    return {"key": key, "seconds": seconds}


def measure_timings(ctx: StageContext, row_key: str, measurements: dict) -> dict:
    """A row's measuring in its timings: the timing stage's own seconds under its key, so an
    architecture counts once however many rows read it (and a row re-made from the cache
    still says what timing it cost); with deployment variants, also the seconds this row
    spent scoring them on its own weights."""
    out = {"measure": info_seconds(ctx, "timing", measurements["timing_key"])}
    if measurements.get("variants"):
        out["scoring"] = {"key": row_key, "seconds": measurements["seconds"]}
    return out


def make_row(
    ctx: StageContext, key: str, role: str, names: dict, seed: int, config: dict, work: Work
) -> ResultRow:
    """Run ``work``; its row: ok with figures, or failed with stage and error."""
    common = dict(seed=seed, config=config, environment=environment(), **names)
    matrix = ctx.plan.matrix.name
    try:
        metrics, measurements, timings = work()
    except BenchError:
        raise  # bad input stops the run; rows already stored stay
    except Exception as exc:
        failure = exc if isinstance(exc, StageFailed) else StageFailed("evaluate", repr(exc))
        return ResultRow(
            matrix, key, role, status="failed", stage=failure.stage, error=failure.error, **common
        )
    return ResultRow(
        matrix,
        key,
        role,
        status="ok",
        metrics=metrics,
        measurements=measurements,
        timings=timings,
        **common,
    )


def teacher_row(ctx: StageContext, row: TeacherRow) -> ResultRow:
    """The fine-tuned teacher's own row: its scores, size and speed."""
    names = dict(
        dataset=row.dataset.name,
        teacher=row.teacher.name,
        student=row.teacher.name,
        loss="",
        augmenter="",
    )

    def work():
        task = task_of(ctx, row)
        ckpt = teacher_checkpoint(ctx, row)
        evaluation = evaluation_logits(ckpt)
        metrics = evaluation_metrics(task, evaluation) | per_example(task, evaluation)
        metrics |= diagnostics(evaluation, None, task.evaluation.labels)
        measurements = measure_model(ctx, "teacher", row.teacher, ckpt, task, evaluation)
        info = read_json(ckpt / "info.json")
        return (
            metrics,
            measurements,
            {
                "data": info_seconds(ctx, "data", row.data_key),
                "teacher": {
                    "key": row.teacher_key,
                    "seconds": info["seconds"],
                    "finetune_seconds": info.get("finetune_seconds"),
                },
            }
            | measure_timings(ctx, row.key, measurements),
        )

    config = {
        "dataset": row.dataset.config(),
        "teacher": row.teacher.config(),
        "budget": ctx.budget.teacher_part(),
        "seed": row.seed,
        "teacher_seed": row.seed,
    }
    return make_row(ctx, row.key, "teacher", names, row.seed, config, work)


def cell_row(ctx: StageContext, cell: Cell) -> ResultRow:
    """A cell's row: the distilled student's scores against its teacher, size and speed."""
    names = dict(
        dataset=cell.dataset.name,
        teacher=cell.teacher.name,
        student=cell.student.name,
        loss=cell.loss.name,
        augmenter=cell.augmenter.name,
    )

    def work():
        task = task_of(ctx, cell)
        ckpt = student_checkpoint(ctx, cell)
        evaluation = evaluation_logits(ckpt)
        teacher_eval = evaluation_logits(teacher_checkpoint(ctx, cell))
        metrics = evaluation_metrics(task, evaluation) | per_example(task, evaluation)
        # agreement, calibration, the teacher's errors the student repeats
        metrics |= diagnostics(evaluation, teacher_eval, task.evaluation.labels)
        transfer = transfer_set(ctx, cell)
        metrics["transfer_size"] = len(transfer.texts)
        metrics |= row_metrics(
            transfer,
            read_json(ctx.cache.entry("transfer", cell.transfer_key) / "info.json"),
            read_json(ckpt / "info.json"),
        )
        annotate_info = ctx.cache.entry("annotate", cell.annotate_key) / "info.json"
        if annotate_info.is_file():  # absent for losses that never read teacher logits
            info = read_json(annotate_info)
            metrics["annotation_precision"] = info.get("precision", "fp32")
            if "agreement_with_fp32" in info:
                metrics["annotation_agreement"] = info["agreement_with_fp32"]
        measurements = measure_model(ctx, "student", cell.student, ckpt, task, evaluation)
        train = read_json(ckpt / "info.json")
        measurements["train_seconds"] = train["train_seconds"]
        return (
            metrics,
            measurements,
            {
                stage: info_seconds(ctx, stage, key)
                for stage, key in (
                    ("data", cell.data_key),
                    ("teacher", cell.teacher_key),
                    ("transfer", cell.transfer_key),
                    ("annotate", cell.annotate_key),
                    ("student", cell.student_key),
                )
            }
            | measure_timings(ctx, cell.key, measurements),
        )

    config = {
        "dataset": cell.dataset.config(),
        "teacher": cell.teacher.config(),
        "student": cell.student.config(),
        "loss": cell.loss.config(),
        "augmenter": cell.augmenter.config(),
        "budget": ctx.budget.student_part(),
        "seed": cell.seed,
        "teacher_seed": cell.data_seed,  # which teacher it learnt from: its % of teacher is of that one
    }
    if cell.several_teachers:
        config["several_teachers"] = True  # its label names the teacher seed
    return make_row(ctx, cell.key, "student", names, cell.seed, config, work)


def summary_line(row: ResultRow) -> str:
    """One log line per row: its primary score, size and throughput, or why it failed."""
    head = row_label(row)
    if row.status != "ok":
        return f"FAILED {head}: {row.stage}: {row.error}"
    m, s = row.metrics, row.measurements
    return (
        f"done {head}: {m['primary_metric']} {100 * m['primary']:.1f} on {m['eval_split']}, "
        f"{s['params_total'] / 1e6:.2f}M params, {s['cpu_throughput']['median']:.0f} sent/s"
    )
