"""bench report --where / --best: the best student under constraints, its ties, the costs."""

from __future__ import annotations

import pytest
from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.entries import leaderboards
from distill_bench.report.pick import parse_where, pick, pick_lines

from tests.helpers import measurements, row


def seeded(student, loss, scores, params, p50):
    return [
        row("student", student, v, measurements(params, 1000.0, p50=p50), loss=loss, seed=s)
        for s, v in enumerate(scores)
    ]


@pytest.fixture
def boards():
    return leaderboards(
        [row("teacher", "", 0.90, measurements(22_000_000, 100.0, p50=8.0))]
        + seeded("mlp", "ce-hard", [0.70, 0.71, 0.72], 140_000, 0.2)
        + seeded("mlp", "kd-soft", [0.74, 0.75, 0.76], 140_000, 0.2)
        + seeded("mlp", "mse-logits", [0.73, 0.77, 0.75], 140_000, 0.2)  # within kd-soft's noise
        + seeded("bilstm", "kd-soft", [0.83, 0.84, 0.85], 660_000, 0.6)
        + seeded("transformer", "kd-soft", [0.88, 0.88, 0.89], 5_000_000, 3.0)
    )


def test_conditions_read_columns_operators_and_suffixes():
    (a, b) = parse_where("latency_p50 <= 1 and params_no_emb < 1.5M")
    assert (a.column, a.op, a.value) == ("latency_p50", "<=", 1.0)
    assert (b.column, b.op, b.value) == ("params_no_emb", "<", 1_500_000.0)
    assert parse_where("params >= 20k")[0].value == 20_000


def test_the_best_under_a_budget_its_ties_and_what_each_condition_costs(boards):
    conditions = parse_where("latency_p50 <= 1 and params_no_emb <= 200k")
    (answer,) = pick(boards, conditions)
    assert (answer.best.student, answer.best.loss) == ("mlp", "kd-soft")
    assert answer.candidates == 3
    assert [(e.student, e.loss) for e in answer.ties] == [("mlp", "mse-logits")]
    costs = dict((c.column, e) for c, e in answer.costs)
    assert costs["latency_p50"] is None  # dropping it alone admits nothing better
    assert costs["params_no_emb"].student == "bilstm"  # the bigger budget buys the BiLSTM
    lines = pick_lines([answer], conditions, "score")
    assert lines[0].startswith("sst2: best by score under latency_p50 <= 1 and params_no_emb")
    assert "mlp [kd-soft, none]" in lines[0]
    assert any(line.startswith("  without params_no_emb <= 200k: bilstm") for line in lines)


def test_lower_is_better_columns_pick_the_smallest(boards):
    (answer,) = pick(boards, parse_where("score >= 80"), best="latency_p50")
    assert answer.best.student == "bilstm" and answer.ties == ()  # ties: for score only


def test_an_impossible_budget_says_so(boards):
    (answer,) = pick(boards, parse_where("latency_p50 < 0.1"))
    assert answer.best is None
    assert pick_lines([answer], parse_where("latency_p50 < 0.1"), "score") == [
        "sst2: no student meets latency_p50 < 0.1"
    ]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("latncy_p50 <= 1", "--where: unknown column 'latncy_p50'"),
        ("latency_p50 <= fast", "--where: 'latency_p50 <= fast' is not a condition"),
        ("latency_p50 <= 1 or score > 2", "is not a condition; expected COLUMN OP NUMBER"),
        ("", "--where: '' is not a condition"),
    ],
)
def test_bad_conditions_are_one_line_errors(where, message):
    with pytest.raises(BenchError) as info:
        parse_where(where)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_best_column_is_refused(boards):
    with pytest.raises(BenchError, match="--best: unknown column 'fastest'"):
        pick(boards, (), best="fastest")
