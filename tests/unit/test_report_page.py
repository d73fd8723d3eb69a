"""The leaderboard page: which stored rows it shows, where it and its plots are written,
and how the markdown links the plots."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from distill_bench.matrix.components import Component
from distill_bench.matrix.model import Budget, Matrix, MeasureConfig
from distill_bench.report.page import (
    planned_rows,
    preamble,
    student_schedules,
    write_leaderboard,
)

from tests.helpers import measurements, row


@pytest.fixture
def rows():
    return [
        row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0)),
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0, p50=0.5)),
        row("student", "mlp", 0.70, measurements(1_000_000, 1000.0, p50=0.5), seed=1),
    ]


def student(name: str, **options) -> Component:
    return Component("students", name, name, tuple(sorted(options.items())))


def fake_plan(planned_keys, students=None):
    students = students or (student("mlp"),)
    matrix = Matrix(
        name="m",
        path="benchmarks/m.toml",
        axes={},
        seeds=(0,),
        budget=Budget(),
        measure=MeasureConfig(),
        description="a test matrix",
    )
    cells = tuple(
        SimpleNamespace(key=k, student=students[i % len(students)])
        for i, k in enumerate(planned_keys)
    )
    return SimpleNamespace(matrix=matrix, cells=cells, teacher_rows=(), dropped=())


class FakeStore:
    def __init__(self, rows):
        self._rows = rows

    def rows(self, matrix=None):
        return [r for r in self._rows if matrix is None or r.matrix == matrix]


def test_planned_rows_leave_out_other_configurations(rows):
    plan = fake_plan([r.key for r in rows[:2]])
    shown, others = planned_rows(plan, FakeStore(rows))
    assert shown == rows[:2] and others == 1


def test_markdown_goes_to_leaderboards_with_png_plots_beside_it(rows, tmp_path):
    plan = fake_plan([r.key for r in rows])
    written = write_leaderboard(plan, FakeStore(rows), results_dir=tmp_path)
    assert written.path == tmp_path / "leaderboards" / "m.md" and written.fmt == "md"
    assert written.rows == rows and written.other_rows == 0 and written.plots_note == ""
    page = written.path.read_text()
    assert page.startswith("# Leaderboard: m\n\nMatrix `benchmarks/m.toml`: a test matrix")
    plots = sorted((tmp_path / "leaderboards" / "plots").iterdir())
    assert [p.suffix for p in plots] == [".png"] * 3  # SVG only when asked
    for p in plots:
        assert f"](plots/{p.name})" in page  # linked relative to the page
    assert sorted(p.name for p in (tmp_path / "leaderboards").iterdir()) == [
        "m.md",
        "m.rows.json",
        "plots",
    ]


def test_svg_when_asked_and_no_plots_when_not_wanted(rows, tmp_path):
    plan = fake_plan([r.key for r in rows])
    write_leaderboard(plan, FakeStore(rows), results_dir=tmp_path / "a", svg=True)
    suffixes = sorted(p.suffix for p in (tmp_path / "a" / "leaderboards" / "plots").iterdir())
    assert suffixes == [".png"] * 3 + [".svg"] * 3
    written = write_leaderboard(plan, FakeStore(rows), results_dir=tmp_path / "b", plots=False)
    assert "## Plots" not in written.path.read_text()
    assert not (tmp_path / "b" / "leaderboards" / "plots").exists()


def test_csv_and_json_go_to_leaderboards_without_plots(rows, tmp_path):
    plan = fake_plan([r.key for r in rows])
    for fmt in ("csv", "json"):
        written = write_leaderboard(plan, FakeStore(rows), results_dir=tmp_path, fmt=fmt)
        assert written.path == tmp_path / "leaderboards" / f"m.{fmt}"
    assert json.loads((tmp_path / "leaderboards" / "m.json").read_text())[0]["dataset"] == "sst2"
    assert not (tmp_path / "leaderboards" / "plots").exists()


def test_preamble_says_how_to_reproduce(rows):
    text = preamble(fake_plan([]), rows)
    assert "Reproduce: `bench run --matrix benchmarks/m.toml`" in text
    assert "seeds [0]" in text


def test_budget_line_says_each_students_own_epochs_and_rate():
    """A pretrained student sets its own epochs and rate: the header must not print the
    budget's for it (it did, for intel-emotion-tinybert's MiniLM-L6)."""
    budget = f"students {Budget().student_epochs} epochs at lr {Budget().student_lr:g}"
    plain = fake_plan(["a", "b"], (student("mlp"), student("bilstm", epochs=0)))
    assert student_schedules(plain) == budget
    assert student_schedules(fake_plan([])) == budget
    own = fake_plan(
        ["a", "b", "c"], (student("mlp"), student("minilm", epochs=2, learning_rate=5e-5))
    )
    assert student_schedules(own) == (
        f"students {Budget().student_epochs} epochs at lr {Budget().student_lr:g} (mlp), "
        "2 epochs at lr 5e-05 (minilm)"
    )
    assert "2 epochs at lr 5e-05 (minilm), max length" in preamble(own, [])
