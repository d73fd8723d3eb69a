"""Task data as plain Python: splits, transfer sets, seeded stratified sampling.

No torch here: the planner and dataset plugins use these without heavy imports.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

UNLABELLED = -1


@dataclass(frozen=True)
class Split:
    name: str  # what the leaderboard says the figure comes from, e.g. "dev"
    texts: tuple[str, ...]
    labels: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(
                f"split {self.name!r}: {len(self.texts)} texts, {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: Sequence[int], name: str | None = None) -> Split:
        return Split(
            name or self.name,
            tuple(self.texts[i] for i in indices),
            tuple(self.labels[i] for i in indices),
        )


@dataclass(frozen=True)
class TaskData:
    """What a dataset plugin returns."""

    name: str
    label_names: tuple[str, ...]
    train: Split  # what teachers fine-tune on and the default transfer set
    select: Split  # model selection only (early stopping, best epoch); never reported
    evaluation: Split  # the split every leaderboard figure is scored on
    primary_metric: str = "accuracy"
    unlabelled: tuple[str, ...] = ()  # in-domain text without labels (low-resource pools)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


@dataclass(frozen=True)
class TransferSet:
    """The texts a student is distilled on; labels are gold ids or UNLABELLED."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    source: str = ""  # how it was made, for the report


def stratified_indices(labels: Sequence[int], n: int, seed: int) -> list[int]:
    """A seeded sample of ``n`` indices keeping label proportions; sorted, deterministic."""
    if n >= len(labels):
        return list(range(len(labels)))
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, y in enumerate(labels):
        by_label[y].append(i)
    chosen: list[int] = []
    # Largest-remainder allocation so the total is exactly n.
    quotas = {y: n * len(ix) / len(labels) for y, ix in by_label.items()}
    counts = {y: int(q) for y, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda y: (counts[y] - quotas[y], y))
    for y in by_remainder[: n - sum(counts.values())]:
        counts[y] += 1
    for y in sorted(by_label):
        ix = by_label[y][:]
        rng.shuffle(ix)
        chosen.extend(ix[: counts[y]])
    return sorted(chosen)


def carve(split: Split, n_out: int, seed: int, out_name: str) -> tuple[Split, Split]:
    """Split off a seeded, stratified slice of ``n_out`` examples: (rest, slice)."""
    out = set(stratified_indices(split.labels, n_out, seed))
    rest = [i for i in range(len(split)) if i not in out]
    return split.take(rest), split.take(sorted(out), out_name)


def subsample(task: TaskData, max_train: int | None, max_select: int | None, seed: int) -> TaskData:
    """The budget's view of a task: fewer training and selection examples, same evaluation."""
    train, select = task.train, task.select
    if max_train is not None and len(train) > max_train:
        train = train.take(stratified_indices(train.labels, max_train, seed))
    if max_select is not None and len(select) > max_select:
        select = select.take(stratified_indices(select.labels, max_select, seed))
    return TaskData(
        task.name, task.label_names, train, select, task.evaluation, task.primary_metric
    )
