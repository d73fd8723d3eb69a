"""The plugin contract: one hook per kind of component.

Each hook receives ``register``, a callable that takes one spec. A plugin module
implements any of these hooks with ``@distill_bench.hookimpl`` and is either a
built-in (see ``registry.BUILTIN_PLUGINS``) or installed through the ``distill_bench``
entry-point group. Registration must be cheap: build specs, import nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy
from distill_bench.plugin_api.specs import (
    AugmenterSpec,
    DatasetSpec,
    LossSpec,
    StudentSpec,
    TeacherSpec,
)

PROJECT = "distill_bench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register text-classification datasets.

    ``DatasetSpec.factory(options, data_dir)`` returns a ``distill_bench.plugin_api.tasks.TaskData``:
    the label names, a ``train`` split, a ``select`` split for model selection (never
    scored) and an ``evaluation`` split whose name the leaderboard shows. ``data_dir``
    is the local data directory (``--data-dir`` / ``BENCH_DATA_DIR``) or None, in which
    case the factory loads from the Hugging Face Hub. ``primary_metric`` names the
    metric the literature reports (a key of ``distill_bench.plugin_api.metrics.METRICS``).
    """


@hookspec
def register_teachers(register: Callable[[TeacherSpec], None]) -> None:
    """Register teachers: pretrained transformers the harness fine-tunes.

    ``TeacherSpec.factory(options)`` returns an object with:

    - ``check(task)`` (optional): raise ``BenchError`` if this teacher cannot work on the
      task (a missing model folder, a head with another label count). ``bench run`` calls
      it for every teacher before anything trains.
    - ``finetune(task, budget, seed, out_dir, device) -> dict``: fine-tune on
      ``task.train``, select on ``task.select``, save a loadable checkpoint (safetensors,
      config and tokenizer) into ``out_dir``; return facts worth recording (epochs, steps).
    - ``predictor(ckpt_dir, device)``: a callable ``texts -> logits`` (numpy float32,
      shape [n, num_labels]) used to annotate transfer sets and score the teacher.
    - ``tokenizer(ckpt_dir)``: the ``tokenizers.Tokenizer`` students share.
    - ``inference_model(ckpt_dir)``: ``(torch module, encode)`` for measurement, where
      ``encode(texts)`` returns the keyword arguments of one forward pass.
    """


@hookspec
def register_students(register: Callable[[StudentSpec], None]) -> None:
    """Register students.

    ``StudentSpec.factory(options, ctx)`` returns a ``torch.nn.Module`` whose
    ``forward(input_ids, attention_mask)`` returns logits ``[batch, num_labels]`` (or a
    dict with ``"logits"`` and whatever else ``exposes`` promises). ``ctx`` is a
    ``distill_bench.stages.student.io.StudentContext``: ``num_labels``, ``vocab_size``, the
    ``tokenizer`` the input ids come from (the teacher's WordPiece, or a word-level
    vocabulary when the spec declares ``VOCAB_OPTIONS`` and the matrix asks for one) and
    ``teacher_dir``, the fine-tuned teacher (for initialising from its weights). A module
    with its own vocabulary sets ``module.tokenizer``; ``special_tokens`` on the spec adds
    [CLS]/[SEP]. Embeddings built with ``sparse=True`` get a sparse optimizer automatically.
    """


@hookspec
def register_losses(register: Callable[[LossSpec], None]) -> None:
    """Register distillation objectives.

    ``LossSpec.factory(options)`` returns ``loss(student_out, batch) -> scalar tensor``
    where ``student_out`` is a dict (at least ``"logits"``) and ``batch`` has
    ``labels`` (gold label ids, -100 where unknown) and ``teacher_logits``. ``needs``
    lists what the student must expose; ``uses`` says whether gold labels and/or
    teacher outputs are read, so the planner can refuse cells that cannot work.
    """


@hookspec
def register_augmenters(register: Callable[[AugmenterSpec], None]) -> None:
    """Register transfer-set builders.

    ``AugmenterSpec.factory(options)`` receives the spec's own options and returns
    ``build(ctx) -> distill_bench.plugin_api.tasks.TransferSet``, where ``ctx`` is a frozen
    ``distill_bench.stages.transfer.build.AugmentContext``: ``task`` (``task.train`` is the labelled set,
    ``task.unlabelled`` the dataset's unlabelled pool), ``seed`` (the augmentation seed),
    ``data_dir``, ``max_examples`` (the most the harness will keep; a hint) and, only for a
    spec with ``needs_teacher=True``, ``teacher_tokenizer()`` / ``teacher_embeddings()``
    (the fine-tuned teacher's, loaded on first call; such a transfer set is made per
    teacher, every other one is shared across teachers).

    ``build`` returns only the text it makes (augmentations or unlabelled text), with gold
    labels where known and -1 (``data.UNLABELLED``) elsewhere, and ``origins`` (the index
    of the ``task.train`` example each text came from) when it knows them. The harness
    does the rest for every augmenter alike (``distill_bench.stages.transfer.build``): it puts the
    labelled examples first (option ``include_labelled``), removes every text equal to a
    selection or evaluation text (counted in the stage's info), removes repeats
    (``dedup``), samples to the target ``size`` (capped by ``max_transfer_examples``) with
    the augmentation ``seed``, and later applies the teacher-confidence filter
    (``min_confidence``, ``unsure``, ``unsure_weight``). These options,
    ``specs.TRANSFER_OPTIONS``, are added to every spec; a spec must not declare them.
    Set ``gold_labels=True`` only when every example the augmenter makes carries its
    gold label (ce-hard cells are dropped otherwise).
    """
