"""Transfer sets: the harness's common options, leakage removal, the built-in augmenters."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from distill_bench import AugmenterSpec, BenchError, Option
from distill_bench.cli.main import main
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.specs import TRANSFER_OPTIONS, parse_size
from distill_bench.plugin_api.tasks import UNLABELLED, Split, TaskData, TransferSet, low_resource
from distill_bench.plugins.augmenters.eda import (
    EmbeddingSynonyms,
    eda_augment,
    random_deletion,
    random_swap,
)
from distill_bench.plugins.augmenters.tang import MASK, tag, tang_augment
from distill_bench.stages.transfer.build import (
    AugmentContext,
    TransferOptions,
    confidence_filter,
    make_transfer_set,
    normalise,
    split_options,
)

from tests.helpers import FILLER, NEGATIVE, POSITIVE


def make_task(train, select=(("held out one", 0),), evaluation=(("the scored one", 1),)):
    split = lambda name, rows: Split(name, tuple(t for t, _ in rows), tuple(y for _, y in rows))  # noqa: E731
    return TaskData(
        "toy", ("neg", "pos"), split("train", train), split("select", select),
        split("dev", evaluation),
    )  # fmt: skip


def emitting(*texts):
    """An augmenter whose build returns ``texts`` (unlabelled)."""
    return lambda ctx: TransferSet(tuple(texts), (UNLABELLED,) * len(texts), source="test")


TRAIN = [(f"sentence number {i}", i % 2) for i in range(10)]


# -- leakage ------------------------------------------------------------------------------


def test_no_selection_or_evaluation_text_reaches_the_transfer_set():
    """Texts equal to a selection or evaluation text after case/whitespace normalisation
    are removed, from the labelled part and from what the augmenter made, and counted."""
    task = make_task(
        TRAIN + [("The  Scored ONE", 1)],
        select=[("held out one", 0)],
        evaluation=[("the scored one", 1), ("another scored one", 0)],
    )
    made = emitting("a new text", "HELD out   one", " another scored one ", "a new text 2")
    transfer, info = make_transfer_set("aug", made, AugmentContext(task, 0), TransferOptions())
    forbidden = {normalise(t) for t in (*task.select.texts, *task.evaluation.texts)}
    assert not forbidden & {normalise(t) for t in transfer.texts}
    assert info["leaked_removed"] == 3
    assert info["leaked_removed_by_part"] == {"labelled": 1, "aug": 2}
    assert transfer.texts == (*(t for t, _ in TRAIN), "a new text", "a new text 2")


# -- the common options ----------------------------------------------------------------------


def test_labelled_examples_come_first_with_gold_labels_and_composition():
    task = make_task(TRAIN)
    transfer, info = make_transfer_set(
        "aug", emitting("x one", "x two"), AugmentContext(task, 0), TransferOptions()
    )
    assert transfer.labels == (*(y for _, y in TRAIN), UNLABELLED, UNLABELLED)
    assert transfer.composition == (("labelled", 10), ("aug", 2))
    assert transfer.describe() == "10 labelled + 2 aug" == info["composition"]
    assert info["gold_labelled"] == 10


def test_size_as_a_multiple_a_count_and_the_budget_cap():
    task = make_task(TRAIN)
    made = emitting(*(f"made {i}" for i in range(100)))
    ctx = AugmentContext(task, 3)
    sizes = {
        "": 110,
        "2x": 20,
        "3.5x": 35,
        "25": 25,
        "1_000": 110,
    }
    for size, expected in sizes.items():
        transfer, _ = make_transfer_set("aug", made, ctx, TransferOptions(size=size))
        assert len(transfer) == expected, size
        assert transfer.texts[:10] == tuple(t for t, _ in TRAIN)  # labelled part kept whole
    capped, info = make_transfer_set("aug", made, ctx, TransferOptions(size="5x"), cap=30)
    assert len(capped) == 30 and info["sampled_out"] == 80
    # the sample of what the augmenter made is seeded: same seed, same set
    again, _ = make_transfer_set("aug", made, ctx, TransferOptions(size="5x"), cap=30)
    other, _ = make_transfer_set(
        "aug", made, AugmentContext(task, 4), TransferOptions(size="5x"), cap=30
    )
    assert again.texts == capped.texts and other.texts != capped.texts


def test_a_target_below_the_labelled_set_samples_it_stratified_and_skips_the_build():
    task = make_task(TRAIN)

    def never(ctx):
        raise AssertionError("build called although there is no room")

    transfer, _ = make_transfer_set(
        "aug", never, AugmentContext(task, 0), TransferOptions(size="4")
    )
    assert len(transfer) == 4 and Counter(transfer.labels) == {0: 2, 1: 2}


def test_build_gets_the_room_left_as_its_hint():
    task = make_task(TRAIN)
    seen = {}

    def build(ctx):
        seen["max_examples"], seen["augmenter"] = ctx.max_examples, ctx.augmenter
        return TransferSet((), ())

    make_transfer_set("aug", build, AugmentContext(task, 0), TransferOptions(size="3x"))
    assert seen == {"max_examples": 20, "augmenter": "aug"}


def test_dedup_and_include_labelled():
    task = make_task(TRAIN)
    made = emitting("Sentence number 1", "fresh", "fresh ", "FRESH", "other")
    deduped, info = make_transfer_set("aug", made, AugmentContext(task, 0), TransferOptions())
    assert deduped.texts[10:] == ("fresh", "other") and info["duplicates_removed"] == 3
    kept, _ = make_transfer_set("aug", made, AugmentContext(task, 0), TransferOptions(dedup=False))
    assert len(kept) == 15
    only_made, _ = make_transfer_set(
        "aug", made, AugmentContext(task, 0), TransferOptions(include_labelled=False)
    )
    assert only_made.texts == ("Sentence number 1", "fresh", "other")
    assert only_made.composition == (("aug", 3),)
    with pytest.raises(BenchError, match="transfer set is empty"):
        make_transfer_set(
            "aug", emitting(), AugmentContext(task, 0), TransferOptions(include_labelled=False)
        )


def test_size_parsing_and_option_checks():
    assert parse_size("") is None
    assert parse_size("20x") == ("factor", 20.0)
    assert parse_size("100_000") == ("count", 100000.0)
    for bad in ("lots", "-3", "0x", "1.5"):
        with pytest.raises(BenchError, match="option 'size'"):
            parse_size(bad)
    spec = load_registry().get("augmenters", "tang")
    assert spec.resolve({"size": 50000}, "m.toml")["size"] == "50000"  # a TOML integer
    with pytest.raises(BenchError, match="m.toml: option 'size'"):
        spec.resolve({"size": "twice"}, "m.toml")
    with pytest.raises(BenchError, match="'min_confidence' must be in"):
        spec.resolve({"min_confidence": 1.5}, "m.toml")
    own, common = split_options(spec, spec.resolve({"n_iter": 3, "dedup": False}, "m.toml"))
    assert own["n_iter"] == 3 and "dedup" not in own and common.dedup is False
    with pytest.raises(ValueError, match="common to every augmenter"):
        AugmenterSpec(name="bad", factory=lambda o: None, options=(Option("seed", int, 0),))
    assert all(o in spec.options for o in TRANSFER_OPTIONS)


# -- the teacher-confidence filter ----------------------------------------------------------


def test_confidence_filter_drops_or_downweights_unsure_examples():
    logits = np.array([[3.0, -3.0], [0.1, 0.0], [0.0, 0.05], [-2.0, 2.0]] * 250, np.float32)
    kept, info = confidence_filter(logits, TransferOptions(min_confidence=0.6), seed=0)
    assert info["unsure"] == 500 and info["removed"] == 500 and info["kept"] == 500
    assert set(kept % 4) == {0, 3}
    kept, info = confidence_filter(
        logits, TransferOptions(min_confidence=0.6, unsure="downweight", unsure_weight=0.3), 0
    )
    assert info["unsure"] == 500 and 100 < 500 - info["removed"] < 200  # about 30% kept
    assert {0, 3} <= set(kept % 4) and len(kept) == info["kept"]
    with pytest.raises(BenchError, match="unsure of every one"):
        confidence_filter(logits[1:3], TransferOptions(min_confidence=0.99), 0)


# -- tang (the real spaCy tagger, small inputs) ---------------------------------------------------

SENTENCES = [
    "the film is a charming and funny story",
    "the acting was dull and the plot was tedious",
    "a warm movie with a sharp script",
    "this story is boring",
]


@pytest.fixture(scope="module")
def tagged():
    return tag(SENTENCES)


def test_tang_tags_once_and_keeps_the_text(tagged):
    assert len(tagged.tokens) == len(SENTENCES)
    for text, tokens, spaces in zip(SENTENCES, tagged.tokens, tagged.spaces, strict=True):
        assert "".join(t + s for t, s in zip(tokens, spaces, strict=True)) == text
    tags = dict(zip(tagged.tokens[0], (tagged.tag_names[t] for t in tagged.tags[0]), strict=True))
    assert tags["film"] == "NN" and tags["charming"] == "JJ" and tags["is"] == "VBZ"
    # no rule fires: every sample is its sentence
    texts, origins = tang_augment(tagged, n_iter=2, p_mask=0, p_pos=0, p_ng=0)
    assert texts == [s for s in SENTENCES for _ in range(2)]
    assert origins == [0, 0, 1, 1, 2, 2, 3, 3]


def test_tang_masks_replaces_by_pos_and_cuts_ngrams(tagged):
    masked, _ = tang_augment(tagged, n_iter=1, p_mask=1.0, p_pos=0, p_ng=0)
    assert masked[3] == " ".join([MASK] * 4)
    # every word replaced by a training word with the same tag
    replaced, _ = tang_augment(tagged, n_iter=30, p_mask=0, p_pos=1.0, p_ng=0, seed=1)
    words_of = {}
    for tokens, tags in zip(tagged.tokens, tagged.tags, strict=True):
        for word, t in zip(tokens, tags, strict=True):
            words_of.setdefault(t, set()).add(word)
    for k, text in enumerate(replaced):
        tags = tagged.tags[k // 30]
        assert [w in words_of[t] for w, t in zip(text.split(), tags, strict=True)] == [True] * len(
            tags
        )
    assert len(set(replaced)) > 20  # not a copy of the sentence
    grams, _ = tang_augment(tagged, n_iter=50, p_mask=0, p_pos=0, p_ng=1.0, max_ngram=3)
    for k, text in enumerate(grams):
        sentence = SENTENCES[k // 50]
        assert 1 <= len(text.split()) <= 3 and text in sentence
    # defaults from the paper; seeded
    a, _ = tang_augment(tagged, seed=5)
    b, _ = tang_augment(tagged, seed=5)
    assert a == b and len(a) == 20 * len(SENTENCES)


def test_tang_plugin_builds_from_the_labelled_set():
    task = make_task([(s, i % 2) for i, s in enumerate(SENTENCES)])
    spec = load_registry().get("augmenters", "tang")
    own, options = split_options(spec, spec.resolve({"n_iter": 5}, "test"))
    transfer, info = make_transfer_set("tang", spec.factory(own), AugmentContext(task, 0), options)
    assert info["generated"] == 5 * len(SENTENCES)
    assert transfer.origins[:4] == (0, 1, 2, 3)
    assert all(0 <= o < 4 for o in transfer.origins)
    assert set(transfer.labels[4:]) == {UNLABELLED}


# -- eda -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wordpiece(tiny_teacher_dir):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tiny_teacher_dir / "tokenizer.json"))


def test_embedding_synonyms_are_nearest_whole_words(wordpiece):
    vocab = wordpiece.get_vocab()
    rng = np.random.default_rng(0)
    table = rng.normal(size=(len(vocab), 8)).astype(np.float32)
    # "great" sits next to "good", and so does a special token: only the word may come back
    table[vocab["great"]] = table[vocab["good"]] + 0.01
    table[vocab["[MASK]"]] = table[vocab["good"]] + 0.001
    synonyms = EmbeddingSynonyms(wordpiece, table, neighbours=3)
    near = synonyms("good")
    assert near[0] == "great" and "good" not in near and len(near) == 3
    assert all(w.isalpha() and w in vocab for w in near)
    assert synonyms("the") == ()  # a stop word
    assert synonyms("zzzunknown") == ()  # not a whole word of the vocabulary


def test_eda_operations(wordpiece):
    import random

    rng = random.Random(0)
    words = "the film is a charming story".split()
    assert sorted(random_swap(words, 2, rng)) == sorted(words)
    assert random_deletion(["only"], 1.0, rng) == ["only"]
    assert len(random_deletion(words, 1.0, rng)) == 1  # one word always survives
    table = np.random.default_rng(1).normal(size=(wordpiece.get_vocab_size(), 8))
    synonyms = EmbeddingSynonyms(wordpiece, table.astype(np.float32), neighbours=2)
    texts, origins = eda_augment(SENTENCES, synonyms, n_aug=6, seed=0)
    assert len(texts) == 6 * len(SENTENCES) and origins == [i for i in range(4) for _ in range(6)]
    assert len(set(texts)) > len(SENTENCES)


def test_eda_reads_the_teacher_only_through_needs_teacher():
    spec = load_registry().get("augmenters", "eda")
    assert spec.needs_teacher
    task = make_task(TRAIN)
    own, options = split_options(spec, spec.resolve({}, "test"))
    with pytest.raises(BenchError, match="needs_teacher"):
        make_transfer_set("eda", spec.factory(own), AugmentContext(task, 0), options)


# -- unlabeled -------------------------------------------------------------------------------------


def test_unlabeled_draws_the_datasets_own_pool():
    task = low_resource(make_task(TRAIN), max_labeled=4, seed=0)
    spec = load_registry().get("augmenters", "unlabeled")
    own, options = split_options(spec, spec.resolve({}, "test"))
    transfer, _ = make_transfer_set(
        "unlabeled", spec.factory(own), AugmentContext(task, 0), options
    )
    assert transfer.composition == (("labelled", 4), ("unlabeled", 6))
    assert set(transfer.texts) == {t for t, _ in TRAIN}
    with pytest.raises(BenchError, match="no unlabelled pool"):
        make_transfer_set(
            "unlabeled", spec.factory(own), AugmentContext(make_task(TRAIN), 0), options
        )
    with pytest.raises(BenchError, match="option 'corpus' must be one of"):
        spec.resolve({"corpus": "wikipedia"}, "test")


# -- plan: shared across teachers unless the augmenter reads the teacher ----------------------------


def test_transfer_key_includes_the_teacher_only_when_the_augmenter_needs_it(tiny_teacher_dir):
    from distill_bench.matrix.model import parse_matrix
    from distill_bench.matrix.plan import make_plan

    text = f"""
