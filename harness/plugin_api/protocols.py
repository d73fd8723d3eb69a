"""What plugins return, as ``typing.Protocol``s: the objects the harness calls, and when.

A spec's ``factory`` builds a component; these Protocols are the contract of what it
builds, written the way pytest documents its hooks: when the harness calls each method,
what it passes, what it must return (what the harness hands plugins is in
``distill_bench.plugin_api.contexts``). The hook docstrings in
``distill_bench.plugin_api.hookspecs`` point here, and the contract tests check that both
agree and that the built-in plugins conform. They are ``runtime_checkable``: a plugin's
test can ``assert isinstance(obj, Teacher)`` (which checks the names, not the signatures).

No torch at import: tensor, module and array types are annotations only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from distill_bench.plugin_api.contexts import (
    AugmentContextView,
    LossBatch,
    StudentContextView,
    TaskLabels,
    TeacherBudget,
)
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.tasks import TaskData, TransferSet

if TYPE_CHECKING:
    import numpy as np
    import torch
    from tokenizers import Tokenizer

__all__ = [
    "AugmenterBuild",
    "AugmenterFactory",
    "DatasetFactory",
    "InferenceEncoder",
    "Loss",
    "LossFactory",
    "Predictor",
    "StudentFactory",
    "StudentModule",
    "Teacher",
    "TeacherCheck",
    "TeacherFactory",
]


# Datasets


@runtime_checkable
class DatasetFactory(Protocol):
    """``DatasetSpec.factory``: builds the task data of one dataset."""

    def __call__(self, options: dict[str, Any], data_dir: Path | None) -> TaskData:
        """Called by the data stage once per (dataset, options) and seed before it is cached,
        and by ``bench datasets show`` and ``bench augment preview``.

        :param options: the spec's options, resolved (defaults filled in, types checked).
        :param data_dir: the local data directory (``--data-dir`` / ``BENCH_DATA_DIR``), or
            None: then load from the Hugging Face Hub.
        :returns: the ``TaskData``: label names, a ``train`` split, a ``select`` split for
            model selection (never scored), an ``evaluation`` split (its name is shown in the
            leaderboard), the ``primary_metric`` and optional ``unlabelled`` text. The harness
            subsamples it by the matrix's budget afterwards.
        """


# Teachers


@runtime_checkable
class Predictor(Protocol):
    """What ``Teacher.predictor`` returns: the fine-tuned teacher's fp32 logits."""

    def __call__(self, texts: Sequence[str], description: str = "annotate") -> np.ndarray:
        """Called by the teacher stage (the evaluation split, once after fine-tuning) and the
        annotation stage (the transfer set; the selection split as the fp32 reference of a
        faster precision).

        :param texts: the sentences, in order.
        :param description: what the progress bar says.
        :returns: float32 logits, shape ``[len(texts), num_labels]``, row i for text i.
        """


