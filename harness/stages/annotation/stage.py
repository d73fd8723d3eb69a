"""The annotation stages: the fine-tuned teacher's outputs on a cell's transfer set.

``annotation`` (cache kind ``annotate``): the teacher's logits, ``logits.safetensors``
when fp32 (the teacher plugin's own predictor: any teacher works), or shards written by
an ``Annotator`` at a faster precision (Hugging Face checkpoints), whose agreement with
the fp32 teacher on the selection split is recorded in info.json.
``features`` (cache kind ``features``): the hidden states / attention maps a cell's loss
reads, computed once per (teacher, transfer set, layers) and read lazily, shard by shard.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from distill_bench.matrix.plan import Cell
from distill_bench.stages.annotation.annotators import agreement, load_annotator
from distill_bench.stages.annotation.outputs import OutputsReader
from distill_bench.stages.context import StageContext
from distill_bench.stages.data.stage import task_of
from distill_bench.stages.teacher.stage import predictor, teacher_checkpoint
from distill_bench.stages.transfer.stage import transfer_set
from safetensors.numpy import load_file, save_file


def annotation(ctx: StageContext, cell: Cell) -> np.ndarray:
    """The teacher's logits on the cell's transfer set, [examples, labels]."""
    teacher_dir = teacher_checkpoint(ctx, cell)
    transfer = transfer_set(ctx, cell)

    def compute(out: Path) -> dict:
        precision = ctx.budget.annotate_precision
        if precision == "fp32":  # the teacher plugin's own predictor: any teacher works
            predict_fn = predictor(ctx, cell.teacher, teacher_dir)
            logits = predict_fn(transfer.texts, "annotate transfer set")
            save_file({"logits": logits}, str(out / "logits.safetensors"))
            return {"examples": len(transfer.texts), "precision": precision}
        # faster precisions (Hugging Face checkpoints): ONNX files stay out of the entry
        work = out.parent / f".{cell.annotate_key}.work"
        try:
            annotator = load_annotator(
                teacher_dir,
                precision,
                ctx.budget.max_length,
                ctx.budget.annotate_batch_size,
                ctx.device,
                work,
            )
            index = annotator.annotate_to(
                out, transfer.texts, progress=ctx.progress, description="annotate transfer set"
            )
            # what the speed costs: agreement with the fp32 teacher on the selection split
            task = task_of(ctx, cell)
            reference = predictor(ctx, cell.teacher, teacher_dir)(
                task.select.texts, "fp32 reference on the selection split"
            )
            candidate = annotator.logits(
                task.select.texts, description=f"{precision} on the selection split"
            )
            return {
                "examples": index["examples"],
                "agreement_with_fp32": agreement(reference, candidate),
                **annotator.describe(),
            }
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return ctx.cached(
        "annotate",
        cell.annotate_key,
        compute,
        lambda entry: load_file(str(entry / "logits.safetensors"))["logits"],
    )


def features(ctx: StageContext, cell: Cell):
    """Teacher hidden states / attention maps the cell's loss reads, computed once per
    (teacher, transfer set, layers) and read lazily, shard by shard."""
    teacher_dir = teacher_checkpoint(ctx, cell)
    transfer = transfer_set(ctx, cell)
    profile = cell.profile

    def compute(out: Path) -> dict:
        # fp32 unless bf16 was asked for: int8 / ONNX paths give logits only
        precision = "bf16" if ctx.budget.annotate_precision == "bf16" else "fp32"
        annotator = load_annotator(
            teacher_dir,
            precision,
            ctx.budget.max_length,
            ctx.budget.annotate_batch_size,
            ctx.device,
        )
        index = annotator.annotate_to(
            out,
            transfer.texts,
            profile.hidden_layers,
            bool(profile.attention_layers),
            attention_layers=profile.attention_layers or None,
            average_heads=not profile.per_head,
            progress=ctx.progress,
            description="teacher features",
        )
        return {"examples": index["examples"], **annotator.describe()}

    return ctx.cached(
        "features", cell.features_key, compute, lambda entry: OutputsReader(entry).features()
    )