datasets = ["sst2"]
teachers = ["minilm-l6", {{plugin = "hf", name = "tiny", model = "{tiny_teacher_dir}"}}]
students = ["mlp"]
losses = ["kd-soft"]
augmenters = ["tang", "eda", {{name = "tang-sure", plugin = "tang", min_confidence = 0.9}}]
seeds = [0]
"""
    plan = make_plan(parse_matrix(text), load_registry())
    keys = {}
    for cell in plan.cells:
        keys.setdefault(cell.augmenter.name, set()).add(cell.transfer_key)
    assert len(keys["tang"]) == 1 and len(keys["eda"]) == 2
    assert keys["tang-sure"] == keys["tang"]  # the filter is the student stage's business


# -- preview -----------------------------------------------------------------------------------------


def test_preview_prints_originals_next_to_augmentations(bench_env, capsys):
    assert main(["augment", "preview", "tang", "--dataset", "sst2", "-n", "2", "--pool", "50",
                 "-o", "n_iter=4"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "original" in out and "augmentations" in out and "tang on sst2" in out
    words = set(POSITIVE + NEGATIVE + FILLER)
    assert any(w in out for w in words)


def test_preview_errors_are_one_line(bench_env, capsys):
    assert main(["augment", "preview", "nope", "--dataset", "sst2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown augmenter 'nope'" in err and "tang" in err
    assert main(["augment", "preview", "tang", "-o", "p_mas=0.2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown option 'p_mas'" in err


def test_filtered_transfer_sets_read_teacher_features_at_their_annotated_positions():
    from distill_bench.stages.transfer.build import IndexedFeatures

    class Recorder:
        def batch(self, indices, device):
            return {"indices": list(indices)}

    logits = np.array([[2.0, -2.0], [0.0, 0.0], [-2.0, 2.0], [0.0, 0.01]], np.float32)
    kept, _ = confidence_filter(logits, TransferOptions(min_confidence=0.9), seed=0)
    assert IndexedFeatures(Recorder(), kept).batch([0, 1], None) == {"indices": [0, 2]}
