"""Conneau et al.'s probe sets as ``stages.probe.tasks`` builds them: each construction on
sentences spaCy parses, the balancing, the splits, and the cues a modification must not leave."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from distill_bench.stages.probe import tasks
from distill_bench.stages.probe.modified import bigram_shift, coordination_inversion, odd_man_out
from distill_bench.stages.probe.parse import parse, sample_pool
from distill_bench.stages.probe.sentence import Token, depth, text_of
from distill_bench.stages.probe.tasks import PROBES, ProbeSet, build_probe_sets


@pytest.fixture(scope="module")
def nlp():
    from distill_bench.stages.probe.parse import load_parser

    return load_parser()


def one(nlp, text):
    (sentence,) = parse([text], nlp)
    return sentence


def test_text_of_gives_back_the_text_spacy_read(nlp):
    for text in ("I didn't see it, but she did.", "the film , sadly , is n't funny ."):
        assert text_of(one(nlp, text)) == text


def test_a_bigram_shift_swaps_two_adjacent_words_and_keeps_the_spaces(nlp):
    s = one(nlp, "The old man sold his small boat yesterday.")
    shifted = bigram_shift(s, random.Random(0))
    assert shifted != text_of(s) and shifted.endswith(".")
    assert sorted(shifted.rstrip(".").split()) == sorted(text_of(s).rstrip(".").split())
    diffs = [
        i
        for i, (a, b) in enumerate(zip(shifted.split(), text_of(s).split(), strict=True))
        if a != b
    ]
    assert len(diffs) == 2 and diffs[1] == diffs[0] + 1
    assert bigram_shift(one(nlp, "Go home."), random.Random(0)) is None  # under 4 words


def test_coordination_inversion_swaps_the_clauses_in_the_corpus_style(nlp):
    cased = one(nlp, "Fanny loved Edmund, but Henry loved Fanny.")
    assert (
        coordination_inversion(cased, random.Random(0))
        == "Henry loved Fanny, but Fanny loved Edmund."
    )
    # a lowercased, space-before-punctuation corpus (SST-2) stays that way: no cue in the form
    lower = one(nlp, "the plot is thin , but the actors are superb .")
    assert (
        coordination_inversion(lower, random.Random(0))
        == "the actors are superb , but the plot is thin ."
    )
    contraction = one(nlp, "She didn't notice, but I threw the ball.")
    assert "didn't" in coordination_inversion(contraction, random.Random(0))
    # one subject for both verbs: not two clauses
    assert (
        coordination_inversion(one(nlp, "He sang and danced all night."), random.Random(0)) is None
    )


def test_odd_man_out_swaps_in_a_word_of_the_same_tag_and_case(nlp):
    s = one(nlp, "Dogs chase the cat.")
    pool = {"NNS": {"dogs": 3, "birds": 4}, "NN": {"cat": 2, "hat": 2}, "VBP": {"chase": 1}}
    replaced = odd_man_out(pool)(s, random.Random(0))
    assert replaced in ("Birds chase the cat.", "Dogs chase the hat.")


def test_labels_of_the_sentence_properties(nlp):
    label = lambda fn, text: fn(one(nlp, text))[1]  # noqa: E731
    assert label(tasks._tense_label, "He walked home.") == "past"
    assert label(tasks._tense_label, "He walks home.") == "present"
    assert label(tasks._tense_label, "She has eaten the cake.") == "present"
    number = tasks._number_label(frozenset({"nsubj", "nsubjpass"}))
    assert label(number, "The dogs are barking loudly.") == "plural"
    assert label(number, "The dog barks.") == "singular"
    assert number(one(nlp, "They are barking loudly.")) is None  # a pronoun: no tag for number
    assert label(tasks._number_label(frozenset({"dobj"})), "I fed the cats.") == "plural"
    assert label(tasks._top_label, "The dog chased the cat.") == "nsubj ROOT dobj"
    assert depth(one(nlp, "The dog barks.")) == 3  # barks <- dog <- The


def _sentence(i: int) -> tuple[Token, ...]:
    """Synthetic parsed sentences: subject, verb (past or present), adverb, object, period."""
    verb = ("walked", "VBD") if i % 3 else ("walks", "VBZ")
    noun = ("dogs", "NNS") if i % 2 else ("dog", "NN")
    return (
        Token(f"{noun[0]}{i % 7}", noun[1], "NOUN", "nsubj", 1),
        Token(verb[0], verb[1], "VERB", "ROOT", 1),
        Token("quickly", "RB", "ADV", "advmod", 1),
        Token(f"home{i % 5}", "NN", "NOUN", "dobj", 1, space=False),
        Token(".", ".", "PUNCT", "punct", 1, space=False),
    )


def test_every_set_is_balanced_and_split_80_10_10_within_each_class():
    pool = [_sentence(i) for i in range(600)]
    sets = build_probe_sets(pool, per_probe=400, seed=0, probes=("tense", "subject_number"))
    for s in sets.values():
        counts = Counter(s.labels)
        assert len(counts) == 2 and len(set(counts.values())) == 1, counts
        assert len(s.texts) <= 400
        for label in counts:
            split = Counter(sp for sp, y in zip(s.split, s.labels, strict=True) if y == label)
            assert split["dev"] == split["test"] == counts[label] // 10


def test_a_probe_without_two_classes_says_why():
    pool = [_sentence(3 * i + 1) for i in range(100)]  # every verb past tense
    s = build_probe_sets(pool, per_probe=400, seed=0, probes=("tense",))["tense"]
    assert s.texts == () and "fewer than 2 classes" in s.note and "past: " in s.note


def test_probe_sets_are_a_function_of_the_seed():
    pool = [_sentence(i) for i in range(300)]
    a = build_probe_sets(pool, 200, seed=1, probes=("bigram_shift", "tense"))
    assert a == build_probe_sets(pool, 200, seed=1, probes=("bigram_shift", "tense"))
    assert a != build_probe_sets(pool, 200, seed=2, probes=("bigram_shift", "tense"))


def test_the_modified_tasks_modify_exactly_half():
    pool = [_sentence(i) for i in range(301)]
    s: ProbeSet = build_probe_sets(pool, 10_000, seed=0, probes=("bigram_shift",))["bigram_shift"]
    assert Counter(s.labels)[0] == Counter(s.labels)[1] > 100
    assert s.label_names == ("original", "shifted")


def test_the_pool_is_distinct_texts_drawn_by_seed():
    texts = ["a b", "a b", " ", "c d", "e f"]
    assert sorted(sample_pool(texts, 10, 0)) == ["a b", "c d", "e f"]
    assert (
        sample_pool(texts, 2, 0) == sample_pool(texts, 2, 0) and len(sample_pool(texts, 2, 0)) == 2
    )


def test_the_ten_probes_are_named_once():
    assert len(PROBES) == len(set(PROBES)) == 10
