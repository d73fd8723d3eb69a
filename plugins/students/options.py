"""The built-in students' options: per-architecture tuples, schedule options, and ``preset``.

Published configurations are the base student's options with the paper's values as
defaults (``preset``); a matrix entry's explicit options still win. Options the harness or
a factory reads rather than the module's constructor are listed in ``NOT_MODULE``.
"""

from __future__ import annotations

from dataclasses import replace

from distill_bench import Option
from distill_bench.plugin_api.specs import VOCAB_OPTIONS
from distill_bench.plugins.students.word_vectors import glove_problem

INIT_OPTIONS = (
    Option(
        "embedding_init",
        str,
        "random",
        "random; teacher: the fine-tuned teacher's input embeddings (a word-level "
        "vocabulary averages each word's WordPieces); glove: GloVe 6B 50-d vectors for the "
        "words GloVe knows (the glove extra; other tokens random; the row records the "
        "coverage). PCA-reduced when embedding_dim is smaller than the source's width, "
        "mapped by a fixed random orthonormal matrix when larger",
        choices=("random", "teacher", "glove"),
    ),
    Option("freeze_embeddings", bool, False, "keep the embedding table fixed while training"),
)
# Options the harness or the factory reads, not the module's constructor.
NOT_MODULE = {o.name for o in (*VOCAB_OPTIONS, *INIT_OPTIONS)}

# A dropout of 1 zeroes every activation in training: [0, 1).
MLP_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size", min=1),
    Option("dropout", float, 0.1, "dropout before each dense layer", min=0, below=1),
    Option("hidden_size", int, 256, "width of each hidden layer", min=1),
    Option(
        "layers", int, 2, "hidden layers (0: a linear classifier over the mean embedding)", min=0
    ),
    *INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
BILSTM_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size", min=1),
    Option(
        "dropout",
        float,
        0.1,
        "dropout before each dense layer (and between LSTM layers)",
        min=0,
        below=1,
    ),
    Option("hidden_size", int, 150, "LSTM units per direction", min=1),
    Option("num_layers", int, 1, "stacked BiLSTM layers", min=1),
    Option("fc_size", int, 400, "width of the dense layer after pooling (0: none)", min=0),
    Option("fc_activation", str, "relu", "the dense layer's activation", choices=("relu", "gelu")),
    *INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
CNN_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size (Kim: 300-d word2vec)", min=1),
    Option(
        "filter_widths",
        list,
        [3, 4, 5],
        "convolution widths in tokens (Kim: 3, 4, 5); at least one",
        min=1,
        item_type=int,
    ),
    Option("feature_maps", int, 100, "filters per width (Kim: 100)", min=1),
    Option("dropout", float, 0.5, "dropout on the pooled features (Kim: 0.5)", min=0, below=1),
    *INIT_OPTIONS,
    *VOCAB_OPTIONS,
)
TRANSFORMER_OPTIONS = (
    Option("layers", int, 2, "transformer layers (L)", min=1),
    Option("hidden_size", int, 128, "hidden size (H), a multiple of heads", min=1),
    Option("heads", int, 2, "attention heads (H / 64 in Turc et al.)", min=1),
    Option("intermediate_size", int, 0, "feed-forward size (0: 4 x hidden_size)", min=0),
    Option("max_positions", int, 512, "position embeddings (longest input)", min=1),
    Option("dropout", float, 0.1, "hidden and attention dropout", min=0, below=1),
)


def cnn_problem(options) -> str | None:
    """``StudentSpec.validate`` of the CNN students: what one option's range cannot say."""
    if not options["filter_widths"]:
        return "option 'filter_widths' must name at least one width, got []"
    return glove_problem(options)


def transformer_problem(options) -> str | None:
    """``StudentSpec.validate`` of the transformer students: the heads split the width."""
    if options["hidden_size"] % options["heads"]:
        return (
            f"option 'hidden_size' ({options['hidden_size']}) must be a multiple of "
            f"option 'heads' ({options['heads']})"
        )
    return None


def _learning_rate(default: float, why: str) -> Option:
    return Option(
        "learning_rate",
        float,
        default,
        f"this student's learning rate, used instead of the budget's student_lr (which suits "
        f"embedding students); 0: the budget's. {why}",
        min=0,
    )


# Post-LN BERT from random init diverged at 1e-2 on toy tasks; 1e-3 trained the tiny and
# mini shapes, while the small shape needed 3e-4. Pretrained weights want BERT's fine-tuning
# rates, or the pretraining is wiped out.
LR_RANDOM = _learning_rate(1e-3, "1e-3 trains small BERT shapes from scratch (3e-4 from H=512)")
LR_PRETRAINED = _learning_rate(5e-5, "5e-5: BERT's fine-tuning rate, for pretrained weights")
# Pretrained weights converge in BERT's 2-4 fine-tuning epochs, word-embedding students in
# many more, and a matrix has one budget: a transformer student may set its own count.
EPOCHS = Option(
    "epochs",
    int,
    0,
    "this student's training epochs, used instead of the budget's student_epochs; 0: the "
    "budget's. Pretrained transformers need BERT's 2-4 (each epoch costs far more)",
    min=0,
)
# Transformer students train under bf16 autocast where it is native (1.38x faster for a
# 3-layer student on an AVX512-BF16 EPYC, the same dev accuracy on every seed); word-level
# students stay fp32: their embedding bags and LSTMs gain nothing from CPU bf16.
PRECISION = Option(
    "precision",
    str,
    "auto",
    "training autocast: auto = bf16 on CUDA and on CPUs with bf16 instructions, else fp32 "
    "(evaluation and measurement stay fp32)",
    choices=("auto", "fp32", "bf16"),
)


def preset(options: tuple[Option, ...], **defaults) -> tuple[Option, ...]:
    """``options`` with some defaults replaced: a published configuration."""
    unknown = set(defaults) - {o.name for o in options}
    if unknown:
        raise ValueError(f"preset sets unknown options {sorted(unknown)}")
    return tuple(replace(o, default=defaults[o.name]) if o.name in defaults else o for o in options)


WORD_VOCAB = {"vocab": "word", "vocab_size": 50_000, "min_count": 1}  # a paper's word vocabulary
