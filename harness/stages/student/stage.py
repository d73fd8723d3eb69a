"""The student stage: one student distilled from the teacher, read top to bottom.

Cache kind ``student``; the entry holds the student checkpoint (``student_io``) and
``predictions.safetensors`` (its logits on the evaluation split). The steps, in order:
filter the transfer set by teacher confidence, build the student and its loss, tokenise
(the transfer set once per vocabulary as the cached ``tokens`` stage, memory-mapped; the
task's splits once per vocabulary in this process), train keeping the best epoch on the
selection split, predict the evaluation split, save.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from distill_bench.matrix.capabilities import loss_parts, loss_profile
from distill_bench.matrix.components import Component
from distill_bench.matrix.keys import content_key
from distill_bench.matrix.model import COMPOSE
from distill_bench.matrix.plan import Cell
from distill_bench.plugin_api.metrics import task_metric
from distill_bench.plugin_api.pairs import is_pair_task
from distill_bench.plugin_api.specs import TEACHER_LOGITS
from distill_bench.plugin_api.tasks import TaskData, TransferSet
from distill_bench.stages.annotation.stage import annotation, features
from distill_bench.stages.context import StageContext
from distill_bench.stages.data.stage import task_of
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.loop import (
    Staged,
    TrainingData,
    WeightedSum,
    distill,
    predict,
)
from distill_bench.stages.student.token_ids import TokenIds, write_token_ids
from distill_bench.stages.teacher.stage import PREDICTIONS, teacher_checkpoint, teacher_model
from distill_bench.stages.tokens import prepare
from distill_bench.stages.transfer.build import IndexedFeatures, confidence_filter, split_options
from distill_bench.stages.transfer.stage import transfer_set
from safetensors.numpy import load_file, save_file
from torch import nn


@dataclass(frozen=True)
class KeptTransfer:
    """The transfer set a student trains on, after the teacher-confidence filter."""

    transfer: TransferSet
    logits: np.ndarray | None  # the teacher's logits on it, when the loss reads them
    indices: np.ndarray | None  # positions kept in the full transfer set; None: unfiltered
    filtered: dict | None  # what the filter did (info.json's "confidence_filter")


@dataclass(frozen=True)
class BuiltStudent:
    """A freshly initialised student, the vocabulary it reads and its resolved options."""

    model: nn.Module
    context: student_io.StudentContext
    options: dict[str, Any]


def teacher_logits(ctx: StageContext, cell: Cell) -> np.ndarray:
    """What the cell's student learns from on its transfer set (cache kind ``annotate``):
    the teacher's logits, or in a chain its assistant's, another cell's student run over
    the same transfer set (Mirzadeh et al. 2019's teacher assistant)."""
    if cell.assistant is None:
        return annotation(ctx, cell)
    assistant_dir = student_checkpoint(ctx, cell.assistant)  # trained first if it is not yet
    transfer = transfer_set(ctx, cell)

    def compute(out: Path) -> dict:
        model, context = student_io.load_student(assistant_dir, ctx.registry)
        ids = student_io.encode(
            context.tokenizer, transfer.texts, ctx.budget.max_length, context.special_tokens
        )
        logits = predict(model.to(ctx.device), ids, 512, ctx.device, context.num_labels)
        save_file({"logits": logits}, str(out / "logits.safetensors"))
        return {"examples": len(transfer.texts), "assistant": cell.assistant.label}

    return ctx.cached(
        "annotate",
        cell.annotate_key,
        compute,
        lambda entry: load_file(str(entry / "logits.safetensors"))["logits"],
    )


def filter_by_confidence(ctx: StageContext, cell: Cell, transfer: TransferSet) -> KeptTransfer:
    """The transfer set and teacher logits the student reads: the logits only when the
    loss reads them (a ce-hard baseline needs none) or the augmenter filters by them."""
    uses = loss_profile(ctx.registry, cell.loss).uses
    augmenter = ctx.registry.get("augmenters", cell.augmenter.plugin)
    filter_options = split_options(augmenter, cell.augmenter.options_dict())[1]
    reads_logits = TEACHER_LOGITS in uses
    logits = teacher_logits(ctx, cell) if reads_logits or filter_options.filtering else None
    if not filter_options.filtering:
        return KeptTransfer(transfer, logits, None, None)
    # the teacher-confidence filter: unsure transfer examples dropped or downweighted
    kept, filtered = confidence_filter(logits, filter_options, cell.seed)
    kept_set = TransferSet(
        tuple(transfer.texts[i] for i in kept),
        tuple(transfer.labels[i] for i in kept),
        transfer.source,
    )
    return KeptTransfer(kept_set, logits[kept] if reads_logits else None, kept, filtered)


def build_student(
    ctx: StageContext, cell: Cell, task: TaskData, teacher_dir: Path, texts: Sequence[str]
) -> BuiltStudent:
    """The student's vocabulary (built over ``texts`` when its options ask for a word
    vocabulary), then its module."""
    spec = ctx.registry.get("students", cell.student.plugin)
    options = cell.student.options_dict()
    teacher = teacher_model(ctx, cell.teacher)
    teacher_tokenizer = prepare(teacher.tokenizer(teacher_dir))
    tokenizer = student_io.student_tokenizer(options, teacher_tokenizer, texts)
    pretrained = getattr(teacher, "path", None)
    context = student_io.StudentContext(
        task.num_labels,
        tokenizer,
        teacher_dir,
        spec.special_tokens,
        teacher_pretrained=None if pretrained is None else str(pretrained),
        pairs=is_pair_task(task.evaluation.texts),
    )
    # seeded here, not only in the loop: a student's initial weights must not depend
    # on what ran earlier in this process (loading a teacher draws random numbers)
    torch.manual_seed(cell.seed)
    model = spec.factory(options, context)
    if getattr(model, "tokenizer", None) is not None:  # a student with its own vocabulary
        context = replace(context, tokenizer=prepare(model.tokenizer))
    return BuiltStudent(model, context, options)


def build_loss(ctx: StageContext, loss: Component) -> Callable:
    """The loss plugin's callable, or a composition's parts summed (or staged)."""
    parts = [
        (weight, ctx.registry.get("losses", plugin).factory(options))
        for plugin, weight, options in loss_parts(loss)
    ]
    if loss.plugin != COMPOSE:
        return parts[0][1]
    options = loss.options_dict()
    if "stages" not in options:
        return WeightedSum(parts)
    return Staged(parts, options["stages"], options.get("unfreeze", False))


def vocabulary_id(student: student_io.StudentContext) -> str:
    return hashlib.sha1(student.tokenizer.to_str().encode()).hexdigest()


def split_ids(
    ctx: StageContext,
    student: student_io.StudentContext,
    vocab_id: str,
    texts: Sequence[str],
    source: str,
) -> list[list[int]]:
    """Token ids of a task split (``source`` names it): tokenised once per (texts,
    vocabulary) in this run, shared by every cell."""
    key = (source, vocab_id, student.special_tokens, ctx.budget.max_length)
    if key not in ctx.token_ids:
        ctx.token_ids[key] = student_io.encode(
            student.tokenizer, texts, ctx.budget.max_length, student.special_tokens
        )
    return ctx.token_ids[key]


def transfer_ids(
    ctx: StageContext, cell: Cell, student: student_io.StudentContext, vocab_id: str
) -> TokenIds:
    """The transfer set in a student's vocabulary: tokenised once per (transfer set,
    vocabulary) and memory-mapped, so a 500k-sentence epoch streams from disk."""
    max_length = ctx.budget.max_length
    key = content_key(
        "tokens",
        {
            "vocabulary": vocab_id,
            "special_tokens": student.special_tokens,
            "max_length": max_length,
        },
        (cell.transfer_key,),
    )

    def compute(out: Path) -> dict:
        texts = transfer_set(ctx, cell).texts
        return write_token_ids(
            out,
            texts,
            lambda batch: student_io.encode(
                student.tokenizer, batch, max_length, student.special_tokens
            ),
        )

    return ctx.cached("tokens", key, compute, TokenIds.load)


def training_data(
    ctx: StageContext,
    cell: Cell,
    task: TaskData,
    student: student_io.StudentContext,
    vocab_id: str,
    kept: KeptTransfer,
) -> TrainingData:
    """The kept transfer set and the selection split, tokenised; the teacher features."""
    ids = transfer_ids(ctx, cell, student, vocab_id)
    teacher_features = features(ctx, cell) if cell.features_key else None
    if kept.indices is not None:  # the filtered set reads the shared ids and features by index
        ids = ids.take(kept.indices)
        if teacher_features is not None:
            teacher_features = IndexedFeatures(teacher_features, kept.indices)
    return TrainingData(
        transfer_ids=ids,
        transfer_labels=kept.transfer.labels,
        teacher_logits=kept.logits,
        select_ids=split_ids(ctx, student, vocab_id, task.select.texts, cell.data_key + "/select"),
        select_labels=task.select.labels,
        metric=task_metric(task),
        num_labels=task.num_labels,
        features=teacher_features,
    )


def student_checkpoint(ctx: StageContext, cell: Cell) -> Path:
    """The folder of the cell's distilled student (its cache entry)."""
    task = task_of(ctx, cell)
    teacher_dir = teacher_checkpoint(ctx, cell)
    transfer = transfer_set(ctx, cell)

    def compute(out: Path) -> dict:
        kept = filter_by_confidence(ctx, cell, transfer)
        built = build_student(ctx, cell, task, teacher_dir, kept.transfer.texts)
        loss_fn = build_loss(ctx, cell.loss)
        vocab_id = vocabulary_id(built.context)
        data = training_data(ctx, cell, task, built.context, vocab_id, kept)
        # transformer students return their layers only to a loss that reads them
        expose = getattr(built.model, "expose", None)
        if expose is not None:
            expose(loss_profile(ctx.registry, cell.loss).needs)
        # train, keep the best epoch on the selection split
        info = distill(
            built.model,
            loss_fn,
            data,
            budget=ctx.budget,
            seed=cell.seed,
            device=ctx.device,
            progress=ctx.progress,
        )
        if kept.filtered is not None:
            info["confidence_filter"] = kept.filtered
        if hasattr(built.model, "embedding_coverage"):  # pretrained word vectors' share
            info["embedding_coverage"] = built.model.embedding_coverage
        if expose is not None:
            expose(frozenset())
        # predict the evaluation split, save
        evaluation_ids = split_ids(
            ctx, built.context, vocab_id, task.evaluation.texts, cell.data_key + "/evaluation"
        )
        evaluation = predict(built.model, evaluation_ids, 512, ctx.device, task.num_labels)
        save_file({"evaluation": evaluation}, str(out / PREDICTIONS))
        student_io.save_student(out, built.model, cell.student.plugin, built.options, built.context)
        info["vocab_size"] = built.context.vocab_size
        return info

    return ctx.cached("student", cell.student_key, compute, lambda entry: entry)
