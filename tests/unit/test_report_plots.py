"""Plots: a PNG per figure (and an SVG when asked), in the folder the page links them from."""

from __future__ import annotations

from distill_bench.report.plots import FIGURES, write_plots

from tests.helpers import measurements, row


def test_write_plots_png_and_svg_when_asked(tmp_path):
    rows = [
        row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0)),
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0, p50=0.5)),
        row("student", "bilstm", 0.84, measurements(2_000_000, 500.0, p50=1.0), loss="ce-hard"),
        row("student", "mlp", 0.60, measurements(1_000_000, 1000.0, p50=0.5), dataset="cola"),
        row("teacher", "", 0.50, measurements(4_000_000, 100.0, p50=8.0), dataset="cola"),
    ]
    links = write_plots(rows, tmp_path, "tiny", svg=True)
    # rows without a chance level: no retention figure
    drawn = [f for f in FIGURES if f[0] != "retention-vs-params"]
    assert [path for _, path in links] == [f"tiny-{f[0]}.png" for f in drawn]
    for (_, path), figure in zip(links, drawn, strict=True):
        png = tmp_path / path
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = png.with_suffix(".svg").read_text()
        assert "<svg" in svg and "teacher tiny-bert" in svg and "sst2" in svg and "cola" in svg
        has_frontier = figure[6] is not None
        assert ("Pareto frontier" in svg) == has_frontier
    assert write_plots([], tmp_path, "empty") == []


def test_write_plots_writes_svg_only_when_asked(tmp_path):
    rows = [
        row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0)),
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0, p50=0.5)),
    ]
    links = write_plots(rows, tmp_path, "tiny")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(path for _, path in links)
    assert not list(tmp_path.glob("*.svg"))


def test_every_figure_draws_each_points_interval(tmp_path):
    """Each figure's y interval brackets its point: the score's seeds + examples interval,
    carried through % of teacher and % above chance by the same ratio as the point."""
    from dataclasses import replace

    import numpy as np
    from distill_bench.report.entries import leaderboards

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 500)

    def with_predictions(r, right):
        pred = np.where(rng.random(500) < right, gold, 1 - gold)
        extra = {"eval_labels": gold.tolist(), "eval_predictions": pred.tolist(),
                 "chance": 0.5, "primary": float((pred == gold).mean())}  # fmt: skip
        return replace(r, metrics=r.metrics | extra)

    rows = [
        with_predictions(row("teacher", "", 0, measurements(4_000_000, 100.0)), 0.9),
        with_predictions(row("student", "mlp", 0, measurements(1_000_000, 1000.0)), 0.8),
    ]
    student = leaderboards(rows)["sst2"][1]
    for suffix, _, _, y, *_, bars in FIGURES:
        low, high = bars(student)
        assert low < y(student) < high, suffix
    # a teacher below chance (an untrained one) turns the retention ratio around
    rows[0] = with_predictions(row("teacher", "", 0, measurements(4_000_000, 100.0)), 0.3)
    student = next(e for e in leaderboards(rows)["sst2"] if e.role == "student")
    for suffix, _, _, y, *_, bars in FIGURES:
        low, high = bars(student)
        assert low <= y(student) <= high, suffix
    write_plots(rows, tmp_path, "below-chance")  # draws without a negative error bar


def test_a_student_keeps_its_colour_across_panels(tmp_path, monkeypatch):
    """The CoLA panel has a student the SST-2 panel lacks: colours still come from one map
    for the whole figure, so the MLP is the same colour in both panels."""
    from distill_bench.report import plots

    seen = []
    panel = plots._panel

    def recording(ax, entries, *args):
        students = {e.student for e in entries if e.role == "student"}
        seen.append({s: args[-1][s] for s in students})
        return panel(ax, entries, *args)

    monkeypatch.setattr(plots, "_panel", recording)
    rows = [
        row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0)),
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0, p50=0.5)),
        row("teacher", "", 0.50, measurements(4_000_000, 100.0, p50=8.0), dataset="cola"),
        row("student", "bilstm", 0.30, measurements(2_000_000, 500.0, p50=1.0), dataset="cola"),
        row("student", "mlp", 0.20, measurements(1_000_000, 1000.0, p50=0.5), dataset="cola"),
    ]
    write_plots(rows, tmp_path, "two-panels")
    assert len(seen) >= 2
    assert {panel["mlp"] for panel in seen} == {seen[0]["mlp"]}
    assert seen[0]["mlp"] != next(p["bilstm"] for p in seen if "bilstm" in p)
