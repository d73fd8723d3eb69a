"""Built-in students (their torch modules are in models.py).

Embedding students (mlp, bilstm, cnn) read the teacher's WordPiece ids or a word-level
vocabulary (``vocab`` option), start from random or teacher-derived embeddings
(``embedding_init``, see ``distill_bench.stages.student.from_teacher``) and may freeze them.
Transformer students (transformer, teacher-layers, pretrained) read [CLS] ... [SEP] input
and expose per-layer hidden states and attention maps.

Published configurations are separate named students (``bilstm-tang``, ``bilstm-intel``,
``transformer-tiny``, ...): the same factory as the base student, with the paper's values
as option defaults. A matrix entry's explicit options still win (``{plugin =
"bilstm-intel", hidden_size = 128}``), the vocabulary options a preset implies are
ordinary defaults the harness reads before it builds the tokenizer, and the content key
holds the resolved architecture, so nothing needs a preset-resolution step.

Transformer students carry their own learning rate (option ``learning_rate``, set as
``model.learning_rate``): from random init they need about 1e-3 (3e-4 for BERT-small's
width), from pretrained weights BERT's 5e-5, where the budget's ``student_lr`` suits the
embedding students. A context with ``init_weights = False`` (a saved student being rebuilt,
its weights about to be loaded) skips every copy from the teacher or a checkpoint.

Parameter counts in the descriptions are for 2 labels and include the embeddings;
measurement reports them with and without nn.Embedding parameters.
"""

from __future__ import annotations

from dataclasses import replace

from distill_bench import BenchError, Option, StudentSpec, hookimpl
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES, LOGITS, VOCAB_OPTIONS

_INIT_OPTIONS = (
    Option(
        "embedding_init",
        str,
        "random",
        "random, or teacher: the fine-tuned teacher's input embeddings (a word-level "
        "vocabulary averages each word's WordPieces), PCA-reduced when embedding_dim is "
        "smaller than the teacher's hidden size, mapped by a fixed random orthonormal "
        "matrix when larger",
        choices=("random", "teacher"),
    ),
    Option("freeze_embeddings", bool, False, "keep the embedding table fixed while training"),
)
# Options the harness or the factory reads, not the module's constructor.
_NOT_MODULE = {o.name for o in (*VOCAB_OPTIONS, *_INIT_OPTIONS)}

MLP_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size"),
    Option("dropout", float, 0.1, "dropout before each dense layer"),
    Option("hidden_size", int, 256, "width of each hidden layer"),
    Option("layers", int, 2, "hidden layers (0: a linear classifier over the mean embedding)"),
    *_INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
BILSTM_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size"),
    Option("dropout", float, 0.1, "dropout before each dense layer (and between LSTM layers)"),
    Option("hidden_size", int, 150, "LSTM units per direction"),
    Option("num_layers", int, 1, "stacked BiLSTM layers"),
    Option("fc_size", int, 400, "width of the dense layer after pooling (0: none)"),
    Option("fc_activation", str, "relu", "the dense layer's activation", choices=("relu", "gelu")),
    *_INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
CNN_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size (Kim: 300-d word2vec)"),
    Option("filter_widths", list, [3, 4, 5], "convolution widths in tokens (Kim: 3, 4, 5)"),
    Option("feature_maps", int, 100, "filters per width (Kim: 100)"),
    Option("dropout", float, 0.5, "dropout on the pooled features (Kim: 0.5)"),
    *_INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
TRANSFORMER_OPTIONS = (
    Option("layers", int, 2, "transformer layers (L)"),
    Option("hidden_size", int, 128, "hidden size (H)"),
    Option("heads", int, 2, "attention heads (H / 64 in Turc et al.)"),
    Option("intermediate_size", int, 0, "feed-forward size (0: 4 x hidden_size)"),
    Option("max_positions", int, 512, "position embeddings (longest input)"),
    Option("dropout", float, 0.1, "hidden and attention dropout"),
)


def _learning_rate(default: float, why: str) -> Option:
    return Option(
        "learning_rate",
        float,
        default,
        f"this student's learning rate, used instead of the budget's student_lr (which suits "
        f"embedding students); 0: the budget's. {why}",
    )


# Post-LN BERT from random init diverged at 1e-2 on toy tasks; 1e-3 trained the tiny and
# mini shapes, while the small shape needed 3e-4. Pretrained weights want BERT's fine-tuning
# rates, or the pretraining is wiped out.
_LR_RANDOM = _learning_rate(1e-3, "1e-3 trains small BERT shapes from scratch (3e-4 from H=512)")
_LR_PRETRAINED = _learning_rate(5e-5, "5e-5: BERT's fine-tuning rate, for pretrained weights")
# Pretrained weights converge in BERT's 2-4 fine-tuning epochs, word-embedding students in
# many more, and a matrix has one budget: a transformer student may set its own count.
_EPOCHS = Option(
    "epochs",
    int,
    0,
    "this student's training epochs, used instead of the budget's student_epochs; 0: the "
    "budget's. Pretrained transformers need BERT's 2-4 (each epoch costs far more)",
)


