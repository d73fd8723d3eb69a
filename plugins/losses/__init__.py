"""Built-in losses (``register_losses``): the no-distillation baseline, logit objectives, and
intermediate-layer objectives (hidden states, attention maps) with learned projections.

Registration never imports torch: each factory imports its loss's module when a run
builds the loss, the logit losses from ``logits.py`` and the torch modules
(``HiddenMatch``, ``AttentionMSE``) from ``layers.py``. Layer maps (option ``layer_map``,
e.g. ``"-1:6"`` or ``"2:4,4:6"``) are parsed torch-free in ``layer_maps.py``, since the
planner asks a loss which teacher layers to annotate.
"""

from __future__ import annotations

from distill_bench import LossSpec, Option, hookimpl
from distill_bench.plugin_api.specs import (
    ATTENTIONS,
    GOLD_LABELS,
    HIDDEN_STATES,
    TEACHER_FEATURES,
    TEACHER_LOGITS,
)
from distill_bench.plugins.losses.layer_maps import (
    attention_map_problem,
    attention_pairs,
    hidden_map_problem,
    hidden_pairs,
    teacher_layers,
)

# The factories import torch-backed modules inside, so that listing and planning never
# import torch (``bench list`` loads every plugin).


def _ce_hard(options):
    from distill_bench.plugins.losses.logits import ce_hard  # torch: only when a run builds it

    return ce_hard(options)


def _kd_soft(options):
    from distill_bench.plugins.losses.logits import kd_soft  # torch: only when a run builds it

    return kd_soft(options)


def _mse_logits(options):
    from distill_bench.plugins.losses.logits import mse_logits  # torch: only when a run builds it

    return mse_logits(options)


def _hard_distill(options):
    from distill_bench.plugins.losses.logits import hard_distill  # torch: only when built

    return hard_distill(options)


def _hidden_factory(name, metric, project):
    def factory(options):
        pairs = hidden_pairs(options, name)
        from distill_bench.plugins.losses.layers import HiddenMatch  # torch: only when built

        return HiddenMatch(name, pairs, options["pooling"], metric, project)

    return factory


def _attention_mse(options):
    pairs = attention_pairs(options, "attention-mse")
    from distill_bench.plugins.losses.layers import AttentionMSE  # torch: only when built

    return AttentionMSE("attention-mse", pairs, options["heads"])


def _kd_schedule_problem(options) -> str | None:
    """The schedule ends: -1 (constant) or a value in the start value's range."""
    t_end, a_end = options["temperature_end"], options["alpha_end"]
    if t_end != -1.0 and t_end <= 0:
        return f"option 'temperature_end' must be > 0 (or -1: = temperature), got {t_end!r}"
    if a_end != -1.0 and not 0.0 <= a_end <= 1.0:
        return f"option 'alpha_end' must be in [0, 1] (or -1: = alpha), got {a_end!r}"
    return None


_POOLING = Option(
    "pooling",
    str,
    "auto",
    "tokens: per aligned token; mean / cls: the student's mean over real tokens (or its "
    "pooled vector) vs the teacher's mean or [CLS]; auto: tokens when aligned, else mean",
    choices=("auto", "tokens", "mean", "cls"),
)
_HIDDEN_LAYER_MAP = Option(
    "layer_map",
    str,
    "-1:6",
    "student hidden-state index (negative from the end) : teacher layer (0 = embeddings, "
    "no negatives), comma-separated; default: last student state vs MiniLM-L6's last layer",
)


# Sau and Balasubramanian 2016: a noisy teacher regularises the student. Added after
# caches existed: at their defaults they stay out of stage keys.
_NOISE = (
    Option(
        "noise",
        float,
        0.0,
        "std of the multiplicative noise on teacher logits, (1 + xi) z with xi ~ N(0, "
        "noise^2) (Sau and Balasubramanian 2016); 0 = none",
        min=0,
        keyed_at_default=False,
    ),
    Option(
        "noise_share",
        float,
        1.0,
        "share of a batch's examples whose teacher logits get the noise",
        min=0,
        max=1,
        keyed_at_default=False,
    ),
)


