"""Task data as plain Python: splits, transfer sets, seeded stratified sampling.

No torch here: the planner and dataset plugins use these without heavy imports.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Collection, Sequence
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
    # The out-of-scope class id (CLINC150 with oos), or None: metrics.score_task then adds
    # in-scope accuracy and OOS recall.
    oos_label: int | None = None

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


@dataclass(frozen=True)
class TransferSet:
    """The texts a student is distilled on; labels are gold ids or UNLABELLED."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    source: str = ""  # how it was made, for the report
    # Index into task.train of the example each text was made from (-1: none), when the
    # augmenter knows it (tang, eda); empty otherwise. Previews group by it.
    origins: tuple[int, ...] = ()
    # (part, count) in order, e.g. (("labelled", 5000), ("tang", 95000)); set by the harness
    composition: tuple[tuple[str, int], ...] = ()

    def __len__(self) -> int:
        return len(self.texts)

    def describe(self) -> str:
        """'5,000 labelled + 95,000 tang' (or the source when there is no composition)."""
        if not self.composition:
            return self.source
        return " + ".join(f"{count:,} {part}" for part, count in self.composition)


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


def heldout_indices(split: Split, n_out: int, seed: int, avoid: Collection[str] = ()) -> list[int]:
    """The sorted indices ``carve`` splits off.

    ``avoid`` holds texts the slice must not contain (the evaluation texts, so model
    selection never sees a scored sentence that the dataset also lists in train). The
    plain stratified sample is kept when it contains none of them; otherwise the slice
    is drawn again from the examples whose text is not in ``avoid``. Those examples stay
    in the rest, where the dataset put them.
    """
    out = stratified_indices(split.labels, n_out, seed)
    if not avoid or not any(split.texts[i] in avoid for i in out):
        return out
    allowed = [i for i, text in enumerate(split.texts) if text not in avoid]
    if n_out > len(allowed):
        raise ValueError(
            f"split {split.name!r}: cannot hold out {n_out} examples; only {len(allowed)} "
            "have a text outside the avoided set"
        )
    picked = stratified_indices([split.labels[i] for i in allowed], n_out, seed)
    return [allowed[j] for j in picked]


def carve(
    split: Split, n_out: int, seed: int, out_name: str, avoid: Collection[str] = ()
) -> tuple[Split, Split]:
    """Split off a seeded, stratified slice of ``n_out`` examples: (rest, slice).

    The slice contains no text of ``avoid`` (see ``heldout_indices``)."""
    out = set(heldout_indices(split, n_out, seed, avoid))
    rest = [i for i in range(len(split)) if i not in out]
    return split.take(rest), split.take(sorted(out), out_name)


def per_class_indices(labels: Sequence[int], per_class: int, seed: int) -> list[int]:
    """A seeded sample of ``per_class`` indices of every label (all of a rarer one); sorted.

    Nested: with the same seed, the sample for k is a subset of the sample for k + 1."""
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, y in enumerate(labels):
        by_label[y].append(i)
    chosen: list[int] = []
    for y in sorted(by_label):
        ix = by_label[y][:]
        rng.shuffle(ix)
        chosen.extend(ix[:per_class])
    return sorted(chosen)


def low_resource(
    task: TaskData,
    *,
    max_labeled: int = 0,
    labels_per_class: int = 0,
    seed: int = 0,
    select_share: float = 0.0,
) -> TaskData:
    """Keep a seeded, stratified labelled subset of train; the rest of train is unlabelled.

    ``labels_per_class`` (0 = off) keeps that many examples of every label (all of a label
    that has fewer); ``max_labeled`` (0 = all) then caps the total, keeping label
    proportions. The examples left out of train lose their labels and go, in train order,
    to the front of ``task.unlabelled`` (an existing pool, e.g. IMDB's unsup reviews,
    follows them). Evaluation is unchanged, so low-resource runs are scored on exactly the
    same examples as full ones.

    ``select_share`` (0 = off) takes the selection split out of the label budget: that
    share of the kept examples (stratified, at least one) becomes the selection split, and
    the former selection texts join the unlabelled pool without their labels, so an arm of
    N labels sees N gold labels in all. Off, the selection split is left as it is.
    """
    if max_labeled < 0 or labels_per_class < 0:
        raise ValueError(
            f"max_labeled and labels_per_class must be >= 0, got {max_labeled}, {labels_per_class}"
        )
    if not 0 <= select_share < 1:
        raise ValueError(f"select_share must be in [0, 1), got {select_share}")
    train = task.train
    keep = list(range(len(train)))
    if labels_per_class:
        keep = per_class_indices(train.labels, labels_per_class, seed)
    if max_labeled and len(keep) > max_labeled:
        picked = stratified_indices([train.labels[i] for i in keep], max_labeled, seed)
        keep = [keep[j] for j in picked]
    if len(keep) == len(train) and not select_share:
        return task
    kept = set(keep)
    pool = tuple(text for i, text in enumerate(train.texts) if i not in kept)
    labelled, select = train.take(keep), task.select
    if select_share:
        n_select = max(1, round(len(keep) * select_share))
        if n_select >= len(keep):
            raise ValueError(f"{len(keep)} labelled examples leave none to train on")
        labelled, select = carve(labelled, n_select, seed, task.select.name)
        pool += task.select.texts
    return dataclasses.replace(
        task, train=labelled, select=select, unlabelled=pool + task.unlabelled
    )


def subsample(
    task: TaskData,
    max_train: int | None,
    max_select: int | None,
    seed: int,
    max_eval: int | None = None,
) -> TaskData:
    """The budget's view of a task: fewer training and selection examples, and (only when
    asked) a stratified slice of the evaluation split whose name says so."""
    train, select, evaluation = task.train, task.select, task.evaluation
    if max_train is not None and len(train) > max_train:
        train = train.take(stratified_indices(train.labels, max_train, seed))
    if max_select is not None and len(select) > max_select:
        select = select.take(stratified_indices(select.labels, max_select, seed))
    if max_eval is not None and len(evaluation) > max_eval:
        # seed 0, not the cell's seed: every seed of a matrix is scored on the same slice
        evaluation = evaluation.take(
            stratified_indices(evaluation.labels, max_eval, 0),
            f"{evaluation.name}[{max_eval} of {len(evaluation)}]",
        )
    # replace() keeps every other field (unlabelled pool, oos label) as the plugin set it
    return dataclasses.replace(task, train=train, select=select, evaluation=evaluation)