def _with_schedule(model, options):
    """The module carries its learning rate and epochs; the training loop reads
    ``model.learning_rate`` and ``model.epochs``."""
    if options.get("learning_rate", 0.0) > 0:
        model.learning_rate = options["learning_rate"]
    if options.get("epochs", 0) < 0:
        raise BenchError(f"option 'epochs' must be >= 0 (0: the budget's), got {options['epochs']}")
    if options.get("epochs", 0) > 0:
        model.epochs = options["epochs"]
    return model


def preset(options: tuple[Option, ...], **defaults) -> tuple[Option, ...]:
    """``options`` with some defaults replaced: a published configuration."""
    unknown = set(defaults) - {o.name for o in options}
    if unknown:
        raise ValueError(f"preset sets unknown options {sorted(unknown)}")
    return tuple(replace(o, default=defaults[o.name]) if o.name in defaults else o for o in options)


def _init_weights(ctx) -> bool:
    """False when the weights are about to be overwritten (a saved student being rebuilt):
    then nothing is copied from the teacher or a checkpoint. StudentContext may carry
    ``init_weights``; without it, always initialise."""
    return getattr(ctx, "init_weights", True)


def _embedding_student(module: str):
    def factory(options, ctx):
        from distill_bench.plugins.students import models as student_models

        args = {k: v for k, v in options.items() if k not in _NOT_MODULE}
        if "filter_widths" in args:
            widths = args["filter_widths"]
            if not widths or not all(isinstance(w, int) and w >= 1 for w in widths):
                raise BenchError(f"filter_widths must be positive integers, got {widths!r}")
        model = getattr(student_models, module)(ctx.vocab_size, ctx.num_labels, **args)
        embedding = model.embedding
        if options.get("embedding_init", "random") == "teacher" and _init_weights(ctx):
            if ctx.teacher_dir is None:
                raise BenchError(
                    'embedding_init = "teacher" needs the fine-tuned teacher\'s folder, and '
                    "this context has none (teacher cache entry deleted?)"
                )
            import torch
            from distill_bench.stages.student.from_teacher import teacher_input_embeddings

            with torch.no_grad():
                embedding.weight.copy_(
                    teacher_input_embeddings(
                        ctx.teacher_dir, ctx.tokenizer, embedding.embedding_dim
                    )
                )
        if options.get("freeze_embeddings", False):
            embedding.weight.requires_grad_(False)
        return model

    return factory


def _transformer(options, ctx):
    from distill_bench.plugins.students.models import TransformerStudent, bert_classifier

    if options["hidden_size"] % options["heads"]:
        raise BenchError(
            f"hidden_size {options['hidden_size']} is not a multiple of heads {options['heads']}"
        )
    shape = {k: v for k, v in options.items() if k not in ("learning_rate", "epochs")}
    model = TransformerStudent(bert_classifier(ctx.vocab_size, ctx.num_labels, **shape))
    return _with_schedule(model, options)


def _teacher_layers(options, ctx):
    from distill_bench.plugins.students.models import TransformerStudent
    from distill_bench.stages.student.from_teacher import load_teacher, parse_layers, truncated_copy

    if ctx.teacher_dir is None:
        raise BenchError(
            "student 'teacher-layers' is built from the fine-tuned teacher's layers, and "
            "the teacher's folder is gone (its cache entry was deleted?): run the cell again"
        )
    if _init_weights(ctx):
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


def pretrained_path(model: str) -> str:
    """A Hub id or local folder; "minilm-l6" is the packaged all-MiniLM-L6-v2."""
    if model == "minilm-l6":
        from distill_bench.plugins.teachers import minilm_path

        return minilm_path()
    return model


def pretrained_tokenizer(path: str):
    """The checkpoint's own tokenizer as a tokenizers.Tokenizer."""
    from pathlib import Path

    from distill_bench.stages.student.io import load_tokenizer_file, prepare

    if (Path(path) / "tokenizer.json").is_file():
        return load_tokenizer_file(Path(path) / "tokenizer.json")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if not getattr(tokenizer, "is_fast", False):
        raise BenchError(f"pretrained student {path}: no fast tokenizer (tokenizer.json)")
    return prepare(tokenizer.backend_tokenizer)


def _pretrained(options, ctx):
    import transformers
    from distill_bench.plugins.students.models import TransformerStudent
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


_POOLED = frozenset({LOGITS, HIDDEN_STATES})  # hidden_states: the pooled features
_LAYERED = frozenset({LOGITS, HIDDEN_STATES, ATTENTIONS})  # per layer, [batch, seq, hidden]
_WORDS = {"vocab": "word", "vocab_size": 50_000, "min_count": 1}  # a paper's word vocabulary


