"""Every built-in dataset from the real files (BENCH_DATA_DIR, shared/data's layout).

Split sizes and label counts are the published ones (shared/data/README.md and each
SOURCE.md). A missing BENCH_DATA_DIR fails, never skips. IMDB (the slow one, about 2 s)
and its sentence corpus are loaded once per module.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from distill_bench import BenchError
from distill_bench.plugin_api.metrics import score_task, task_metric
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins import datasets as ds
from distill_bench.plugins.datasets.imdb import imdb_unsup_sentences
from distill_bench.plugins.datasets.splits import apply_low_resource

from tests.helpers import real_data_dir

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def load(registry, name: str, **options):
    spec = registry.get("datasets", name)
    return spec.factory(spec.resolve(options, "test"), real_data_dir())


@pytest.fixture(scope="module")
def imdb(registry):
    return load(registry, "imdb")


@pytest.fixture(scope="module")
def imdb_sentences():
    return imdb_unsup_sentences(real_data_dir())


# name, options, (train, select, evaluation), labels, metric, select split, evaluation split
SIZES = [
    ("sst2", {}, (66_002, 1_347, 872), 2, "accuracy", "train-heldout", "dev"),
    ("cola", {}, (7_696, 855, 1_043), 2, "mcc", "train-heldout", "dev"),
    ("emotion", {}, (16_000, 2_000, 2_000), 6, "accuracy", "val", "test"),
    ("trec", {}, (4_907, 545, 500), 6, "accuracy", "train-heldout", "test"),
    ("trec-fine", {}, (4_907, 545, 500), 50, "accuracy", "train-heldout", "test"),
    ("clinc150", {}, (15_000, 3_000, 4_500), 150, "accuracy", "val", "test"),
    (
        "clinc150",
        {"include_oos": True},
        (15_100, 3_100, 5_500),
        151,
        "inscope_accuracy",
        "val",
        "test",
    ),
    ("banking77", {}, (9_003, 1_000, 3_080), 77, "accuracy", "train-heldout", "test"),
]


@pytest.mark.parametrize("name, options, sizes, num_labels, metric, select_name, eval_name", SIZES)
def test_split_sizes_labels_and_metric(
    registry, name, options, sizes, num_labels, metric, select_name, eval_name
):
    """Published sizes; held-out slices carved from train; no evaluation text in selection
    (except the 3 tweets the official Emotion val and test files share, with other labels)."""
    task = load(registry, name, **options)
    assert (len(task.train), len(task.select), len(task.evaluation)) == sizes
    assert (task.select.name, task.evaluation.name) == (select_name, eval_name)
    assert task.num_labels == num_labels == len(set(task.label_names))
    assert task.primary_metric == metric
    assert set(task.train.labels) | set(task.select.labels) == set(range(num_labels))
    shared = set(task.select.texts) & set(task.evaluation.texts)
    assert len(shared) == (3 if name == "emotion" else 0)
    assert all(t and t == t.strip() for s in (task.train, task.select) for t in s.texts)
    assert task.unlabelled == ()


def test_emotion_label_counts(registry):
    """The distribution SOURCE.md lists, under the Hub's label ids."""
    task = load(registry, "emotion")
    named = lambda split: {task.label_names[y]: n for y, n in Counter(split.labels).items()}  # noqa: E731
    assert named(task.train) == dict(
        joy=5362, sadness=4666, anger=2159, fear=1937, love=1304, surprise=572
    )
    assert named(task.evaluation) == dict(
        joy=695, sadness=581, anger=275, fear=224, love=159, surprise=66
    )
    assert task.label_names == ("sadness", "joy", "love", "anger", "fear", "surprise")


def test_trec_counts_and_shared_heldout_slice(registry):
    coarse, fine = load(registry, "trec"), load(registry, "trec-fine")
    named = lambda task, *splits: Counter(  # noqa: E731
        task.label_names[y] for s in splits for y in s.labels
    )
    assert named(coarse, coarse.train, coarse.select) == dict(
        ABBR=86, DESC=1162, ENTY=1250, HUM=1223, LOC=835, NUM=896
    )
    assert named(coarse, coarse.evaluation) == dict(
        ABBR=9, DESC=138, ENTY=94, HUM=65, LOC=81, NUM=113
    )
    assert len(named(fine, fine.train, fine.select)) == 50
    assert len(named(fine, fine.evaluation)) == 42
    assert fine.select.texts == coarse.select.texts  # TREC-6 and TREC-50 select on one slice
    # every fine label agrees with its coarse label
    pairs = zip(fine.train.labels, coarse.train.labels, strict=True)
    assert all(fine.label_names[f].split(":")[0] == coarse.label_names[c] for f, c in pairs)


