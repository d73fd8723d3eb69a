"""The built-in students' factories: embedding students, transformers, teacher layers, pretrained.

Each ``factory(options, ctx)`` builds a student module. They import torch, transformers
and the modules of ``models.py`` inside, so that registering the students (``bench
list``) never imports torch. A context with ``init_weights = False`` (a saved student
being rebuilt, its weights about to be loaded) skips every copy from the teacher or a
checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from distill_bench import BenchError
from distill_bench.plugins.students.options import NOT_MODULE
from distill_bench.plugins.teachers import minilm_path


def _with_schedule(model, options):
    """The module carries its learning rate, epochs and training precision; the training
    loop reads ``model.learning_rate``, ``model.epochs`` and ``model.precision``."""
    if options.get("learning_rate", 0.0) > 0:
        model.learning_rate = options["learning_rate"]
    if options.get("epochs", 0) > 0:  # >= 0: the option's bounds; 0 = the budget's
        model.epochs = options["epochs"]
    if "precision" in options:
        model.precision = options["precision"]
    return model


def _init_weights(ctx) -> bool:
    """False when the weights are about to be overwritten (a saved student being rebuilt):
    then nothing is copied from the teacher or a checkpoint. StudentContext may carry
    ``init_weights``; without it, always initialise."""
    return getattr(ctx, "init_weights", True)


def embedding_student(module: str):
    """The factory of an embedding student whose module is ``models.<module>``."""

    def factory(options, ctx):
        from distill_bench.plugins.students import models as student_models  # torch

        # ranges (filter_widths: positive, at least one) were checked when resolved
        args = {k: v for k, v in options.items() if k not in NOT_MODULE}
        cls = getattr(student_models, module)
        if getattr(ctx, "pairs", False) and getattr(cls, "reads_pairs_apart", False):
            from distill_bench.stages.tokens import pair_separator  # numpy: at build time only

            args["pair_sep"] = pair_separator(ctx.tokenizer)
        model = cls(ctx.vocab_size, ctx.num_labels, **args)
        embedding = model.embedding
        if options.get("embedding_init", "random") == "teacher" and _init_weights(ctx):
            if ctx.teacher_dir is None:
                raise BenchError(
                    'embedding_init = "teacher" needs the fine-tuned teacher\'s folder, and '
                    "this context has none (teacher cache entry deleted?)"
                )
            import torch
            from distill_bench.stages.student.from_teacher import teacher_input_embeddings  # torch

            with torch.no_grad():
                embedding.weight.copy_(
                    teacher_input_embeddings(
                        ctx.teacher_dir, ctx.tokenizer, embedding.embedding_dim
                    )
                )
        if options.get("embedding_init") == "glove" and _init_weights(ctx):
            model.embedding_coverage = _glove_init(embedding, ctx.tokenizer)
        if options.get("freeze_embeddings", False):
            embedding.weight.requires_grad_(False)
        return model

    return factory


def _glove_init(embedding, tokenizer) -> float:
    """GloVe's vectors into ``embedding``'s rows of the words GloVe knows (projected to the
    embedding's width); the share of the vocabulary they cover."""
    import torch
    from distill_bench.plugins.students.word_vectors import glove_rows
    from distill_bench.stages.student.from_teacher import project  # torch

    ids, vectors = glove_rows(tokenizer)
    if ids:
        with torch.no_grad():
            embedding.weight[ids] = project(torch.from_numpy(vectors), embedding.embedding_dim)
    return len(ids) / tokenizer.get_vocab_size()


def transformer(options, ctx):
    """A BERT of the options' shape, randomly initialised."""
    from distill_bench.plugins.students.models import TransformerStudent, bert_classifier  # torch

    # hidden_size a multiple of heads: options.transformer_problem, checked when resolved
    shape = {k: v for k, v in options.items() if k not in ("learning_rate", "epochs", "precision")}
    model = TransformerStudent(bert_classifier(ctx.vocab_size, ctx.num_labels, **shape))
    return _with_schedule(model, options)


def teacher_layers(options, ctx):
    """A copy of the fine-tuned teacher keeping only the chosen layers (DistilBERT-style)."""
    from distill_bench.plugins.students.models import TransformerStudent  # torch
    from distill_bench.stages.student.from_teacher import (  # torch
        load_teacher,
        parse_layers,
        truncated_copy,
    )

    if ctx.teacher_dir is None:
        raise BenchError(
            "student 'teacher-layers' is built from the fine-tuned teacher's layers, and "
            "the teacher's folder is gone (its cache entry was deleted?): run the cell again"
        )
    if _init_weights(ctx):
        if options["init"] == "pretrained":  # the layers before fine-tuning, a new head
            teacher = _pretrained_teacher(ctx, ctx.num_labels)
        else:
            teacher = load_teacher(ctx.teacher_dir)
        layers = parse_layers(options["layers"], teacher.config.num_hidden_layers)
        model = truncated_copy(teacher, layers, ctx.num_labels)
        vocab = teacher.config.vocab_size
    else:  # rebuilding: the teacher's architecture, weights come from the checkpoint
        from transformers import AutoConfig, AutoModelForSequenceClassification

        config = AutoConfig.from_pretrained(str(ctx.teacher_dir))
        layers = parse_layers(options["layers"], config.num_hidden_layers)
        config.num_hidden_layers, config.num_labels = len(layers), ctx.num_labels
        model = AutoModelForSequenceClassification.from_config(config, attn_implementation="eager")
        vocab = config.vocab_size
    if ctx.vocab_size > vocab:
        raise BenchError(
            f"student 'teacher-layers' reads the teacher's vocabulary ({vocab} ids), "
            f"but its input comes from a tokenizer of {ctx.vocab_size}"
        )
    return _with_schedule(TransformerStudent(model), options)


def _pretrained_teacher(ctx, num_labels: int):
    """The teacher's checkpoint before fine-tuning, with a newly initialised classifier
    (seeded by the cell): what DistilBERT's student starts from, not the fine-tuned model."""
    from transformers import AutoModelForSequenceClassification

    if not ctx.teacher_pretrained:
        raise BenchError(
            "student 'teacher-layers': init = \"pretrained\" needs the teacher's pre-trained "
            "checkpoint, and this teacher plugin names none (it has no 'path')"
        )
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            pretrained_path(ctx.teacher_pretrained), num_labels=num_labels
        )
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"student 'teacher-layers': cannot load the teacher's pre-trained checkpoint "
            f"{ctx.teacher_pretrained} ({str(exc).splitlines()[0]})"
        ) from None