@hookimpl
def register_students(register):
    mlp, bilstm, cnn = (
        _embedding_student(m) for m in ("MLPStudent", "BiLSTMStudent", "CNNStudent")
    )
    register(
        StudentSpec(
            name="mlp",
            factory=mlp,
            description="Mean of word embeddings, then an MLP: the smallest, fastest baseline.",
            options=MLP_OPTIONS,
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="mlp-dan",
            factory=mlp,
            description="Iyyer et al. 2015 (deep averaging network): mean of 300-d word "
            "embeddings, 3 ReLU layers of 300, word vocabulary (no word dropout). 15.3M "
            "params at 50k words, 0.27M without embeddings.",
            options=preset(
                MLP_OPTIONS, embedding_dim=300, hidden_size=300, layers=3, dropout=0.0, **_WORDS
            ),
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="bilstm",
            factory=bilstm,
            description="BiLSTM, max-pooling over time, a dense layer, classifier (defaults: the "
            "shape of Tang et al. 2019 over the teacher's WordPieces).",
            options=BILSTM_OPTIONS,
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="bilstm-tang",
            factory=bilstm,
            description="Tang et al. 2019: 300-d word embeddings (word2vec in the paper: "
            "random here unless embedding_init = teacher), BiLSTM 150 per direction, "
            "max-pool, ReLU layer of 400, classifier. 15.7M params at 50k words, 0.66M "
            "without embeddings.",
            options=preset(BILSTM_OPTIONS, **_WORDS),
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="bilstm-intel",
            factory=bilstm,
            description="Intel's small BiLSTM (Wasserblat et al. 2020): 50-d embeddings over "
            "a 10k word vocabulary, 2 stacked BiLSTM layers of 64 per direction, max-pool, "
            "classifier. 0.66M params (0.16M without embeddings).",
            options=preset(
                BILSTM_OPTIONS,
                embedding_dim=50,
                hidden_size=64,
                num_layers=2,
                fc_size=0,
                vocab="word",
                vocab_size=10_000,
                min_count=1,
            ),
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="bilstm-xtremedistil",
            factory=bilstm,
            description="XtremeDistil (Mukherjee & Awadallah 2020): the teacher's WordPiece "
            "ids, 300-d embeddings from the teacher's by PCA (SVD in the paper), BiLSTM 600 "
            "per direction, max-pool, GELU layer of 768 (the teacher's hidden size for BERT-"
            "base), classifier. 14.4M params over BERT's 30,522 WordPieces, 5.3M without "
            "embeddings.",
            options=preset(
                BILSTM_OPTIONS,
                embedding_dim=300,
                hidden_size=600,
                fc_size=768,
                fc_activation="gelu",
                dropout=0.4,
                embedding_init="teacher",
                vocab="wordpiece",
            ),
            exposes=_POOLED,
        )
    )
    register(
        StudentSpec(
            name="cnn",
            factory=cnn,
            description="Kim 2014: convolutions of widths 3/4/5 with 100 maps each, max over "
            "time (padding masked out), dropout 0.5, classifier. 0.36M params without "
            "embeddings at 300-d.",
            options=CNN_OPTIONS,
            exposes=_POOLED,
        )
    )
    turc = {  # L, H, heads, parameters, learning rate
        "tiny": (2, 128, 2, "4.4M", 1e-3),
        "mini": (4, 256, 4, "11.2M", 1e-3),
        "small": (4, 512, 8, "28.8M", 3e-4),
    }
    register(
        StudentSpec(
            name="transformer",
            factory=_transformer,
            description="A BERT of the given shape, randomly initialised, over the teacher's "
            "WordPiece vocabulary.",
            options=(*TRANSFORMER_OPTIONS, _LR_RANDOM, _EPOCHS),
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
    for size, (layers, hidden, heads, params, lr) in turc.items():
        register(
            StudentSpec(
                name=f"transformer-{size}",
                factory=_transformer,
                description=f"BERT-{size.capitalize()} shape of Turc et al. 2019 (L={layers}, "
                f"H={hidden}, {heads} heads, feed-forward {4 * hidden}), randomly "
                f"initialised: {params} params over BERT's 30,522 WordPieces.",
                options=preset(
                    (*TRANSFORMER_OPTIONS, _LR_RANDOM, _EPOCHS),
                    layers=layers,
                    hidden_size=hidden,
                    heads=heads,
                    learning_rate=lr,
                ),
                exposes=_LAYERED,
                special_tokens=True,
            )
        )
    register(
        StudentSpec(
            name="teacher-layers",
            factory=_teacher_layers,
            description="DistilBERT-style: a copy of the fine-tuned teacher keeping only the "
            "chosen layers (embeddings, pooler and classifier copied too); the teacher's "
            "tokenizer.",
            options=(
                Option(
                    "layers",
                    list,
                    [],
                    "teacher layer indices to keep, in order, e.g. [0, 2, 4] "
                    "(empty: every other layer from the first, as DistilBERT)",
                ),
                _LR_PRETRAINED,
                _EPOCHS,
            ),
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
    register(
        StudentSpec(
            name="pretrained",
            factory=_pretrained,
            description="Another pretrained checkpoint as the student, with its own "
            "tokenizer and a new classifier head.",
            options=(
                Option(
                    "model",
                    str,
                    "minilm-l6",
                    "Hugging Face model id or local folder; minilm-l6 = the packaged "
                    "all-MiniLM-L6-v2 (22.7M params)",
                ),
                _LR_PRETRAINED,
                _EPOCHS,
            ),
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
