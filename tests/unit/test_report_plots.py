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
    assert [path for _, path in links] == [f"tiny-{f[0]}.png" for f in FIGURES]
    for (_, path), figure in zip(links, FIGURES, strict=True):
        png = tmp_path / path
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = png.with_suffix(".svg").read_text()
        assert "<svg" in svg and "teacher tiny-bert" in svg and "sst2" in svg and "cola" in svg
        has_frontier = figure[-1] is not None
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
