"""The measure stage: size, speed and memory of a saved model and its deployment variants.

Not cached: every row measures its own model (a ``MeasureRequest`` run in this process
or a fresh interpreter, as the matrix's ``[measure]`` says), and each variant is
re-scored here on the evaluation split, with its agreement with the fp32 model's logits.
A crash while measuring fails the row's ``measure`` stage, not the matrix.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from distill_bench.matrix.components import Component
from distill_bench.plugin_api.metrics import agreement_rate, score_task
from distill_bench.plugin_api.tasks import TaskData
from distill_bench.stages.context import StageContext, StageFailed
from distill_bench.stages.measure.request import MeasureRequest, run_measurement


def evaluation_metrics(task: TaskData, logits: np.ndarray) -> dict:
    """The task's metrics of ``logits`` on its evaluation split, with which is primary."""
    metrics = score_task(task, logits.argmax(-1))
    return {
        **metrics,
        "primary_metric": task.primary_metric,
        "primary": metrics[task.primary_metric],
        "eval_split": task.evaluation.name,
        "eval_examples": len(task.evaluation),
    }


def per_example(task: TaskData, logits: np.ndarray) -> dict:
    """What the report's example-level statistics read: each evaluation example's gold and
    predicted label, and the chance score (the primary metric of always predicting the
    split's majority class: its share for accuracy, 0 for MCC) that retention is
    corrected by. Stored in the row, so a report re-renders without the stage cache."""
    gold = np.asarray(task.evaluation.labels, dtype=np.int64)
    majority = np.full_like(gold, np.bincount(gold).argmax()) if len(gold) else gold
    out = {
        "eval_labels": gold.tolist(),
        "eval_predictions": logits.argmax(-1).astype(np.int64).tolist(),
        "chance": score_task(task, majority)[task.primary_metric],
    }
    oos_label = getattr(task, "oos_label", None)
    if oos_label is not None:  # the primary metric of an oos task needs it to be re-scored
        out["oos_label"] = int(oos_label)
    return out


def measure_model(
    ctx: StageContext,
    role: str,
    model: Component,
    ckpt: Path,
    task: TaskData,
    reference: np.ndarray | None = None,
) -> dict:
    """Size, speed and memory of a saved model (``role``: "teacher" or "student", whose
    plugin and options ``model`` gives), and of its deployment variants, each variant
    re-scored on the evaluation split (``reference``: the model's own logits)."""
    budget = ctx.budget
    batch = budget.teacher_batch_size if role == "teacher" else budget.student_batch_size
    measure = ctx.plan.matrix.measure
    request = MeasureRequest(
        role=role,
        plugin=model.plugin,
        options=model.options_dict(),
        ckpt_dir=str(ckpt),
        texts=task.evaluation.texts,
        max_length=budget.max_length,
        config={k: getattr(measure, k) for k in measure.__dataclass_fields__},
        plugin_modules=ctx.plugin_modules,
        disabled=ctx.disabled,
        num_labels=task.num_labels,
        train_batch_size=batch,
    )
    started = time.perf_counter()
    try:
        result = run_measurement(request, isolate=measure.isolate)
    except Exception as exc:  # a crash while measuring fails this row only
        raise StageFailed("measure", f"{type(exc).__name__}: {exc}") from exc
    for variant in result.get("variants", {}).values():
        logits = variant.pop("logits", None)  # scored here, not stored
        if logits is not None:
            variant["metrics"] = evaluation_metrics(task, logits)
            if reference is not None:
                variant["metrics"]["agreement_with_fp32"] = agreement_rate(logits, reference)
    result["seconds"] = time.perf_counter() - started
    return result
