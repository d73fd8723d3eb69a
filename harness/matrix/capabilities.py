"""What a cell needs and whether its parts provide it: loss profiles, incompatibility, depth.

From the specs' capability flags alone (pure, no torch), so the planner refuses a cell that
cannot work (a loss needing attention maps from a BiLSTM) before anything trains, and the
student stage knows which teacher outputs a loss reads. Teacher layers that a loss or a
student names beyond the teacher's depth (``TeacherSpec.depth``) are bad input, not an
incompatibility: ``depth_problem`` says so for the planner to raise.
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
    DatasetSpec,
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


def pair_problem(
    registry: Registry, dataset: Component, student: Component, augmenter: Component
) -> str | None:
    """Why a cell cannot take its dataset's sentence pairs, or None."""
    spec = registry.get("datasets", dataset.plugin)
    assert isinstance(spec, DatasetSpec)
    if not spec.gives_pairs(dataset.options_dict()):
        return None
    if not registry.get("students", student.plugin).pairs:
        return f"student {student.name!r} reads single sentences, and dataset {dataset.name!r} gives sentence pairs"
    if not registry.get("augmenters", augmenter.plugin).pairs:
        return f"augmenter {augmenter.name!r} edits single sentences, and dataset {dataset.name!r} gives sentence pairs"
    return None


def teacher_depth(registry: Registry, teacher: Component) -> int | None:
    """The teacher's transformer layers, from its spec's ``depth``; None when unknown."""
    spec = registry.get("teachers", teacher.plugin)
    assert isinstance(spec, TeacherSpec)
    return None if spec.depth is None else spec.depth(teacher.options_dict())


def _layer_options(options: dict[str, Any]) -> str:
    """The options that name layers (``layer_map = '-1:7'``): where the layers come from."""
    shown = [f"{k} = {v!r}" for k, v in sorted(options.items()) if "layer" in k]
    return ", ".join(shown) or "its options"


def depth_problem(
    registry: Registry,
    teacher: Component,
    depth: int,
    student: Component | None = None,
    loss: Component | None = None,
) -> str | None:
    """Why the student's or the loss's teacher layers do not exist in a teacher of
    ``depth`` layers, or None. Hidden states count 0 (embeddings) to ``depth``,
    attention maps 1 to ``depth``, a student's copied layers 0 to ``depth - 1``."""
    lacks = f"which teacher {teacher.name!r} does not have ({depth} layers:"
    if student is not None:
        spec = registry.get("students", student.plugin)
        assert isinstance(spec, StudentSpec)
        options = student.options_dict()
        chosen = spec.teacher_layers(options) if spec.teacher_layers is not None else ()
        bad = [i for i in chosen if not 0 <= i < depth]
        if bad:
            return (
                f"student {student.name!r}: {_layer_options(options)} names teacher layer "
                f"{bad[0]}, {lacks} 0 to {depth - 1})"
            )
    for plugin, _, options in loss_parts(loss) if loss is not None else ():
        spec = registry.get("losses", plugin)
        assert isinstance(spec, LossSpec)
        if spec.teacher_features is None:
            continue
        layers, attentions = spec.teacher_features(options)
        low = 1 if attentions else 0
        bad = [i for i in layers if not low <= i <= depth]
        if bad:
            part = f" (part {plugin!r})" if loss.plugin == COMPOSE else ""
            kind = "attention maps" if attentions else "hidden states"
            return (
                f"loss {loss.name!r}{part}: {_layer_options(options)} names teacher layer "
                f"{bad[0]}, {lacks} {kind} {low} to {depth})"
            )
    return None
