"""Built-in students (``register_students``): factories in factories.py, options in options.py,
and their torch modules in models.py.

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

from distill_bench import Option, StudentSpec, hookimpl
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES, LOGITS
from distill_bench.plugins.students.factories import (
    embedding_student,
    pretrained,
    teacher_layers,
    transformer,
)
from distill_bench.plugins.students.options import (
    BILSTM_OPTIONS,
    CNN_OPTIONS,
    EPOCHS,
    LR_PRETRAINED,
    LR_RANDOM,
    MLP_OPTIONS,
    PRECISION,
    TRANSFORMER_OPTIONS,
    WORD_VOCAB,
    cnn_problem,
    preset,
    transformer_problem,
)
from distill_bench.plugins.students.word_vectors import glove_problem

_POOLED = frozenset({LOGITS, HIDDEN_STATES})  # hidden_states: the pooled features
_LAYERED = frozenset({LOGITS, HIDDEN_STATES, ATTENTIONS})  # per layer, [batch, seq, hidden]


@hookimpl
def register_students(register):
    mlp, bilstm, cnn = (embedding_student(m) for m in ("MLPStudent", "BiLSTMStudent", "CNNStudent"))
    register(
        StudentSpec(
            name="mlp",
            factory=mlp,
            description="Mean of word embeddings, then an MLP: the smallest, fastest baseline.",
            options=MLP_OPTIONS,
            validate=glove_problem,
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
                MLP_OPTIONS, embedding_dim=300, hidden_size=300, layers=3, dropout=0.0, **WORD_VOCAB
            ),
            validate=glove_problem,
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
            validate=glove_problem,
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
            options=preset(BILSTM_OPTIONS, **WORD_VOCAB),
            validate=glove_problem,
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
            validate=glove_problem,
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
            validate=glove_problem,
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
            validate=cnn_problem,
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
            factory=transformer,
            description="A BERT of the given shape, randomly initialised, over the teacher's "
            "WordPiece vocabulary.",
            options=(*TRANSFORMER_OPTIONS, LR_RANDOM, EPOCHS, PRECISION),
            validate=transformer_problem,
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
    for size, (layers, hidden, heads, params, lr) in turc.items():
        register(
            StudentSpec(
                name=f"transformer-{size}",
                factory=transformer,
                description=f"BERT-{size.capitalize()} shape of Turc et al. 2019 (L={layers}, "
                f"H={hidden}, {heads} heads, feed-forward {4 * hidden}), randomly "
                f"initialised: {params} params over BERT's 30,522 WordPieces.",
                options=preset(
                    (*TRANSFORMER_OPTIONS, LR_RANDOM, EPOCHS, PRECISION),
                    layers=layers,
                    hidden_size=hidden,
                    heads=heads,
                    learning_rate=lr,
                ),
                validate=transformer_problem,
                exposes=_LAYERED,
                special_tokens=True,
            )
        )
    register(
        StudentSpec(
            name="teacher-layers",
            factory=teacher_layers,
            description="DistilBERT-style: a copy of the teacher keeping only the chosen "
            "layers (embeddings and pooler copied too), from the fine-tuned teacher (its "
            "classifier too) or from its pre-trained checkpoint (a new classifier, as "
            "DistilBERT starts); the teacher's tokenizer.",
            options=(
                Option(
                    "layers",
                    list,
                    [],
                    "teacher layer indices to keep, in order, e.g. [0, 2, 4] "
                    "(empty: every other layer from the first, as DistilBERT); each below "
                    "the teacher's depth",
                    min=0,
                    item_type=int,
                ),
                Option(
                    "init",
                    str,
                    "finetuned",
                    "whose layers: finetuned = the fine-tuned teacher's (a distilled "
                    "student's head start); pretrained = the checkpoint's before fine-tuning "
                    "(the fair no-distillation baseline)",
                    choices=("finetuned", "pretrained"),
                ),
                LR_PRETRAINED,
                EPOCHS,
                PRECISION,
            ),
            # planning checks the chosen layers against the teacher's depth
            teacher_layers=lambda options: tuple(options["layers"]),
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
    register(
        StudentSpec(
            name="pretrained",
            factory=pretrained,
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
                LR_PRETRAINED,
                EPOCHS,
                PRECISION,
            ),
            exposes=_LAYERED,
            special_tokens=True,
        )
    )