@hookimpl
def register_losses(register):
    register(
        LossSpec(
            name="ce-hard",
            factory=_ce_hard,
            description="Cross-entropy on gold labels only: the no-distillation baseline.",
            options=(
                # Szegedy et al. 2016; the control for soft targets near chance, whose pull
                # towards a flat distribution may be all kd-soft adds. Added after caches
                # existed: at its default it stays out of stage keys.
                Option(
                    "label_smoothing",
                    float,
                    0.0,
                    "share of each target spread evenly over the labels (PyTorch's "
                    "cross_entropy label_smoothing); 0 = one-hot gold labels",
                    min=0,
                    max=1,
                    keyed_at_default=False,
                ),
            ),
            uses=frozenset({GOLD_LABELS}),
        )
    )
    register(
        LossSpec(
            name="kd-soft",
            factory=_kd_soft,
            description="Hinton et al. 2015: KL on temperature-softened distributions (x T^2), mixed with gold-label CE.",
            options=(
                Option("temperature", float, 2.0, "softmax temperature T (>= 1 softens)", above=0),
                Option(
                    "alpha",
                    float,
                    0.5,
                    "weight of the soft term; 1 - alpha goes to gold-label CE",
                    min=0,
                    max=1,
                ),
                Option(
                    "temperature_end",
                    float,
                    -1.0,
                    "temperature at the end of training, linear in between (> 0; "
                    "-1: = temperature)",
                ),
                Option(
                    "alpha_end",
                    float,
                    -1.0,
                    "alpha at the end of training, linear in between (in [0, 1]; -1: = alpha)",
                ),
                *_NOISE,
            ),
            validate=_kd_schedule_problem,
            uses=frozenset({GOLD_LABELS, TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="mse-logits",
            factory=_mse_logits,
            description="Tang et al. 2019: mean squared error between student and teacher logits.",
            options=_NOISE,
            uses=frozenset({TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="hard-distill",
            factory=_hard_distill,
            description="Mukherjee & Hassan Awadallah 2020: cross-entropy on the teacher's argmax pseudo-labels.",
            options=(
                Option(
                    "confidence",
                    float,
                    0.0,
                    "only rows whose teacher max softmax probability is >= this count",
                    min=0,
                    max=1,
                ),
            ),
            uses=frozenset({TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="hidden-mse",
            factory=_hidden_factory("hidden-mse", "mse", "always"),
            description="TinyBERT / XtremeDistil: MSE between linearly projected student hidden states and teacher layers.",
            options=(_HIDDEN_LAYER_MAP, _POOLING),
            validate=hidden_map_problem,
            needs=frozenset({HIDDEN_STATES}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (teacher_layers(hidden_pairs(o, "hidden-mse")), False),
        )
    )
    register(
        LossSpec(
            name="hidden-cosine",
            factory=_hidden_factory("hidden-cosine", "cosine", "if-dims-differ"),
            description="DistilBERT: 1 - cosine between student and teacher hidden states (projected when widths differ).",
            options=(_HIDDEN_LAYER_MAP, _POOLING),
            validate=hidden_map_problem,
            needs=frozenset({HIDDEN_STATES}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (
                teacher_layers(hidden_pairs(o, "hidden-cosine")),
                False,
            ),
        )
    )
    register(
        LossSpec(
            name="attention-mse",
            factory=_attention_mse,
            description="TinyBERT: MSE between student and teacher attention maps over real tokens (aligned tokenizers only).",
            options=(
                Option(
                    "layer_map",
                    str,
                    "-1:6",
                    "student attention layer (1-based, negative from the end) : teacher layer "
                    "(1-based), comma-separated",
                ),
                Option(
                    "heads",
                    str,
                    "mean",
                    "mean: compare head-averaged maps; per-head: head by head (equal head counts)",
                    choices=("mean", "per-head"),
                ),
            ),
            validate=attention_map_problem,
            needs=frozenset({ATTENTIONS}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (
                teacher_layers(attention_pairs(o, "attention-mse")),
                True,
            ),
        )
    )