def test_clinc150_per_intent_counts_and_oos(registry):
    task = load(registry, "clinc150")
    assert set(Counter(task.train.labels).values()) == {100}
    assert set(Counter(task.select.labels).values()) == {20}
    assert set(Counter(task.evaluation.labels).values()) == {30}
    oos = load(registry, "clinc150", include_oos=True)
    assert oos.oos_label == 150 and oos.label_names[150] == "oos"
    assert oos.label_names[:150] == task.label_names
    assert [Counter(s.labels)[150] for s in (oos.train, oos.select, oos.evaluation)] == [
        100,
        100,
        1000,
    ]
    # perfect on in-scope, oos always missed: in-scope accuracy 1, OOS recall 0
    pred = [y if y != 150 else 0 for y in oos.evaluation.labels]
    scores = score_task(oos, pred)
    assert scores["inscope_accuracy"] == 1.0 and scores["oos_recall"] == 0.0
    assert scores["accuracy"] == pytest.approx(4500 / 5500)
    assert task_metric(oos)(oos.evaluation.labels, pred) == 1.0


def test_banking77_counts_and_label_order(registry):
    task = load(registry, "banking77")
    assert set(Counter(task.evaluation.labels).values()) == {40}
    per_intent = Counter(task.train.labels + task.select.labels).values()
    assert (min(per_intent), max(per_intent)) == (35, 187)
    categories = json.loads((real_data_dir() / "banking77" / "categories.json").read_text())
    assert sorted(categories, key=str.lower) == list(ds.BANKING77_LABELS)


def test_imdb_splits_and_unlabelled_pool(imdb):
    assert (len(imdb.train), len(imdb.select), len(imdb.evaluation)) == (22_500, 2_500, 25_000)
    assert (imdb.select.name, imdb.evaluation.name, imdb.primary_metric) == (
        "train-heldout",
        "test",
        "accuracy",
    )
    assert Counter(imdb.evaluation.labels) == {0: 12_500, 1: 12_500}
    assert Counter(imdb.train.labels + imdb.select.labels) == {0: 12_500, 1: 12_500}
    assert len(imdb.unlabelled) == 50_000
    assert not set(imdb.select.texts) & set(imdb.evaluation.texts)


def test_low_resource_per_class(registry):
    full = load(registry, "trec")
    few = load(registry, "trec", labels_per_class=5)
    assert Counter(few.train.labels) == {y: 5 for y in range(6)}
    assert few.select == full.select and few.evaluation == full.evaluation
    assert Counter(few.unlabelled) + Counter(few.train.texts) == Counter(full.train.texts)
    other_seed = load(registry, "trec", labels_per_class=5, split_seed=1)
    assert other_seed.train != few.train and other_seed.select != full.select


def test_low_resource_max_labeled_is_stratified(registry):
    full = load(registry, "banking77")
    small = load(registry, "banking77", max_labeled=770)
    assert len(small.train) == 770 and len(small.unlabelled) == len(full.train) - 770
    counts, totals = Counter(small.train.labels), Counter(full.train.labels)
    for label, total in totals.items():
        assert abs(counts[label] - 770 * total / len(full.train)) < 1
    assert Counter(small.unlabelled) + Counter(small.train.texts) == Counter(full.train.texts)


def test_low_resource_on_imdb_keeps_the_unsup_pool(imdb):
    """The same shared step every factory ends with, applied to the loaded IMDB."""
    small = apply_low_resource(imdb, {"max_labeled": 1000, "split_seed": 0})
    assert len(small.train) == 1000 and Counter(small.train.labels) == {0: 500, 1: 500}
    assert len(small.unlabelled) == 21_500 + 50_000
    assert small.unlabelled[21_500:] == imdb.unlabelled  # rest of train first, then unsup
    assert small.select == imdb.select and small.evaluation == imdb.evaluation


def test_imdb_sentence_corpus(imdb_sentences):
    assert len(imdb_sentences) > 500_000
    assert len(set(imdb_sentences)) == len(imdb_sentences)
    assert not any("<br" in s.lower() for s in imdb_sentences)
    assert all(3 <= len(s.split()) <= 64 for s in imdb_sentences)
    assert imdb_sentences[0].startswith("I admit, the great majority of films")
    assert ds.UNLABELLED_CORPORA["imdb-unsup-sentences"] is imdb_unsup_sentences


def test_yelp_is_not_in_the_shared_data_and_says_so(registry):
    with pytest.raises(BenchError) as err:
        load(registry, "yelp-polarity")
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert "yelp-polarity/train.csv: file not found" in message
    assert ds.YELP_URL in message
