"""Teacher assistants (``[assistants]``, Mirzadeh et al. 2019): a student also learns from
another student cell of the same matrix; what the file accepts, what the planner builds."""

from __future__ import annotations

import pytest
from distill_bench import BenchError
from distill_bench.matrix.model import Assistant, parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import load_registry

MATRIX = """
datasets = ["sst2"]
teachers = ["minilm-l6"]
students = ["mlp", "bilstm"]
losses = ["ce-hard", "kd-soft", "hidden-mse"]
augmenters = ["none"]
seeds = [0, 1]
{extra}
"""
LINK = '[assistants]\nmlp = {student = "bilstm", loss = "kd-soft"}\n'


def plan(extra: str = LINK):
    return make_plan(parse_matrix(MATRIX.format(extra=extra), "m.toml"), load_registry())


def test_the_file_names_each_link():
    m = parse_matrix(MATRIX.format(extra=LINK), "m.toml")
    assert m.assistants == (Assistant("mlp", "bilstm", "kd-soft"),)
    assert parse_matrix(MATRIX.format(extra=""), "m.toml").assistants == ()


@pytest.mark.parametrize(
    "link, message",
    [
        ('mlp = {student = "cnn", loss = "kd-soft"}', "'cnn' is no student entry"),
        ('mlp = {student = "bilstm", loss = "mse"}', "'mse' is no loss entry"),
        ('cnn = {student = "bilstm", loss = "kd-soft"}', "'cnn' is no student entry"),
        ('mlp = {student = "mlp", loss = "kd-soft"}', "cannot be its own assistant"),
        ('mlp = "bilstm"', "must be {student = NAME, loss = NAME}"),
        (
            'mlp = {student = "bilstm", loss = "kd-soft"}\nbilstm = {student = "mlp", loss = "kd-soft"}',
            "has an assistant itself; one link only",
        ),
    ],
)
def test_a_bad_link_is_one_line_naming_it(link, message):
    with pytest.raises(BenchError, match=message) as info:
        parse_matrix(MATRIX.format(extra=f"[assistants]\n{link}\n"), "m.toml")
    assert str(info.value).startswith("m.toml: [assistants].") and "\n" not in str(info.value)


def test_the_chained_student_learns_from_its_assistants_cell_of_the_same_seed():
    p = plan()
    chained = [c for c in p.cells if c.assistant is not None]
    assert {(c.student.name, c.loss.name) for c in chained} == {("mlp via bilstm", "kd-soft")}
    for c in chained:
        helper = c.assistant
        assert (helper.student.name, helper.loss.name, helper.seed) == ("bilstm", "kd-soft", c.seed)
        stage = next(s for s in p.stages if s.key == c.annotate_key)
        assert stage.kind == "annotate" and stage.deps == (helper.student_key, c.transfer_key)
        direct = next(
            d for d in p.cells
            if (d.student.name, d.loss.name, d.seed) == ("mlp", "kd-soft", c.seed)
        )  # fmt: skip
        assert c.student_key != direct.student_key and c.key != direct.key
        assert c.student.config() == direct.student.config()  # the same student, retaught
    # hidden-mse reads the teacher's layers: dropped with the reason; ce-hard has no teacher
    # to replace: no chained cell, and no line in the report either
    reasons = {d.label.split("[")[1].split(",")[0]: d.reason for d in p.dropped if "via" in d.label}
    assert (
        set(reasons) == {"hidden-mse"} and "an assistant gives logits only" in reasons["hidden-mse"]
    )


def test_a_plan_without_assistants_keeps_its_keys():
    before = {c.key for c in plan("").cells}
    assert before < {c.key for c in plan().cells}


def test_a_chained_student_is_measured_against_the_same_student_taught_directly():
    from distill_bench.report.entries import DIRECT, leaderboards
    from distill_bench.report.render import ASSISTANT_LEGEND, render_markdown

    from tests.helpers import measurements, row

    m = measurements(1000, 100.0)
    rows = [row("teacher", "", 0.9, measurements(10_000, 10.0))]
    for seed in range(3):
        rows += [
            row("student", "mlp", 0.70 + 0.01 * seed, m, seed=seed),
            row("student", "mlp", 0.60, m, loss="ce-hard", seed=seed),
            row("student", "mlp via bilstm", 0.74 + 0.01 * seed, m, seed=seed),
        ]
    entries = {(e.student, e.loss): e for e in leaderboards(rows)["sst2"]}
    chained = entries["mlp via bilstm", "kd-soft"]
    assert chained.gain_vs == DIRECT and chained.gain.mean == pytest.approx(4.0)
    assert entries["mlp", "kd-soft"].gain_vs == "" and entries[
        "mlp", "kd-soft"
    ].gain.mean == pytest.approx(11.0)
    page = render_markdown("t", rows)
    assert "+4.0" in page and " vs direct" in page and ASSISTANT_LEGEND in page
    assert ASSISTANT_LEGEND not in render_markdown("t", [r for r in rows if "via" not in r.student])
