"""Seeded stratified sampling and the budget's view of a task."""

from __future__ import annotations

from collections import Counter

import pytest
from distill_bench.plugin_api.tasks import Split, TaskData, carve, stratified_indices, subsample

# Imbalanced on purpose: 60 / 30 / 7 / 3 examples of labels 0..3, interleaved.
LABELS = tuple([0] * 60 + [1] * 30 + [2] * 7 + [3] * 3)
LABELS = tuple(LABELS[i] for i in sorted(range(len(LABELS)), key=lambda i: (i * 37) % len(LABELS)))


def make_split(name: str, labels=LABELS) -> Split:
    return Split(name, tuple(f"{name} sentence {i}" for i in range(len(labels))), tuple(labels))


def make_task() -> TaskData:
    return TaskData(
        "toy",
        ("a", "b", "c", "d"),
        train=make_split("train"),
        select=make_split("train-heldout", LABELS[:50]),
        evaluation=make_split("dev", LABELS[:40]),
        primary_metric="mcc",
    )


@pytest.mark.parametrize("n", [0, 1, 3, 10, 17, 50, 99])
def test_stratified_size_and_proportions(n):
    """Exactly n distinct, sorted, in-range indices, each label within 1 of its share."""
    ix = stratified_indices(LABELS, n, seed=0)
    assert len(ix) == n
    assert ix == sorted(set(ix))
    assert all(0 <= i < len(LABELS) for i in ix)
    counts = Counter(LABELS[i] for i in ix)
    for label, total in Counter(LABELS).items():
        assert abs(counts[label] - n * total / len(LABELS)) < 1, (label, counts)


def test_stratified_takes_everything_when_n_is_large():
    """Asking for at least the whole set returns all of it."""
    assert stratified_indices(LABELS, len(LABELS), seed=3) == list(range(len(LABELS)))
    assert stratified_indices(LABELS, 10_000, seed=3) == list(range(len(LABELS)))


def test_stratified_is_deterministic_per_seed():
    """Same seed, same sample; a different seed picks a different one."""
    a = stratified_indices(LABELS, 20, seed=7)
    assert a == stratified_indices(LABELS, 20, seed=7)
    assert any(stratified_indices(LABELS, 20, seed=s) != a for s in (8, 9, 10))


def test_stratified_keeps_rare_labels():
    """A label with 3 of 100 examples still appears in a 40-example sample (3 * 0.4 = 1.2)."""
    ix = stratified_indices(LABELS, 40, seed=1)
    assert Counter(LABELS[i] for i in ix)[3] == 1


def test_carve_is_disjoint_and_complete():
    """carve() splits off exactly n_out examples; together the parts are the original split."""
    split = make_split("train")
    rest, out = carve(split, 20, seed=5, out_name="train-heldout")
    assert len(out) == 20 and len(rest) == len(split) - 20
    assert rest.name == "train" and out.name == "train-heldout"
    assert not set(rest.texts) & set(out.texts)
    assert sorted(rest.texts + out.texts) == sorted(split.texts)
    pairs = dict(zip(split.texts, split.labels, strict=True))
    assert all(
        pairs[t] == y for part in (rest, out) for t, y in zip(part.texts, part.labels, strict=True)
    )
    assert carve(split, 20, seed=5, out_name="x")[1].texts == out.texts  # seeded


def test_subsample_shrinks_train_and_select_only():
    """The budget trims train and select; the evaluation split is untouched."""
    task = make_task()
    small = subsample(task, max_train=25, max_select=10, seed=0)
    assert len(small.train) == 25 and len(small.select) == 10
    assert small.evaluation == task.evaluation
    assert (small.name, small.label_names, small.primary_metric) == (
        task.name,
        task.label_names,
        "mcc",
    )
    assert set(small.train.texts) <= set(task.train.texts)
    assert small.train.name == "train" and small.select.name == "train-heldout"
    assert small == subsample(task, max_train=25, max_select=10, seed=0)


