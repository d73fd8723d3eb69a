"""Error analysis from stored per-example predictions: pure, no torch, no retraining.

Every figure compares a student run with the teacher it learnt from (the same teacher
seed) on the evaluation split, and is the mean over the entry's runs (teacher seed x
student seed). Groups are slices of the evaluation split: length quartiles, gold labels,
CoLA's in-domain and out-of-domain halves.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from distill_bench.report.seeds import seed_estimate
from distill_bench.report.stats import Estimate

Unit = tuple[int, int]  # (teacher seed, student seed)


@dataclass(frozen=True)
class Runs:
    """One leaderboard entry's predictions: the teacher's per teacher seed, or a student's
    per (teacher seed, student seed)."""

    label: str  # "bilstm / kd-soft / none", or "(teacher)"
    by_unit: dict[Unit, np.ndarray]


@dataclass(frozen=True)
class Group:
    """A slice of the evaluation split, by example index."""

    name: str
    index: np.ndarray


def _quantile_groups(values: np.ndarray, bins: int, name) -> list[Group]:
    """``bins`` equal-count slices of the examples ordered by ``values``, smallest first;
    ``name(low, high)`` labels each by its range."""
    order = np.argsort(values, kind="stable")
    return [
        Group(name(values[part].min(), values[part].max()), np.sort(part))
        for part in np.array_split(order, bins)
        if len(part)
    ]


def length_groups(texts: Sequence[str], bins: int = 4) -> list[Group]:
    """Quartiles (``bins`` equal-count slices) of the length in words (a pair: both sides)."""
    words = np.array([len(t.split()) for t in texts])
    return _quantile_groups(words, bins, lambda low, high: f"{int(low)}-{int(high)} words")


def confidence_groups(confidence: np.ndarray, bins: int = 4) -> list[Group]:
    """Equal-count slices by the teacher's top probability, least confident first."""
    return _quantile_groups(
        confidence, bins, lambda low, high: f"p {float(low):.3f}-{float(high):.3f}"
    )