@runtime_checkable
class InferenceEncoder(Protocol):
    """The ``encode`` that ``Teacher.inference_model`` returns beside its module."""

    def __call__(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Called by the measure stage for each batch it times or scores.

        :param texts: one batch of sentences.
        :returns: the keyword arguments of one forward pass of the module (``model(**kwargs)``
            returns logits, or an output with a ``logits`` attribute), padded to the batch's
            longest text and truncated at ``max_length``.
        """


@runtime_checkable
class TeacherCheck(Protocol):
    """The optional pre-flight check of a teacher (``bench run`` and ``bench run --dry-run``
    call it when it exists)."""

    def check(self, task: TaskLabels) -> None:
        """Called by the pre-flight of ``bench run`` and ``--dry-run`` alike, once per
        (teacher, dataset) entry pair, before any data loads and anything is written: a bad
        model path fails in seconds, not mid-matrix. Read files, never write them, and
        import nothing heavy (no torch): the dry run stays fast and leaves no trace.

        :param task: the dataset entry's name and label count (``TaskLabels``). For a
            dataset that declares no ``num_labels``, ``bench run`` calls it once more with
            the loaded ``TaskData`` (the dry run cannot).
        :raises BenchError: when this teacher cannot work on the task (a missing model
            folder, a classifier head with another label count); the pre-flight prefixes
            the matrix file and the teacher entry.
        """


@runtime_checkable
class Teacher(Protocol):
    """What ``TeacherSpec.factory(options)`` returns. Building it must be cheap (no weights
    loaded): the harness builds one whenever it needs a method. It may also have
    ``check(task)`` (``TeacherCheck``) and a ``path`` attribute (its pretrained model
    folder, which ``bench augment preview`` reads for a default tokenizer)."""

    def finetune(
        self,
        task: TaskData,
        budget: TeacherBudget,
        seed: int,
        out_dir: Path,
        device: torch.device,
        progress: Progress = quiet,
    ) -> dict[str, Any]:
        """Called by the teacher stage once per (teacher, dataset, seed) content key; the
        result is cached, so never again for the same key.

        :param task: the subsampled task: fine-tune on ``task.train``, select (early
            stopping, best checkpoint) on ``task.select``; never read ``task.evaluation``.
        :param budget: the matrix's budget (see ``TeacherBudget`` for what a teacher reads).
        :param seed: seed every random choice with it.
        :param out_dir: an empty folder; save a checkpoint the other methods load from it
            (for Hugging Face models: safetensors weights, config and ``tokenizer.json``).
        :param device: where to train.
        :param progress: report loops with ``progress.track`` and lines with ``progress.log``.
        :returns: facts worth recording (JSON-serialisable: steps, epochs, seconds, the best
            selection score), stored in the stage's ``info.json`` and the result row.
        """

    def predictor(
        self,
        ckpt_dir: Path,
        device: torch.device,
        max_length: int,
        batch_size: int,
        progress: Progress = quiet,
    ) -> Predictor:
        """Called by the teacher stage (to score the evaluation split) and the annotation
        stage (to annotate the transfer set at fp32) with a checkpoint ``finetune`` wrote.

        :param ckpt_dir: the folder ``finetune`` saved into.
        :param device: where to run.
        :param max_length: truncate texts to this many tokens (the budget's ``max_length``).
        :param batch_size: sentences per batch (the budget's ``annotate_batch_size``; 0 =
            choose); back off on out-of-memory rather than fail.
        :param progress: for the annotation's progress bar.
        :returns: a ``Predictor``: ``texts, description -> logits``.
        """

    def tokenizer(self, ckpt_dir: Path) -> Tokenizer:
        """Called by the student stage (the vocabulary students read unless they bring their
        own) and the transfer stage (``AugmentContextView.teacher_tokenizer`` of augmenters
        with ``needs_teacher=True``).

        :param ckpt_dir: the folder ``finetune`` saved into.
        :returns: the checkpoint's ``tokenizers.Tokenizer`` (a fast tokenizer's
            ``tokenizer.json``); the harness turns off its padding and truncation.
        """

    def inference_model(
        self, ckpt_dir: Path, max_length: int
    ) -> tuple[torch.nn.Module, InferenceEncoder]:
        """Called by the measure stage, in a fresh interpreter, to time the teacher and
        measure its size and memory beside the students.

        :param ckpt_dir: the folder ``finetune`` saved into.
        :param max_length: truncate texts to this many tokens.
        :returns: ``(module, encode)``: the module, on the CPU (the harness moves it to a GPU
            when it measures one there), and an ``InferenceEncoder``
            whose output is the keyword arguments of one forward pass (``module(**encode(
            texts))``).
        """


@runtime_checkable
class TeacherFactory(Protocol):
    """``TeacherSpec.factory``: builds a ``Teacher`` without loading weights."""

    def __call__(self, options: dict[str, Any]) -> Teacher:
        """Called whenever the harness needs a teacher method (fine-tune, predict, tokenizer,
        measure, check); cheap, so it may be called many times.

        :param options: the spec's options, resolved.
        :returns: a ``Teacher``.
        """


# Transfer sets (augmenters)


@runtime_checkable
class AugmenterBuild(Protocol):
    """What ``AugmenterSpec.factory(options)`` returns: the builder of a transfer set."""

    def __call__(self, ctx: AugmentContextView) -> TransferSet:
        """Called by the transfer stage once per (augmenter, dataset, seed[, teacher])
        content key; cached.

        :param ctx: what the build may read (``AugmentContextView``).
        :returns: only the text it makes (augmentations or unlabelled text), with gold labels
            where known and ``UNLABELLED`` (-1) elsewhere, and ``origins`` (the index of the
            ``task.train`` example each text came from) when known. The harness adds the
            labelled examples, removes selection/evaluation texts and repeats, and samples to
            the target size (``specs.TRANSFER_OPTIONS``, handled for every augmenter alike).
        """


@runtime_checkable
class AugmenterFactory(Protocol):
    """``AugmenterSpec.factory``: builds an ``AugmenterBuild`` from the spec's own options."""

    def __call__(self, options: dict[str, Any]) -> AugmenterBuild:
        """Called by the transfer stage before a transfer set is built, and by ``bench
        augment preview``.

        :param options: the spec's own options, resolved; the common ``TRANSFER_OPTIONS``
            are left out (the harness handles them).
        :returns: an ``AugmenterBuild``.
        """


# Students


@runtime_checkable
class StudentModule(Protocol):
    """What ``StudentSpec.factory(options, ctx)`` returns: a ``torch.nn.Module``.

    Optional attributes the harness reads: ``tokenizer`` (a student with its own
    vocabulary: its ``tokenizers.Tokenizer``), ``learning_rate`` and ``epochs`` (used
    instead of the budget's ``student_lr`` / ``student_epochs``). Embeddings built with
    ``sparse=True`` get a sparse optimizer.
    """

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor | dict[str, Any]:
        """Called by the training loop for every batch, by prediction and by the measure
        stage (through ``module(input_ids, attention_mask)``).

        :param input_ids: token ids ``[batch, seq]`` (long), padded with 0.
        :param attention_mask: ``[batch, seq]``, 1 on real tokens.
        :returns: logits ``[batch, num_labels]``, or a dict with ``"logits"`` and what the
            spec's ``exposes`` promises (``"hidden_states"``: a tuple of tensors;
            ``"attentions"``: one ``[batch, heads, seq, seq]`` per layer).
        """


@runtime_checkable
class StudentFactory(Protocol):
    """``StudentSpec.factory``: builds an untrained (or teacher-initialised) student."""

    def __call__(self, options: dict[str, Any], ctx: StudentContextView) -> StudentModule:
        """Called by the student stage once per cell (seeded just before, so initial weights
        depend on the cell's seed only), and again when a saved student is loaded to be
        measured (``ctx.init_weights`` False).

        :param options: the spec's options, resolved.
        :param ctx: a ``StudentContextView``.
        :returns: a ``StudentModule``.
        """


# Losses


@runtime_checkable
class Loss(Protocol):
    """What ``LossSpec.factory(options)`` returns: a function or a ``torch.nn.Module`` (whose
    parameters, e.g. learned projections, are trained with the student).

    The spec says what it reads, so the planner refuses a cell that cannot work before
    anything trains: ``needs`` (what the student and the teacher must expose: ``logits``,
    ``hidden_states``, ``attentions``) and ``uses`` (``GOLD_LABELS`` and/or
    ``TEACHER_LOGITS`` / ``TEACHER_FEATURES``: which batch fields it reads; a loss using
    only gold labels needs an augmenter whose examples all carry them).
    """

    def __call__(self, student_out: Mapping[str, Any], batch: LossBatch) -> torch.Tensor:
        """Called by the training loop for every batch (and once on a first batch, without
        gradients, to give lazy layers their shapes).

        :param student_out: the student's output as a dict: ``"logits"`` and what it exposes.
        :param batch: a ``LossBatch``.
        :returns: a scalar tensor to minimise (a non-finite value fails the cell).
        """


@runtime_checkable
class LossFactory(Protocol):
    """``LossSpec.factory``: builds a ``Loss``."""

    def __call__(self, options: dict[str, Any]) -> Loss:
        """Called by the student stage once per cell (once per part of a composed loss).

        :param options: the spec's options, resolved.
        :returns: a ``Loss``.
        """
