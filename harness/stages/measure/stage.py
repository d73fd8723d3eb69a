"""The measure stage: size, speed and memory of a saved model and its deployment variants.

How fast a model runs and how much memory it takes depend on its architecture, its inputs,
the settings and the machine, not on its trained weights, its loss or its seed: a model and
its deployment variants are timed once per ``timing_key`` (a ``MeasureRequest`` run in this
process or a fresh interpreter, as the matrix's ``[measure]`` says), cached as a ``timing``
stage, and every row sharing the key reads it. What the weights decide stays per row: each
variant is built from this row's checkpoint and re-scored on the evaluation split, untimed,
with its agreement with the fp32 model's logits. A crash while measuring fails the rows of
that model, not the matrix.
"""

from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path

import numpy as np
from distill_bench.matrix.components import Component
from distill_bench.matrix.keys import content_key
from distill_bench.plugin_api.metrics import agreement_rate, score_task
from distill_bench.plugin_api.tasks import TaskData
from distill_bench.stages.context import StageContext, StageFailed
from distill_bench.stages.measure.environment import environment
from distill_bench.stages.measure.request import (
    MeasureRequest,
    run_measurement,
    score_variants,
)
from distill_bench.stages.teacher.stage import PREDICTIONS
from distill_bench.store.cache import read_json, write_json
from safetensors import safe_open


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


TIMING = "timing.json"


def _measured(request: MeasureRequest, isolate: bool) -> dict:
    try:
        return run_measurement(request, isolate=isolate)
    except Exception as exc:  # a crash while measuring fails this row only
        raise StageFailed("measure", f"{type(exc).__name__}: {exc}") from exc


def _scored(request: MeasureRequest) -> dict:
    """Each variant's logits on this row's weights, in this process (nothing is timed)."""
    try:
        return score_variants(request)
    except Exception as exc:  # a crash while scoring fails this row only
        raise StageFailed("measure", f"{type(exc).__name__}: {exc}") from exc


def _read_timing(entry: Path) -> dict:
    return read_json(entry / TIMING)


def parameter_shapes(ckpt: Path) -> dict[str, list[int]]:
    """Every saved tensor's shape, read from the safetensors headers (no weights loaded)."""
    shapes: dict[str, list[int]] = {}
    for path in sorted(Path(ckpt).glob("*.safetensors")):
        if path.name == PREDICTIONS:
            continue
        with safe_open(str(path), framework="np") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open is not a Mapping)
                shapes[f"{path.name}:{name}"] = list(f.get_slice(name).get_shape())
    return shapes


def timing_key(request: MeasureRequest, ckpt: Path) -> str:
    """What a model's speed and memory depend on, and not its trained weights: its
    architecture (plugin, options, parameter shapes), the evaluation inputs it is timed on,
    the measurement settings, the batch its training peak uses and the machine. Two seeds
    or two losses of one student share it, so a matrix times each architecture once."""
    env = environment()
    config = {k: v for k, v in request.config.items() if k != "isolate"}
    texts = hashlib.sha256("\0".join(request.texts).encode()).hexdigest()
    return content_key(
        "timing",
        {
            "role": request.role,
            "plugin": request.plugin,
            "options": request.options,
            "num_labels": request.num_labels,
            "shapes": parameter_shapes(ckpt),
            "texts": texts,
            "max_length": request.max_length,
            "measure": config,
            "train_batch_size": request.train_batch_size,
            "machine": {k: env.get(k) for k in ("cpu", "cpu_count", "gpu")}
            | {"torch": env["packages"].get("torch")},
        },
    )


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
    key = timing_key(request, ckpt)

    def compute(scratch: Path) -> dict:
        timed = _measured(request, measure.isolate)
        for variant in timed.get("variants", {}).values():
            variant.pop("logits", None)  # the weights', not the architecture's: scored per row
        write_json(scratch / TIMING, timed)
        return {"role": role, "plugin": model.plugin}

    # speed and memory are the architecture's: timed once per key, read by every row
    result = copy.deepcopy(ctx.cached("timing", key, compute, _read_timing))
    result["timing_key"] = key
    if measure.variants:  # each variant's scores are these weights': computed for this row
        scored = _scored(request)
        for name, variant in result.get("variants", {}).items():
            mine = scored.get(name, {})
            if variant.get("available") and mine.get("available"):
                variant["logits"] = mine["logits"]
            elif variant.get("available"):  # timed on the architecture, but not on these weights
                variant.update(available=False, reason=mine.get("reason", "not scored"))
    for variant in result.get("variants", {}).values():
        logits = variant.pop("logits", None)  # scored here, not stored
        if logits is not None:
            variant["metrics"] = evaluation_metrics(task, logits)
            if reference is not None:
                variant["metrics"]["agreement_with_fp32"] = agreement_rate(logits, reference)
    result["seconds"] = time.perf_counter() - started
    return result
