"""The teacher stage: a teacher plugin fine-tuned on a task, with its evaluation logits.

Cache kind ``teacher``; the entry is the plugin's checkpoint folder (what its
``finetune`` wrote) plus ``predictions.safetensors`` (``evaluation``: the fine-tuned
teacher's logits on the evaluation split, scored once here and read by the teacher row
and every cell's agreement). ``predictor`` is the plugin's fp32 ``texts -> logits``,
which the annotation stage uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from distill_bench.matrix.components import Component
from distill_bench.matrix.plan import Cell, TeacherRow
from distill_bench.stages.context import StageContext
from distill_bench.stages.data.stage import entry_task
from safetensors.numpy import save_file

PREDICTIONS = "predictions.safetensors"  # {"evaluation": logits}, teachers and students alike


def teacher_model(ctx: StageContext, teacher: Component):
    """The teacher plugin's object for this axis entry (see the teacher Protocol)."""
    return ctx.registry.get("teachers", teacher.plugin).factory(teacher.options_dict())


def predictor(
    ctx: StageContext, teacher: Component, ckpt_dir: Path
) -> Callable[[Sequence[str], str], np.ndarray]:
    """The teacher plugin's fp32 ``texts -> logits`` for a fine-tuned checkpoint."""
    return teacher_model(ctx, teacher).predictor(
        ckpt_dir,
        ctx.device,
        ctx.budget.max_length,
        ctx.budget.annotate_batch_size,
        ctx.progress,
    )


def teacher_checkpoint(ctx: StageContext, row: TeacherRow | Cell) -> Path:
    """The folder of the row's fine-tuned teacher (its cache entry)."""
    task = entry_task(ctx, row)

    def compute(out: Path) -> dict:
        model = teacher_model(ctx, row.teacher)
        as_given = row.teacher.options_dict().get("finetune") is False  # hf's finetune = false
        ctx.progress.log(
            f"scoring {row.teacher.name} as given on {task.name}"
            if as_given
            else f"fine-tuning {row.teacher.name} on {task.name} ({len(task.train)} examples)"
        )
        info = model.finetune(task, ctx.budget, row.data_seed, out, ctx.device, ctx.progress)
        # score once here: the teacher row and every cell's agreement read these logits
        predict_fn = predictor(ctx, row.teacher, out)
        save_file(
            {"evaluation": predict_fn(task.evaluation.texts, "teacher on evaluation split")},
            str(out / PREDICTIONS),
        )
        return info

    return ctx.cached("teacher", row.teacher_key, compute, lambda entry: entry)
