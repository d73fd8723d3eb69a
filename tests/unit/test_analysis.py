"""Error analysis from stored predictions: each student against the teacher it learnt
from, by slice of the evaluation split; hand-built predictions, so every figure is known."""

from __future__ import annotations

import numpy as np
import pytest
from distill_bench.analysis.errors import (
    Group,
    Runs,
    confusion_changes,
    disagreements,
    group_scores,
    length_groups,
    own_teacher,
    teacher_errors,
)
from distill_bench.analysis.page import Evaluation, analysis_markdown
from distill_bench.plugin_api.metrics import accuracy

from tests.helpers import measurements, row

GOLD = np.array([0, 0, 1, 1, 1, 0])
TEACHERS = Runs(
    "(teacher)", {(0, 0): np.array([0, 0, 1, 1, 0, 1]), (1, 1): np.array([0, 1, 1, 1, 1, 0])}
)


def test_a_student_run_is_read_against_its_own_teacher_seed():
    student = Runs(
        "s", {(0, 0): np.array([0, 0, 1, 0, 0, 0]), (1, 0): np.array([0, 1, 1, 1, 1, 1])}
    )
    assert own_teacher(TEACHERS, (1, 0)) is TEACHERS.by_unit[(1, 1)]
    e = teacher_errors(GOLD, TEACHERS, student)
    # teacher 0 errs on 4, 5; run (0, 0) repeats 4, fixes 5 and errs on 1 of the 4 it got right
    # teacher 1 errs on 1; run (1, 0) repeats it, and errs on 1 of the 5 it got right
    assert e.teacher_errors == 1.5
    assert e.repeated.mean == pytest.approx((50 + 100) / 2) and e.fixed == pytest.approx(25)
    assert e.new_errors.mean == pytest.approx((25 + 20) / 2) and e.repeated.teachers == 2
    [(score, agree)] = group_scores(GOLD, TEACHERS, student, [Group("all", np.arange(6))], accuracy)
    assert score.mean == pytest.approx(100 * 4 / 6) and score.n == 2
    assert score.teachers == 2 and score.low == pytest.approx(score.mean)  # both runs 4/6
    assert agree == pytest.approx(100 * (4 / 6 + 5 / 6) / 2)
    assert (
        group_scores(GOLD, TEACHERS, TEACHERS, [Group("all", np.arange(6))], accuracy)[0][1] is None
    )


def test_length_groups_are_equal_count_slices_by_words():
    texts = ["a", "a b c d", "a b", "a b c", "a b c d e f", "a b c d e"]
    groups = length_groups(texts, bins=3)
    assert [g.name for g in groups] == ["1-2 words", "3-4 words", "5-6 words"]
    assert [g.index.tolist() for g in groups] == [[0, 2], [1, 3], [4, 5]]


def test_confusions_fixed_and_added_and_disagreement_examples():
    gold = np.array([0, 0, 1, 2, 2, 2])
    base = Runs("b", {(0, 0): np.array([1, 1, 1, 2, 2, 0])})
    other = Runs("o", {(0, 0): np.array([0, 0, 1, 1, 1, 0])})
    names = ("a", "b", "c")
    assert confusion_changes(gold, base, other, names) == [
        ("a -> b", 2.0, 0.0),
        ("c -> b", 0.0, 2.0),
    ]
    teacher = Runs("(teacher)", {(0, 0): np.array([0, 1, 1, 2, 0, 0])})
    assert disagreements(gold, teacher, other) == ([3], [1])


def _rows():
    gold = [0, 1, 0, 1]
    rows = [row("teacher", "", 0.75, measurements(100, 1.0))]
    rows[0].metrics.update(eval_labels=gold, eval_predictions=[0, 1, 1, 1])
    for loss, pred in (("ce-hard", [1, 1, 1, 1]), ("kd-soft", [0, 1, 0, 0])):
        r = row("student", "mlp", 0.5, measurements(10, 9.0), loss=loss)
        r.metrics.update(eval_labels=gold, eval_predictions=pred)
        rows.append(r)
    return rows


def test_the_page_has_each_section_and_shows_pairs_readably():
    texts = ("good film", "long and dull film indeed", "fine", "bad\x1fpair side")
    page = analysis_markdown(
        "m", "m.toml", {"sst2": Evaluation("sst2", texts, ("neg", "pos"), "accuracy")}, _rows()
    )
    for heading in (
        "## sst2",
        "### By length",
        "### By gold label",
        "### The teacher's errors",
        "### Examples",
    ):
        assert heading in page
    assert "| mlp / kd-soft / none | 1 | 0.0 | 100.0 | 33.3 |" in page  # one teacher error
    assert '"bad ⟂ pair side" (pos)' in page
    assert "### In-domain" not in page  # CoLA's dev halves only


def test_cola_phenomena_are_word_patterns_and_a_rule_without_sentences_is_said():
    from distill_bench.analysis.errors import phenomenon_groups

    texts = ["Marianne did not leave.", "Who did John see?", "The cake was eaten by Sue.",
             "She likes herself.", "Bill is taller than Sue.", "Every cat sleeps."]  # fmt: skip
    found = {g.name: g.index.tolist() for g in phenomenon_groups(texts)}
    assert found["negation"] == [0] and found["wh-question"] == [1] and found["passive"] == [2]
    assert found["reflexive"] == [3] and found["comparative"] == [4]
    assert found["quantifier"] == [5] and found["modal or auxiliary"] == [0, 1]
    gold = [1, 0, 1, 1, 1, 1]
    # an entry named otherwise still gets CoLA's slices: they follow the plugin
    rows = [row("teacher", "", 0.5, measurements(100, 1.0), dataset="acceptability")]
    rows[0].metrics.update(eval_labels=gold, eval_predictions=[1] * 6)
    student = row("student", "mlp", 0.5, measurements(10, 9.0), dataset="acceptability")
    student.metrics.update(eval_labels=gold, eval_predictions=[1, 1, 1, 0, 1, 1])
    cola = Evaluation(
        "acceptability", tuple(texts[:1] * 6), ("unacceptable", "acceptable"), "mcc", "cola"
    )
    page = analysis_markdown("m", "m.toml", {"acceptability": cola}, [rows[0], student])
    assert "### By phenomenon" in page and "| negation (n=6) |" in page
    assert "No evaluation sentence matches the rules for: wh-question, passive" in page
