"""The plugin contract: one hook per kind of component.

Each hook receives ``register``, a callable that takes one spec. A plugin module
implements any of these hooks with ``@distill_bench.hookimpl`` and is either a
built-in (see ``registry.BUILTIN_PLUGINS``) or installed through the ``distill_bench``
entry-point group. Registration must be cheap: build specs, import nothing heavy.
Every ``Option`` declares its valid values (``min`` / ``max`` / ``above`` / ``below`` /
``choices``) and a spec's optional ``validate(options) -> str | None`` says what no single
range can (a width that is not a multiple of the heads): planning checks both for every
entry, so ``--dry-run`` refuses what a real run would, before anything trains.
Optional packages a component imports go in its spec's ``requires`` ((module, install
hint) pairs): the pre-flight of ``bench run`` and ``--dry-run`` looks them up before
anything runs, so a missing extra is one line naming the entry and what to install.

Each hook's docstring says what its spec's ``factory`` builds and how the harness calls
it, with the signatures of the ``typing.Protocol``s in ``distill_bench.plugin_api``:
``protocols`` (what plugins return; each method documents when it is called, its
arguments and what it returns) and ``contexts`` (what the harness hands plugins).
tests/contracts/test_docs.py keeps the signatures here and the Protocols in step.
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
    """Register text-classification datasets: ``register(DatasetSpec(...))``.

    The spec's factory is a ``DatasetFactory``:
    ``DatasetFactory(options, data_dir) -> TaskData``, called by the data stage (once per
    content key, then cached) and by ``bench datasets show``. It returns a
    ``distill_bench.plugin_api.tasks.TaskData``: the label names, a ``train`` split, a
    ``select`` split for model selection (never scored) and an ``evaluation`` split whose
    name the leaderboard shows. ``data_dir`` is the local data directory (``--data-dir`` /
    ``BENCH_DATA_DIR``) or None, in which case the factory loads from the Hugging Face Hub.
    ``primary_metric`` names the metric the literature reports (a key of
    ``distill_bench.plugin_api.metrics.METRICS``).

    Two optional fields serve the pre-flight, which ``bench run`` and ``--dry-run`` run
    alike before any data loads and anything is written: ``num_labels`` (an int, or a
    function of the resolved options; teachers are checked against it) and
    ``check_files(options, data_dir) -> None``, a cheap look at the local files the factory
    will read (existence and header line, not a full parse) that raises ``BenchError``
    naming the file and what was expected.

    Sentence-pair tasks: every text is ``distill_bench.plugin_api.pairs.join_pair(a, b)``
    and the spec says ``pairs=True`` (or a function of the options), so planning drops the
    students and augmenters whose specs take no pairs; teachers and students split the
    pairs themselves (``pairs.split_pairs``).
    """


@hookspec
def register_teachers(register: Callable[[TeacherSpec], None]) -> None:
    """Register teachers, pretrained transformers the harness fine-tunes:
    ``register(TeacherSpec(...))``.

    The spec's factory is a ``TeacherFactory``: ``TeacherFactory(options) -> Teacher``,
    cheap (no weights loaded) and called whenever the harness needs one of these methods:

    - ``TeacherCheck.check(task) -> None`` (optional): the pre-flight of ``bench run``
      and ``--dry-run`` calls it for every (teacher, dataset) pair before any data loads:
      ``task`` is a ``TaskLabels`` (the dataset entry's ``name`` and ``num_labels``). Read,
      never write, import nothing heavy; raise ``BenchError`` if this teacher cannot work
      on the task (a missing model folder, a head with another label count).
    - ``Teacher.finetune(task, budget, seed, out_dir, device, progress=quiet) -> dict[str, Any]``:
      the teacher stage, once per content key. Fine-tune on ``task.train``, select on
      ``task.select``, save a loadable checkpoint (safetensors, config and
      ``tokenizer.json``) into ``out_dir``; return facts worth recording (steps, epochs).
      ``budget`` is the matrix's ``Budget`` (``TeacherBudget`` lists what a teacher reads).
    - ``Teacher.predictor(ckpt_dir, device, max_length, batch_size, progress=quiet) -> Predictor``:
      the teacher stage (evaluation split) and the annotation stage (transfer set, fp32).
      It returns ``Predictor(texts, description='annotate') -> np.ndarray``: float32
      logits, shape ``[len(texts), num_labels]``.
    - ``Teacher.tokenizer(ckpt_dir) -> Tokenizer``: the ``tokenizers.Tokenizer`` students
      share (and augmenters with ``needs_teacher=True`` read).
    - ``Teacher.inference_model(ckpt_dir, max_length) -> tuple[torch.nn.Module, InferenceEncoder]``:
      the measure stage's ``(module, encode)``, where
      ``InferenceEncoder(texts) -> dict[str, torch.Tensor]`` returns the keyword arguments
      of one forward pass.

    ``depth(options) -> int | None`` on the spec (optional) gives the teacher's number of
    transformer layers from its resolved options without torch (a packaged model's known
    depth, a local folder's ``config.json``; None when unknown, say a Hub id). Planning then
    refuses a loss layer map or a student's teacher layers that reach beyond it.
    """


@hookspec
def register_students(register: Callable[[StudentSpec], None]) -> None:
    """Register students: ``register(StudentSpec(...))``.

    The spec's factory is a ``StudentFactory``:
    ``StudentFactory(options, ctx) -> StudentModule``, called by the student stage once per
    cell (and again to rebuild a saved student for measurement). It returns a
    ``torch.nn.Module`` whose ``StudentModule.forward(input_ids, attention_mask) -> torch.Tensor | dict[str, Any]``
    returns logits ``[batch, num_labels]`` (or a dict with ``"logits"`` and whatever else
    ``exposes`` promises). ``ctx`` is a ``StudentContextView`` (the harness passes a
    ``distill_bench.stages.student.io.StudentContext``): ``num_labels``, ``vocab_size``,
    the ``tokenizer`` the input ids come from (the teacher's WordPiece, or a word-level
    vocabulary when the spec declares ``VOCAB_OPTIONS`` and the matrix asks for one) and
    ``teacher_dir``, the fine-tuned teacher (for initialising from its weights). A module
    with its own vocabulary sets ``module.tokenizer``; ``special_tokens`` on the spec adds
    [CLS]/[SEP]. Embeddings built with ``sparse=True`` get a sparse optimizer automatically.
    A student that copies teacher layers declares ``teacher_layers(options) ->
    tuple[int, ...]`` (0-based encoder layers), checked against the teacher's ``depth``.

    On a sentence-pair dataset ``ctx.pairs`` is True and the input is ``a [SEP] b`` (the
    tokenizer's pair template with special tokens); a student that reads the sides apart
    finds them at ``tokens.pair_separator(ctx.tokenizer)``. A student that cannot take
    pairs says ``pairs=False`` and is dropped from pair datasets at planning.
    """


@hookspec
def register_losses(register: Callable[[LossSpec], None]) -> None:
    """Register distillation objectives: ``register(LossSpec(...))``.

    The spec's factory is a ``LossFactory``: ``LossFactory(options) -> Loss``, called by the
    student stage once per cell. The training loop calls
    ``Loss(student_out, batch) -> torch.Tensor`` (a scalar) for every batch, where
    ``student_out`` is a dict (at least ``"logits"``) and ``batch`` a ``LossBatch`` with
    ``labels`` (gold label ids, -100 where unknown), ``teacher_logits`` and, when the spec's
    ``teacher_features`` asks for them, teacher hidden states and attention maps. ``needs``
    lists what the student (and teacher) must expose; ``uses`` says whether gold labels
    and/or teacher outputs are read, so the planner can refuse cells that cannot work.
    """


@hookspec
def register_augmenters(register: Callable[[AugmenterSpec], None]) -> None:
    """Register transfer-set builders: ``register(AugmenterSpec(...))``.

    The spec's factory is an ``AugmenterFactory``: ``AugmenterFactory(options) -> AugmenterBuild``
    receives the spec's own options; the transfer stage then calls
    ``AugmenterBuild(ctx) -> TransferSet`` once per content key. ``ctx`` is an
    ``AugmentContextView`` (the harness passes a frozen
    ``distill_bench.stages.transfer.build.AugmentContext``): ``task`` (``task.train`` is the
    labelled set, ``task.unlabelled`` the dataset's unlabelled pool), ``seed`` (the
    augmentation seed), ``data_dir``, ``max_examples`` (the most the harness will keep; a
    hint) and, only for a spec with ``needs_teacher=True``,
    ``AugmentContextView.teacher_tokenizer() -> Tokenizer`` and
    ``AugmentContextView.teacher_embeddings() -> np.ndarray`` (the fine-tuned teacher's,
    loaded on first call; such a transfer set is made per teacher, every other one is
    shared across teachers).

    ``build`` returns only the text it makes (augmentations or unlabelled text), with gold
    labels where known and -1 (``tasks.UNLABELLED``) elsewhere, and ``origins`` (the index
    of the ``task.train`` example each text came from) when it knows them. The harness
    does the rest for every augmenter alike (``distill_bench.stages.transfer.build``): it
    puts the labelled examples first (option ``include_labelled``), removes every text
    equal to a selection or evaluation text (counted in the stage's info), removes repeats
    (``dedup``), samples to the target ``size`` (capped by ``max_transfer_examples``) with
    the augmentation ``seed``, and later applies the teacher-confidence filter
    (``min_confidence``, ``unsure``, ``unsure_weight``). These options,
    ``specs.TRANSFER_OPTIONS``, are added to every spec; a spec must not declare them.
    Set ``gold_labels=True`` only when every example the augmenter makes carries its
    gold label (ce-hard cells are dropped otherwise). An augmenter that reads local files
    itself (a named corpus) declares ``check_files(options, data_dir) -> None`` as a
    dataset does, for the pre-flight. On a sentence-pair dataset the texts are joined pairs
    (``plugin_api.pairs``): an augmenter that edits each side (the built-ins go through
    ``plugins.augmenters.each_side``) says ``pairs=True``; the default, False, drops its
    cells there at planning.
    """
