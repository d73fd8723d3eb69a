"""``--cell``'s selector: --where's conditions plus the names of a cell (pure parsing)."""

from __future__ import annotations

import pytest
from distill_bench import BenchError
from distill_bench.report.pick import Condition
from distill_bench.report.select import FieldCondition, parse_selector


def test_names_seeds_and_leaderboard_columns_parse():
    found = parse_selector(
        "dataset = sst2 and student == 'bilstm-64' and loss != \"ce-hard\" and seed = 0 "
        "and teacher_seed >= 1 and params_no_emb <= 1M"
    )
    assert found[:5] == (
        FieldCondition("dataset", "==", "sst2", "dataset = sst2"),
        FieldCondition("student", "==", "bilstm-64", "student == 'bilstm-64'"),
        FieldCondition("loss", "!=", "ce-hard", 'loss != "ce-hard"'),
        FieldCondition("seed", "==", 0, "seed = 0"),
        FieldCondition("teacher_seed", ">=", 1, "teacher_seed >= 1"),
    )
    assert found[5] == Condition("params_no_emb", "<=", 1e6, "params_no_emb <= 1M")


@pytest.mark.parametrize(
    "text, message",
    [
        ("colour = red", "--cell: unknown column 'colour' (cell fields: dataset, teacher"),
        ("student < bilstm", "--cell: 'student < bilstm': student is a name; compare it with ="),
        ("seed = first", "--cell: 'seed = first': seed is an integer, got 'first'"),
        ("student = bilstm and", "--cell: 'student = bilstm and': student takes one name"),
        ("latency_p50 <= fast", "--cell: 'latency_p50 <= fast': column latency_p50 takes a number"),
        ("student bilstm", "--cell: 'student bilstm' is not a condition; expected NAME OP VALUE"),
    ],
)
def test_a_bad_selector_is_one_line_naming_the_option(text, message):
    with pytest.raises(BenchError) as caught:
        parse_selector(text)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
