"""Built-in students over the teacher's WordPiece vocabulary (models in student_models)."""

from __future__ import annotations

from distill_bench import Option, StudentSpec, hookimpl
from distill_bench.specs import HIDDEN_STATES, LOGITS, VOCAB_OPTIONS

_EMBEDDING_OPTIONS = (
    Option("embedding_dim", int, 300, "word embedding size (Tang et al. used 300-d word2vec)"),
    Option("dropout", float, 0.1, "dropout before each dense layer"),
    *VOCAB_OPTIONS,
)


def _model_options(options: dict) -> dict:
    """Options the module takes; the vocabulary ones are the harness's (VOCAB_OPTIONS)."""
    return {k: v for k, v in options.items() if k not in {o.name for o in VOCAB_OPTIONS}}


def _mlp(options, ctx):
    from distill_bench.plugins.student_models import MLPStudent

    return MLPStudent(ctx.vocab_size, ctx.num_labels, **_model_options(options))


def _bilstm(options, ctx):
    from distill_bench.plugins.student_models import BiLSTMStudent

    return BiLSTMStudent(ctx.vocab_size, ctx.num_labels, **_model_options(options))


@hookimpl
def register_students(register):
    register(
        StudentSpec(
            name="mlp",
            factory=_mlp,
            description="Mean of word embeddings, then an MLP: the smallest, fastest baseline.",
            options=(
                *_EMBEDDING_OPTIONS,
                Option("hidden_size", int, 256, "width of each hidden layer"),
                Option("layers", int, 2, "hidden layers"),
            ),
            exposes=frozenset({LOGITS, HIDDEN_STATES}),
        )
    )
    register(
        StudentSpec(
            name="bilstm",
            factory=_bilstm,
            description="Tang et al. 2019: BiLSTM, max-pooling over time, ReLU layer, classifier.",
            options=(
                *_EMBEDDING_OPTIONS,
                Option("hidden_size", int, 150, "LSTM units per direction (Tang et al.: 150)"),
                Option("fc_size", int, 400, "width of the ReLU layer after pooling"),
            ),
            exposes=frozenset({LOGITS, HIDDEN_STATES}),
        )
    )
