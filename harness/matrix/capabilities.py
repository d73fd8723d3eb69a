"""What a cell needs and whether its parts provide it: loss profiles and incompatibility.

From the specs' capability flags alone (pure, no torch), so the planner refuses a cell that
cannot work (a loss needing attention maps from a BiLSTM) before anything trains, and the
student stage knows which teacher outputs a loss reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill_bench.matrix.components import Component
from distill_bench.matrix.model import COMPOSE
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import (
    GOLD_LABELS,
    TEACHER_FEATURES,
    TEACHER_LOGITS,
    AugmenterSpec,
    LossSpec,
    StudentSpec,
    TeacherSpec,
)


@dataclass(frozen=True)
class LossProfile:
    """What a loss (or a composition of losses) needs, from the specs alone."""

    needs: frozenset[str]
    uses: frozenset[str]
    hidden_layers: tuple[int, ...] = ()  # teacher hidden states (0 = embeddings)
    attention_layers: tuple[int, ...] = ()  # teacher attention maps (1-based)
    per_head: bool = False  # attention maps kept per head instead of head-averaged

    @property
    def wants_features(self) -> bool:
        return bool(self.hidden_layers or self.attention_layers)


def loss_parts(loss: Component) -> list[tuple[str, float, dict[str, Any]]]:
    """(plugin, weight, options) of each part; a plain loss is one part of weight 1."""
    if loss.plugin == COMPOSE:
        return [
            (plugin, weight, dict(options))
            for plugin, weight, options in dict(loss.options)["parts"]
        ]
    return [(loss.plugin, 1.0, loss.options_dict())]


def loss_profile(registry: Registry, loss: Component) -> LossProfile:
    needs, uses, hidden, attention, per_head = set(), set(), set(), set(), False
    for plugin, _, options in loss_parts(loss):
        spec = registry.get("losses", plugin)
        assert isinstance(spec, LossSpec)
        needs |= spec.needs
        uses |= spec.uses
        if spec.teacher_features is not None:
            layers, attentions = spec.teacher_features(options)
            (attention if attentions else hidden).update(layers)
            per_head = per_head or (attentions and options.get("heads") == "per-head")
    return LossProfile(
        frozenset(needs), frozenset(uses), tuple(sorted(hidden)), tuple(sorted(attention)), per_head
    )


def incompatibility(
    registry: Registry,
    teacher: Component,
    student: Component,
    loss: Component,
    augmenter: Component,
) -> str | None:
    """Why a cell cannot work, or None. Checked from capability flags alone."""
    loss_spec = loss_profile(registry, loss)
    student_spec = registry.get("students", student.plugin)
    teacher_spec = registry.get("teachers", teacher.plugin)
    augmenter_spec = registry.get("augmenters", augmenter.plugin)
    assert isinstance(student_spec, StudentSpec)
    assert isinstance(teacher_spec, TeacherSpec) and isinstance(augmenter_spec, AugmenterSpec)
    missing = sorted(loss_spec.needs - student_spec.exposes)
    if missing:
        return f"loss {loss.name!r} needs {', '.join(missing)}, which student {student.name!r} does not expose"
    missing = sorted(loss_spec.needs - teacher_spec.exposes)
    if missing:
        return f"loss {loss.name!r} needs teacher {', '.join(missing)}, which teacher {teacher.name!r} does not expose"
    if loss_spec.uses == {GOLD_LABELS} and not augmenter_spec.gold_labels:
        return (
            f"loss {loss.name!r} learns from gold labels only, and augmenter "
            f"{augmenter.name!r} makes unlabelled text"
        )
    if not loss_spec.uses & {GOLD_LABELS, TEACHER_LOGITS, TEACHER_FEATURES}:
        return f"loss {loss.name!r} declares no training signal"
    return None