def pretrained_path(model: str) -> str:
    """A Hub id or local folder; "minilm-l6" is the packaged all-MiniLM-L6-v2."""
    if model == "minilm-l6":
        return minilm_path()
    return model


def pretrained_tokenizer(path: str):
    """The checkpoint's own tokenizer as a tokenizers.Tokenizer."""
    from distill_bench.stages.tokens import (  # numpy: at build time only
        load_tokenizer_file,
        prepare,
    )

    if (Path(path) / "tokenizer.json").is_file():
        return load_tokenizer_file(Path(path) / "tokenizer.json")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if not getattr(tokenizer, "is_fast", False):
        raise BenchError(f"pretrained student {path}: no fast tokenizer (tokenizer.json)")
    return prepare(tokenizer.backend_tokenizer)


def pretrained(options, ctx):
    """Another pretrained checkpoint with its own tokenizer and a new classifier head."""
    import transformers
    from distill_bench.plugins.students.models import TransformerStudent  # torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    path = pretrained_path(options["model"])
    tokenizer = pretrained_tokenizer(path)
    try:
        if _init_weights(ctx):
            model = AutoModelForSequenceClassification.from_pretrained(
                path,
                num_labels=ctx.num_labels,
                ignore_mismatched_sizes=True,  # a checkpoint's head of another label count
                attn_implementation="eager",
            )
        else:  # rebuilding: the architecture only, weights come from the checkpoint
            config = AutoConfig.from_pretrained(path, num_labels=ctx.num_labels)
            model = AutoModelForSequenceClassification.from_config(
                config, attn_implementation="eager"
            )
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"pretrained student {options['model']}: cannot load ({str(exc).splitlines()[0]})"
        ) from None
    return _with_schedule(TransformerStudent(model, tokenizer), options)
