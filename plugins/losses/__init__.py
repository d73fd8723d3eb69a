"""Built-in losses: the no-distillation baseline, logit objectives, and intermediate-layer
objectives (hidden states, attention maps) with learned projections.

Registration never imports torch: the factories do, and the torch modules some losses are
(``HiddenMatch``, ``AttentionMSE``) are defined on first use, then
importable from this module by name like any other attribute.

Layer maps (option ``layer_map``) are comma-separated ``student:teacher`` integer pairs,
e.g. ``"-1:6"`` or ``"2:4,4:6"``:

- hidden-state losses: the student number indexes the tuple ``student_out["hidden_states"]``
  (0 = first item, which is the embedding output for transformer students; negative counts
  from the end, -1 = last). The teacher number is a hidden-state layer as transformers
  counts them (0 = embeddings, 6 = the last layer of a 6-layer teacher); it must be
  non-negative, because the spec names the layers to annotate before the teacher is loaded.
- attention-mse: both numbers are 1-based transformer layers (the attention maps of layer
  1 are ``attentions[0]``); the student number may be negative (-1 = last layer).

Each pair adds one term; a loss with several pairs is the mean of its terms.
"""

from __future__ import annotations

import functools
from typing import Any

from distill_bench import BenchError, LossSpec, Option, hookimpl
from distill_bench.plugin_api.specs import (
    ATTENTIONS,
    GOLD_LABELS,
    HIDDEN_STATES,
    TEACHER_FEATURES,
    TEACHER_LOGITS,
)

_LAYER_MAP_FORMAT = "comma-separated student:teacher integer pairs such as '-1:6' or '2:4,4:6'"


def parse_layer_map(
    text: str, loss: str, *, teacher_min: int, student_zero: bool
) -> tuple[tuple[int, int], ...]:
    """``"2:4,4:6"`` -> ((2, 4), (4, 6)); a BenchError naming the loss and option otherwise.

    ``teacher_min``: the smallest teacher layer allowed (0 for hidden states, 1 for
    attention maps). ``student_zero``: whether student index 0 is meaningful."""
    where = f"loss {loss!r}: option 'layer_map'"
    pairs: list[tuple[int, int]] = []
    for chunk in text.split(","):
        parts = chunk.split(":")
        try:
            if len(parts) != 2:
                raise ValueError(chunk)
            student, teacher = int(parts[0].strip()), int(parts[1].strip())
        except ValueError:
            raise BenchError(f"{where} must be {_LAYER_MAP_FORMAT}, got {text!r}") from None
        if teacher < teacher_min:
            raise BenchError(
                f"{where}: teacher layer {teacher} in {chunk.strip()!r} must be >= {teacher_min} "
                "(negative teacher layers are not allowed: the layers to annotate are chosen "
                "before the teacher's depth is known)"
            )
        if student == 0 and not student_zero:
            raise BenchError(
                f"{where}: student layer 0 in {chunk.strip()!r}: attention layers count "
                "from 1 (or from the end: -1 = last)"
            )
        if (student, teacher) in pairs:
            raise BenchError(f"{where}: pair {chunk.strip()!r} is given twice in {text!r}")
        pairs.append((student, teacher))
    return tuple(pairs)


def _hidden_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=0, student_zero=True)


def _attention_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=1, student_zero=False)


