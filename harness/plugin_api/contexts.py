"""What the harness hands plugins, as ``typing.Protocol``s: the fields a plugin may read.

The harness passes its own frozen objects (the matrix's ``Budget``, an ``AugmentContext``,
a ``StudentContext``, the training loop's ``Batch``); these Protocols name the part of
each that is the plugin contract, so the contract lives with the rest of the plugin API
(``distill_bench.plugin_api.protocols`` holds what plugins return) and the contract tests
check that the harness's objects keep every field promised here. No torch at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from distill_bench.plugin_api.tasks import TaskData

if TYPE_CHECKING:
    import numpy as np
    import torch
    from tokenizers import Tokenizer

__all__ = ["AugmentContextView", "LossBatch", "StudentContextView", "TaskLabels", "TeacherBudget"]


@runtime_checkable
class TaskLabels(Protocol):
    """What a teacher's pre-flight ``check`` reads of the task it will fine-tune on, known
    before any data loads: ``name`` (the matrix's dataset entry) and ``num_labels`` (the
    dataset spec's ``label_count``). The harness passes a frozen
    ``distill_bench.execute.preflight.DatasetLabels``; a loaded ``TaskData`` has both too."""

    name: str
    num_labels: int


@runtime_checkable
class TeacherBudget(Protocol):
    """The fields of the matrix's ``Budget`` (``distill_bench.matrix.model.Budget``, which is
    what ``Teacher.finetune`` receives) that a teacher reads."""

    max_length: int  # tokens per text; longer texts are truncated
    teacher_epochs: int
    teacher_batch_size: int
    teacher_lr: float
    teacher_warmup: float  # share of the steps with linear warm-up
    teacher_evals_per_epoch: int  # selection points per epoch (early stopping)
    annotate_batch_size: int  # sentences per inference batch (0 = choose)


@runtime_checkable
class AugmentContextView(Protocol):
    """What an augmenter's build may read: the harness passes a frozen
    ``distill_bench.stages.transfer.build.AugmentContext``.

    ``task``: the cell's task data (``train`` is the labelled set to augment,
    ``unlabelled`` the dataset's own pool). ``seed``: the augmentation seed. ``data_dir``:
    the local data directory or None. ``max_examples``: the most the harness keeps from
    this build (None = no limit), a hint that lets an expensive augmenter stop early.
    """

    task: TaskData
    seed: int
    data_dir: Path | None
    max_examples: int | None

    def teacher_tokenizer(self) -> Tokenizer:
        """Called by an augmenter whose spec says ``needs_teacher=True`` (its transfer set is
        then made per teacher); any other augmenter gets a ``BenchError``.

        :returns: the fine-tuned teacher's ``tokenizers.Tokenizer``, loaded on first call.
        """

    def teacher_embeddings(self) -> np.ndarray:
        """Called like ``teacher_tokenizer``, by augmenters with ``needs_teacher=True`` only.

        :returns: the fine-tuned teacher's input-embedding table, float32 ``[vocab, hidden]``,
            loaded on first call.
        """


@runtime_checkable
class StudentContextView(Protocol):
    """What a student factory may read: the harness passes a frozen
    ``distill_bench.stages.student.io.StudentContext``.

    ``num_labels``: the classifier's outputs. ``tokenizer``: the ``tokenizers.Tokenizer``
    the input ids come from (the teacher's WordPiece, or a word-level vocabulary when the
    spec declares ``VOCAB_OPTIONS`` and the matrix asks for one). ``vocab_size``: its size.
    ``teacher_dir``: the fine-tuned teacher's checkpoint (for initialising from its
    weights), or None. ``special_tokens``: whether input carries [CLS] ... [SEP] (the
    spec's flag). ``init_weights``: False when rebuilding a saved student whose weights are
    loaded next (skip copying from the teacher then).
    """

    num_labels: int
    tokenizer: Tokenizer
    vocab_size: int
    teacher_dir: Path | None
    special_tokens: bool
    init_weights: bool


@runtime_checkable
class LossBatch(Protocol):
    """What a loss sees besides the student's output (the harness passes a
    ``distill_bench.stages.student.loop.Batch``); all tensors are on the training device.

    ``labels``: gold label ids ``[batch]``, -100 where unknown. ``teacher_logits``:
    ``[batch, num_labels]``, or None when the spec's ``uses`` leaves out ``TEACHER_LOGITS``.
    ``teacher_hidden`` (layer -> ``[batch, teacher_len, hidden]``), ``teacher_mask``
    (``[batch, teacher_len]``) and ``teacher_attentions`` (layer -> ``[batch, heads,
    teacher_len, teacher_len]``): present only for the layers the spec's
    ``teacher_features`` asks for, else None. ``progress``: the share of training done, from
    0 towards 1 (for schedules).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    teacher_logits: torch.Tensor | None
    teacher_hidden: dict[int, torch.Tensor] | None
    teacher_mask: torch.Tensor | None
    teacher_attentions: dict[int, torch.Tensor] | None
    progress: float