def test_subsample_without_limits_is_identity():
    """No limits, or limits above the split sizes, change nothing."""
    task = make_task()
    assert subsample(task, None, None, seed=0) == task
    assert subsample(task, 1000, 1000, seed=0) == task


def test_split_lengths_must_match():
    """A split with more texts than labels is refused."""
    with pytest.raises(ValueError, match="2 texts, 1 labels"):
        Split("train", ("a", "b"), (0,))


def test_subsample_max_eval_names_the_slice_and_ignores_the_seed():
    """A capped evaluation split is a fixed stratified slice whose name says so."""
    from distill_bench.plugin_api.tasks import Split, TaskData, subsample

    evaluation = Split("test", tuple(f"t{i}" for i in range(100)), tuple(i % 4 for i in range(100)))
    train = Split("train", ("a", "b"), (0, 1))
    task = TaskData("x", ("a", "b", "c", "d"), train, train, evaluation)
    one, two = subsample(task, None, None, 1, 20), subsample(task, None, None, 2, 20)
    assert one.evaluation == two.evaluation and len(one.evaluation) == 20
    assert one.evaluation.name == "test[20 of 100]"
    assert sorted(one.evaluation.labels.count(y) for y in range(4)) == [5, 5, 5, 5]
    assert subsample(task, None, None, 1).evaluation is evaluation


def _budgeted_task(n_train: int = 200) -> TaskData:
    texts = tuple(f"train {i}" for i in range(n_train))
    train = Split("train", texts, tuple(i % 2 for i in range(n_train)))
    select = Split("train-heldout", tuple(f"select {i}" for i in range(40)), (0, 1) * 20)
    evaluation = Split("dev", ("eval a", "eval b"), (0, 1))
    return TaskData("t", ("neg", "pos"), train, select, evaluation, "accuracy")


def test_select_share_takes_selection_out_of_the_label_budget():
    from distill_bench.plugin_api.tasks import low_resource

    task = _budgeted_task()
    arm = low_resource(task, max_labeled=50, seed=0, select_share=0.2)
    assert len(arm.train) + len(arm.select) == 50  # N gold labels in all, selection included
    assert len(arm.select) == 10 and Counter(arm.select.labels) == {0: 5, 1: 5}
    assert not set(arm.train.texts) & set(arm.select.texts)
    assert set(arm.train.texts) | set(arm.select.texts) <= set(task.train.texts)
    assert set(task.select.texts) <= set(arm.unlabelled)  # the old selection, now unlabelled
    assert len(arm.unlabelled) == 150 + 40
    # off: the selection split comes from outside the budget, as before
    assert low_resource(task, max_labeled=50, seed=0).select == task.select
    with pytest.raises(ValueError, match="select_share"):
        low_resource(task, max_labeled=50, select_share=1.0)


def test_select_from_labeled_at_its_default_leaves_stage_keys_as_they_were():
    from distill_bench.matrix.components import resolve
    from distill_bench.matrix.model import Entry
    from distill_bench.plugin_api.registry import load_registry

    registry = load_registry()
    plain = resolve(Entry("datasets", "sst2", "sst2", {"max_labeled": 1000}), registry, "m")
    assert "select_from_labeled" not in plain.config()["options"]
    assert plain.options_dict()["select_from_labeled"] == 0.0  # the factory still sees it
    chosen = resolve(
        Entry("datasets", "sst2", "sst2", {"max_labeled": 1000, "select_from_labeled": 0.1}),
        registry,
        "m",
    )
    assert chosen.config()["options"]["select_from_labeled"] == 0.1


def test_select_from_labeled_without_a_label_budget_is_refused(tmp_path):
    from distill_bench import BenchError
    from distill_bench.plugins.datasets.splits import apply_low_resource

    with pytest.raises(BenchError, match="'select_from_labeled' needs a label budget"):
        apply_low_resource(_budgeted_task(), {"select_from_labeled": 0.1})
    arm = apply_low_resource(_budgeted_task(), {"max_labeled": 20, "select_from_labeled": 0.1})
    assert len(arm.train) + len(arm.select) == 20