def _teacher_layers(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    return tuple(sorted({t for _, t in pairs}))


def _check_range(loss: str, name: str, value: float, low: float, high: float | None) -> None:
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise BenchError(f"loss {loss!r}: option {name!r} must be {bound}, got {value!r}")


# ---------------------------------------------------------------------------------------
# Logit losses (plain functions)


def _ce_hard(options):
    import torch.nn.functional as F

    def loss(student_out, batch):
        return F.cross_entropy(student_out["logits"], batch.labels, ignore_index=-100)

    return loss


def _kd_soft(options):
    import torch.nn.functional as F

    t0, a0 = options["temperature"], options["alpha"]
    # -1 (the default) means "same as the start value": a constant schedule.
    t1 = t0 if options["temperature_end"] == -1.0 else options["temperature_end"]
    a1 = a0 if options["alpha_end"] == -1.0 else options["alpha_end"]
    for name, value in (("temperature", t0), ("temperature_end", t1)):
        if value <= 0:
            raise BenchError(f"loss 'kd-soft': option {name!r} must be > 0, got {value!r}")
    for name, value in (("alpha", a0), ("alpha_end", a1)):
        _check_range("kd-soft", name, value, 0.0, 1.0)

    def loss(student_out, batch):
        logits = student_out["logits"]
        # schedule: linear in the share of training done (constant when start == end)
        p = min(max(float(getattr(batch, "progress", 0.0)), 0.0), 1.0)
        t, alpha = t0 + (t1 - t0) * p, a0 + (a1 - a0) * p
        # Hinton et al. 2015: KL between softened distributions, scaled by T^2 so its
        # gradients keep their size as T changes.
        soft = F.kl_div(
            F.log_softmax(logits / t, dim=-1),
            F.log_softmax(batch.teacher_logits / t, dim=-1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)
        labelled = batch.labels != -100
        if alpha >= 1.0 or not bool(labelled.any()):
            return soft
        hard = F.cross_entropy(logits[labelled], batch.labels[labelled])
        return alpha * soft + (1.0 - alpha) * hard

    return loss


def _mse_logits(options):
    import torch.nn.functional as F

    def loss(student_out, batch):
        # Tang et al. 2019: regress the teacher's logits directly.
        return F.mse_loss(student_out["logits"], batch.teacher_logits)

    return loss


def _hard_distill(options):
    import torch.nn.functional as F

    confidence = options["confidence"]
    _check_range("hard-distill", "confidence", confidence, 0.0, 1.0)

    def loss(student_out, batch):
        # Mukherjee & Hassan Awadallah 2020: cross-entropy on the teacher's argmax
        # (pseudo-labels), optionally only where the teacher is confident enough.
        logits = student_out["logits"]
        probs = batch.teacher_logits.detach().float().softmax(dim=-1)
        top, pseudo = probs.max(dim=-1)
        keep = top >= confidence
        if not bool(keep.any()):
            return logits.sum() * 0.0  # nothing confident: a zero still tied to the graph
        return F.cross_entropy(logits[keep], pseudo[keep].to(logits.device))

    return loss


# ---------------------------------------------------------------------------------------
# Intermediate-layer losses (torch modules with learned projections)

_CLASS_NAMES = ("HiddenMatch", "AttentionMSE")


def __getattr__(name: str):
    """``losses.HiddenMatch`` etc. define the torch classes on first access (PEP 562)."""
    if name in _CLASS_NAMES:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _torch_classes() -> dict[str, type]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    def real_tokens(mask, like):
        """A float [B, L] mask of real tokens, ones where no mask was given."""
        if mask is None:
            return like.new_ones(like.shape[:2], dtype=torch.float32)
        return mask.to(device=like.device, dtype=torch.float32)

    def masked_mean(states, mask):
        """Mean of [B, L, D] states over the positions where mask [B, L] is 1 -> [B, D]."""
        mask = mask.to(states.dtype).unsqueeze(-1)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def pick(items, index, loss, what, base):
        """items[index] with a clear error; ``base`` is 0 or 1 (how the option counts)."""
        position = index - base if index > 0 else index
        if not -len(items) <= position < len(items):
            raise BenchError(
                f"loss {loss!r}: option 'layer_map' names student {what} {index}, but the "
                f"student returned {len(items)} {what}s"
            )
        return items[position]

    def teacher_layer(features, layer, loss, what):
        if features is None:
            raise BenchError(
                f"loss {loss!r}: the batch carries no teacher {what}s; the harness must "
                "annotate the layers the spec's teacher_features names"
            )
        if layer not in features:
            raise BenchError(
                f"loss {loss!r}: teacher {what} layer {layer} was not annotated "
                f"(annotated: {sorted(features)}); check option 'layer_map' against the "
                "teacher's depth"
            )
        return features[layer]

    class HiddenMatch(nn.Module):
        """Distance between (projected) student hidden states and teacher layers.

        ``metric``: "mse" (mean squared error, TinyBERT / XtremeDistil) or "cosine"
        (1 - cosine similarity, DistilBERT). ``project``: "always" (a learned linear map
        student dim -> teacher dim per layer pair) or "if-dims-differ". Projections are
        created on the first call, when both widths are known: call the loss once on a
        first batch before building the optimizer that should train them.
        """

        def __init__(self, name, pairs, pooling, metric, project):
            super().__init__()
            self.name, self.pairs, self.pooling = name, tuple(pairs), pooling
            self.metric, self.project = metric, project
            self.projections = nn.ModuleDict()

        def extra_repr(self):
            return f"{self.name}: pairs={self.pairs}, pooling={self.pooling!r}"

        def projection(self, key, student_dim, teacher_dim, like):
            if key not in self.projections:
                if self.project == "always" or student_dim != teacher_dim:
                    # Real parameters even when the first call runs under inference_mode.
                    with torch.inference_mode(False):
                        module = nn.Linear(
                            student_dim, teacher_dim, device=like.device, dtype=like.dtype
                        )
                else:
                    module = nn.Identity()
                self.projections[key] = module
            return self.projections[key]

        def mode(self, student, teacher):
            aligned = student.dim() == 3 and student.shape[1] == teacher.shape[1]
            if self.pooling == "tokens" and not aligned:
                shape = tuple(student.shape)
                raise BenchError(
                    f"loss {self.name!r}: pooling 'tokens' needs token-aligned states: a "
                    f"[batch, {teacher.shape[1]}, dim] student hidden state, got {shape} "
                    "(use a transformer student sharing the teacher's tokenizer with special "
                    "tokens, or pooling 'mean' / 'cls')"
                )
            if self.pooling == "auto":
                return "tokens" if aligned else "mean"
            return self.pooling

        def forward(self, student_out, batch):
            states = student_out.get("hidden_states")
            if not states:
                raise BenchError(f"loss {self.name!r}: the student returned no hidden_states")
            terms = []
            for k, (s, t) in enumerate(self.pairs):
                student = pick(states, s, self.name, "hidden state", base=0)
                teacher = teacher_layer(batch.teacher_hidden, t, self.name, "hidden state")
                teacher = teacher.to(student.device)
                t_mask = real_tokens(batch.teacher_mask, teacher)
                mode = self.mode(student, teacher)
                s_mask = None
                if student.dim() == 3 and tuple(batch.attention_mask.shape) == tuple(
                    student.shape[:2]
                ):
                    s_mask = real_tokens(batch.attention_mask, student)
                if mode == "tokens":
                    mask = t_mask if s_mask is None else t_mask * s_mask
                else:
                    mask = None
                    if student.dim() == 3:  # mean over the student's real tokens
                        student = masked_mean(student, real_tokens(s_mask, student))
                    teacher = teacher[:, 0] if mode == "cls" else masked_mean(teacher, t_mask)
                proj = self.projection(str(k), student.shape[-1], teacher.shape[-1], student)
                terms.append(self.distance(proj(student).float(), teacher.float(), mask))
            return torch.stack(terms).mean()

        def distance(self, student, teacher, mask):
            if self.metric == "cosine":
                per = 1.0 - F.cosine_similarity(student, teacher, dim=-1)  # [B] or [B, T]
                if mask is None:
                    return per.mean()
                return (per * mask).sum() / mask.sum().clamp(min=1.0)
            if mask is None:
                return F.mse_loss(student, teacher)
            per = (student - teacher).pow(2).sum(-1)  # [B, T]
            return (per * mask).sum() / (mask.sum() * student.shape[-1]).clamp(min=1.0)

    class AttentionMSE(nn.Module):
        """TinyBERT's attention transfer: MSE between student and teacher attention maps
        over real tokens only (padding rows and columns excluded)."""

        def __init__(self, name, pairs, heads):
            super().__init__()
            self.name, self.pairs, self.heads = name, tuple(pairs), heads

        def extra_repr(self):
            return f"{self.name}: pairs={self.pairs}, heads={self.heads!r}"

        def forward(self, student_out, batch):
            maps = student_out.get("attentions")
            if not maps:
                raise BenchError(f"loss {self.name!r}: the student returned no attentions")
            terms = []
            for s, t in self.pairs:
                student = pick(maps, s, self.name, "attention layer", base=1)
                teacher = teacher_layer(batch.teacher_attentions, t, self.name, "attention")
                teacher = teacher.to(student.device)
                if student.shape[-1] != teacher.shape[-1]:
                    raise BenchError(
                        f"loss {self.name!r}: student attention covers {student.shape[-1]} "
                        f"tokens, the teacher's {teacher.shape[-1]}: attention transfer needs "
                        "a transformer student sharing the teacher's tokenizer with special "
                        "tokens"
                    )
                if self.heads == "per-head" and student.shape[1] != teacher.shape[1]:
                    raise BenchError(
                        f"loss {self.name!r}: heads 'per-head' needs equal head counts, the "
                        f"student has {student.shape[1]} and the teacher {teacher.shape[1]} "
                        "(use heads 'mean')"
                    )
                if self.heads == "mean":
                    student = student.mean(1, keepdim=True)
                    teacher = teacher.mean(1, keepdim=True)
                mask = real_tokens(batch.teacher_mask, teacher[:, 0])
                if tuple(batch.attention_mask.shape) == tuple(mask.shape):
                    mask = mask * real_tokens(batch.attention_mask, teacher[:, 0])
                pair_mask = (mask[:, :, None] * mask[:, None, :]).unsqueeze(1)  # [B, 1, T, T]
                per = (student.float() - teacher.float()).pow(2) * pair_mask
                terms.append(per.sum() / (pair_mask.sum() * student.shape[1]).clamp(min=1.0))
            return torch.stack(terms).mean()

    classes = {"HiddenMatch": HiddenMatch, "AttentionMSE": AttentionMSE}
    for name, cls in classes.items():  # picklable by name: pickle finds them via __getattr__
        cls.__module__, cls.__qualname__ = __name__, name
    return classes


def _hidden_factory(name, metric, project):
    def factory(options):
        pairs = _hidden_pairs(options, name)
        return _torch_classes()["HiddenMatch"](name, pairs, options["pooling"], metric, project)

    return factory


def _attention_mse(options):
    pairs = _attention_pairs(options, "attention-mse")
    return _torch_classes()["AttentionMSE"]("attention-mse", pairs, options["heads"])


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


@hookimpl
def register_losses(register):
    register(
        LossSpec(
            name="ce-hard",
            factory=_ce_hard,
            description="Cross-entropy on gold labels only: the no-distillation baseline.",
            uses=frozenset({GOLD_LABELS}),
        )
    )
    register(
        LossSpec(
            name="kd-soft",
            factory=_kd_soft,
            description="Hinton et al. 2015: KL on temperature-softened distributions (x T^2), mixed with gold-label CE.",
            options=(
                Option("temperature", float, 2.0, "softmax temperature T (>= 1 softens)"),
                Option(
                    "alpha", float, 0.5, "weight of the soft term; 1 - alpha goes to gold-label CE"
                ),
                Option(
                    "temperature_end",
                    float,
                    -1.0,
                    "temperature at the end of training, linear in between (-1: = temperature)",
                ),
                Option(
                    "alpha_end",
                    float,
                    -1.0,
                    "alpha at the end of training, linear in between (-1: = alpha)",
                ),
            ),
            uses=frozenset({GOLD_LABELS, TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="mse-logits",
            factory=_mse_logits,
            description="Tang et al. 2019: mean squared error between student and teacher logits.",
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
            needs=frozenset({HIDDEN_STATES}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (_teacher_layers(_hidden_pairs(o, "hidden-mse")), False),
        )
    )
    register(
        LossSpec(
            name="hidden-cosine",
            factory=_hidden_factory("hidden-cosine", "cosine", "if-dims-differ"),
            description="DistilBERT: 1 - cosine between student and teacher hidden states (projected when widths differ).",
            options=(_HIDDEN_LAYER_MAP, _POOLING),
            needs=frozenset({HIDDEN_STATES}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (
                _teacher_layers(_hidden_pairs(o, "hidden-cosine")),
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
            needs=frozenset({ATTENTIONS}),
            uses=frozenset({TEACHER_FEATURES}),
            teacher_features=lambda o: (
                _teacher_layers(_attention_pairs(o, "attention-mse")),
                True,
            ),
        )
    )