def softmax_top(logits: np.ndarray) -> np.ndarray:
    """Each row's largest softmax probability."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def label_groups(gold: np.ndarray, names: Sequence[str]) -> list[Group]:
    return [
        Group(names[k], np.flatnonzero(gold == k)) for k in range(len(names)) if (gold == k).any()
    ]


def own_teacher(teacher: Runs, unit: Unit) -> np.ndarray:
    """The predictions of the teacher a student run learnt from (its teacher seed's; with
    one teacher row, that one)."""
    for (seed, _), pred in teacher.by_unit.items():
        if seed == unit[0]:
            return pred
    if len(teacher.by_unit) == 1:
        return next(iter(teacher.by_unit.values()))
    raise KeyError(f"teacher seed {unit[0]}: no teacher row")


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def group_scores(
    gold: np.ndarray,
    teacher: Runs,
    runs: Runs,
    groups: Sequence[Group],
    metric: Callable[[np.ndarray, np.ndarray], float],
) -> list[tuple[Estimate, float | None]]:
    """Per group: the metric against gold over the runs (an ``Estimate``: mean and its
    t interval over seeds, teacher seeds as the unit when there are several) and the mean
    % agreement with the own teacher (None for the teacher itself)."""
    out = []
    for group in groups:
        idx = group.index
        scores = {unit: 100 * metric(gold[idx], pred[idx]) for unit, pred in runs.by_unit.items()}
        agree = [
            100 * float((pred[idx] == own_teacher(teacher, unit)[idx]).mean())
            for unit, pred in runs.by_unit.items()
            if runs is not teacher
        ]
        out.append((seed_estimate(scores), _mean(agree)))
    return out


@dataclass(frozen=True)
class TeacherErrors:
    """Of the examples the own teacher gets wrong, the share the student also gets wrong
    (repeated; the rest it fixes); of those it gets right, the share the student gets
    wrong (new errors). Over runs, with the t interval over seeds; ``teacher_errors`` is the
    mean count."""

    teacher_errors: float
    repeated: Estimate | None
    new_errors: Estimate | None

    @property
    def fixed(self) -> float | None:
        return None if self.repeated is None else 100.0 - self.repeated.mean


def teacher_errors(gold: np.ndarray, teacher: Runs, runs: Runs) -> TeacherErrors:
    counts, repeated, new = [], {}, {}
    for unit, pred in runs.by_unit.items():
        t_wrong = own_teacher(teacher, unit) != gold
        s_wrong = pred != gold
        counts.append(float(t_wrong.sum()))
        if t_wrong.any():
            repeated[unit] = 100 * float(s_wrong[t_wrong].mean())
        if (~t_wrong).any():
            new[unit] = 100 * float(s_wrong[~t_wrong].mean())
    return TeacherErrors(
        statistics.mean(counts),
        seed_estimate(repeated) if repeated else None,
        seed_estimate(new) if new else None,
    )


def confusion_changes(
    gold: np.ndarray, base: Runs, other: Runs, names: Sequence[str], top: int = 5
) -> list[tuple[str, float, float]]:
    """The (gold -> predicted) confusions whose mean count per run changes most from
    ``base`` (say, ce-hard) to ``other`` (kd-soft): fixed ones first, then added ones."""

    def mean_counts(runs: Runs) -> Counter:
        total: Counter = Counter()
        for pred in runs.by_unit.values():
            total.update(zip(gold[pred != gold].tolist(), pred[pred != gold].tolist(), strict=True))
        return Counter({k: v / len(runs.by_unit) for k, v in total.items()})

    before, after = mean_counts(base), mean_counts(other)
    changes = [(k, before.get(k, 0.0), after.get(k, 0.0)) for k in set(before) | set(after)]
    changes.sort(key=lambda c: (c[2] - c[1], names[c[0][0]], names[c[0][1]]))
    fixed = [c for c in changes if c[2] < c[1]][:top]
    added = [c for c in reversed(changes) if c[2] > c[1]][:top]
    return [(f"{names[g]} -> {names[p]}", b, a) for (g, p), b, a in fixed + added]


def disagreements(
    gold: np.ndarray, teacher: Runs, runs: Runs, k: int = 3
) -> tuple[list[int], list[int]]:
    """Example indices of the entry's first run: where the teacher is right and the
    student wrong, and the other way round (``k`` of each, in split order)."""
    unit = min(runs.by_unit)
    pred, t_pred = runs.by_unit[unit], own_teacher(teacher, unit)
    lost = np.flatnonzero((t_pred == gold) & (pred != gold))[:k]
    won = np.flatnonzero((t_pred != gold) & (pred == gold))[:k]
    return lost.tolist(), won.tolist()


# Lexical rules for CoLA's phenomena (Warstadt et al. annotate dev by hand; these are word
# patterns, not a parse): a sentence may match several rules or none.
PHENOMENA: dict[str, str] = {
    "negation": r"\b(not|n't|never|no|nobody|nothing|none|neither|nor)\b",
    "wh-question": r"^\s*(who|whom|whose|what|which|where|when|why|how)\b.*\?\s*$",
    "passive": r"\b(is|are|was|were|be|been|being|got|get)\s+\w+(ed|en)\s+by\b",
    "reflexive": r"\b(myself|yourself|himself|herself|itself|ourselves|yourselves|themselves)\b",
    "comparative": r"\b(more|less|fewer|\w+er)\s+than\b|\bas\s+\w+\s+as\b",
    "quantifier": r"\b(every|each|all|some|most|many|few|several|any|both)\b",
    "modal or auxiliary": r"\b(can|could|may|might|must|shall|should|will|would|do|does|did)\b",
}


def phenomenon_groups(texts: Sequence[str]) -> list[Group]:
    """One group per rule of ``PHENOMENA`` that matches at least one text."""
    groups = []
    for name, pattern in PHENOMENA.items():
        rule = re.compile(pattern, re.IGNORECASE)
        index = np.array([i for i, t in enumerate(texts) if rule.search(t)], dtype=np.int64)
        if len(index):
            groups.append(Group(name, index))
    return groups
