"""Sentence pairs as strings, the intent-pairs task's draw, and planning's drops: pure,
no torch."""

from __future__ import annotations

import types

import pytest
from distill_bench import AugmenterSpec, BenchError, StudentSpec, hookimpl
from distill_bench.matrix.model import parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.pairs import (
    PAIR_SEP,
    is_pair_task,
    join_pair,
    split_pair,
    split_pairs,
)
from distill_bench.plugin_api.registry import collect, make_plugin_manager
from distill_bench.plugin_api.tasks import Split
from distill_bench.plugins.datasets.intent_pairs import PAIR_LABELS, draw_pairs


def test_a_pair_is_one_string_that_splits_back():
    text = join_pair("how do I top up?", "Can I add money?")
    assert split_pair(text) == ("how do I top up?", "Can I add money?")
    assert split_pair("a single sentence") is None
    assert is_pair_task([text]) and not is_pair_task(["plain"]) and not is_pair_task([])
    assert split_pairs([text, join_pair("a", "b")]) == (
        ["how do I top up?", "a"],
        ["Can I add money?", "b"],
    )
    assert split_pairs(["one", "two"]) is None


def test_mixed_texts_and_a_side_holding_the_separator_are_refused():
    with pytest.raises(BenchError, match=r"^transfer set: 1 of 2 are sentence pairs"):
        split_pairs([join_pair("a", "b"), "single"], "transfer set")
    with pytest.raises(BenchError, match=r"^texts: 1 of 2"):
        split_pairs(["single", join_pair("a", "b")])  # the first text does not decide
    with pytest.raises(BenchError, match="a side holds U\\+001F"):
        join_pair(f"a{PAIR_SEP}b", "c")


def _intents(n_intents: int, per_intent: int) -> Split:
    texts = tuple(
        f"utterance {k} of intent {i}" for i in range(n_intents) for k in range(per_intent)
    )
    labels = tuple(i for i in range(n_intents) for _ in range(per_intent))
    return Split("train", texts, labels)


def test_intent_pairs_are_balanced_distinct_and_seeded():
    split = _intents(10, 6)
    pairs = draw_pairs(split, 200, seed=0, name="intent-pairs")
    assert len(pairs) == 200 and sum(pairs.labels) == 100  # half "same"
    label_of = dict(zip(split.texts, split.labels, strict=True))
    keys = set()
    for text, y in zip(pairs.texts, pairs.labels, strict=True):
        a, b = split_pair(text)
        assert a != b and (label_of[a] == label_of[b]) == (PAIR_LABELS[y] == "same")
        keys.add(frozenset((a, b)))
    assert len(keys) == 200  # a pair and its swap count once
    assert draw_pairs(split, 200, 0, "intent-pairs") == pairs
    assert draw_pairs(split, 200, 1, "intent-pairs") != pairs


def test_intent_pairs_say_when_a_split_cannot_hold_them():
    with pytest.raises(BenchError, match="^dataset 'intent-pairs': split 'train' .* fewer than"):
        draw_pairs(_intents(2, 2), 50, 0, "intent-pairs")
    with pytest.raises(BenchError, match="too few utterances per intent"):
        draw_pairs(_intents(3, 1), 4, 0, "intent-pairs")


def _register_students(register):
    register(StudentSpec(name="one-sentence", factory=lambda o, c: None, pairs=False))


def _register_augmenters(register):
    register(AugmenterSpec(name="sentence-editor", factory=lambda o: None))  # pairs: False


PLUGIN = types.ModuleType("pairs_test_plugin")
PLUGIN.register_students = hookimpl(_register_students)
PLUGIN.register_augmenters = hookimpl(_register_augmenters)


def _plan(dataset: str, students: str, augmenters: str):
    registry = collect(make_plugin_manager(entrypoints=False, extra=[PLUGIN]))
    text = f"""
datasets = [{dataset}]
teachers = ["minilm-l6"]
students = [{students}]
losses = ["kd-soft"]
augmenters = [{augmenters}]
seeds = [0]
"""
    return make_plan(parse_matrix(text, "pairs.toml"), registry, "local:abc")


def test_planning_drops_what_cannot_take_pairs_with_the_reason():
    plan = _plan('"intent-pairs"', '"mlp", "bilstm", "one-sentence"', '"none", "sentence-editor"')
    assert sorted(c.student.name for c in plan.cells) == ["bilstm", "mlp"]
    reasons = {d.label: d.reason for d in plan.dropped}
    assert len(reasons) == 4
    assert any(
        r == "student 'one-sentence' reads single sentences, and dataset 'intent-pairs' gives "
        "sentence pairs"
        for r in reasons.values()
    )
    assert any(
        r.startswith("augmenter 'sentence-editor' edits single sentences") for r in reasons.values()
    )


def test_files_is_a_pair_task_only_when_it_names_a_pair_column():
    single = _plan('{plugin = "files", train = "t.csv"}', '"one-sentence"', '"sentence-editor"')
    assert len(single.cells) == 1 and not single.dropped
    paired = _plan(
        '{plugin = "files", train = "t.csv", text_pair = "second"}',
        '"one-sentence", "mlp"',
        '"none"',
    )
    assert [c.student.name for c in paired.cells] == ["mlp"] and len(paired.dropped) == 1


def test_pairs_read_with_a_visible_mark_in_the_augmenter_preview():
    import io

    from distill_bench.cli.augment import render
    from distill_bench.plugin_api.pairs import shown
    from distill_bench.stages.transfer.preview import Preview
    from rich.console import Console

    assert shown(join_pair("a b", "c")) == "a b ⟂ c" and shown("plain") == "plain"
    pair = join_pair("can I top up", "add money")
    buffer = io.StringIO()
    render(Preview("eda", "intent-pairs", 1, 1, ((pair, (join_pair("top up", "money"),)),)),
           Console(file=buffer, width=120))  # fmt: skip
    text = buffer.getvalue()
    assert "can I top up ⟂ add money" in text and "top up ⟂ money" in text and PAIR_SEP not in text
