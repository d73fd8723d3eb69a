"""Leaderboard plots (matplotlib, an optional extra: ``pip install distill-bench[plots]``).

Four figures per matrix, one panel per dataset, from the same entries as the tables:
score vs parameters and score vs CPU batch-1 latency with the Pareto frontier drawn,
(student score / teacher score) % vs parameters as in the Intel distillation study's figures,
and the same above chance ((student - chance) / (teacher - chance)), which puts accuracy
and MCC panels on one footing. Every point carries its 95% interval as an error bar (seeds
+ examples where the rows hold per-example predictions, else over seeds; the ratios scale
the score's interval by the teacher's score, whose own noise they leave out).
Each is written as PNG (and as SVG when asked) into the folder the caller names; the markdown
links the PNGs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.metrics import METRIC_LABELS
from distill_bench.report.entries import Entry, leaderboards
from distill_bench.store.results import ResultRow

PLOTS_INSTALL = 'pip install "distill-bench[plots]"  (matplotlib)'


def pyplot():
    """matplotlib's pyplot for files (Agg), with stable SVG output; a one-line error
    without the plots extra."""
    try:
        import matplotlib
    except ImportError:
        raise BenchError(f"plots need matplotlib: {PLOTS_INSTALL}") from None
    matplotlib.use("Agg")  # files only, no display
    matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text: small and searchable
    matplotlib.rcParams["svg.hashsalt"] = "distill-bench"  # stable ids: same rows, same file
    import matplotlib.pyplot as plt

    return plt


def _interval(e: Entry) -> tuple[float, float] | None:
    """The score's 95% interval: seeds + examples, else over seeds, else none."""
    if e.score_crossed is not None and e.score_crossed.low is not None:
        return e.score_crossed.low, e.score_crossed.high
    return e.score_ci


def _scaled(e: Entry, ratio) -> tuple[float, float] | None:
    """The score's interval through ``ratio`` (a monotone map of the score, as the entry's
    own ratio is of its mean); None when the entry has no interval or no ratio."""
    interval = _interval(e)
    if interval is None:
        return None
    ends = ratio(e, interval[0]), ratio(e, interval[1])
    return min(ends), max(ends)  # a teacher below chance turns the ratio around


def _pct_of_teacher(e: Entry, score: float) -> float:
    return e.pct_teacher * score / e.score


def _above_chance(e: Entry, score: float) -> float:
    # retention is linear in the score: (score - chance) / (teacher - chance), mean over units
    return e.retention * (score - e.chance) / (e.score - e.chance)


# (suffix, caption, x value, y value, x label, y label, frontier flag, y interval)
FIGURES = (
    (
        "score-vs-params",
        "Score vs parameters (Pareto frontier joined)",
        lambda e: e.params_total,
        lambda e: e.score,
        "parameters (log)",
        "{metric}",
        lambda e: e.pareto_size,
        _interval,
    ),
    (
        "score-vs-latency",
        "Score vs CPU batch-1 latency p50 (Pareto frontier joined)",
        lambda e: e.latency_p50_ms,
        lambda e: e.score,
        "CPU latency p50, batch 1 (ms, log)",
        "{metric}",
        lambda e: e.pareto_latency,
        _interval,
    ),
    (
        "pct-teacher-vs-params",
        "Student score as % of the teacher's vs parameters (as in the Intel study)",
        lambda e: e.params_total,
        lambda e: e.pct_teacher,
        "parameters (log)",
        "% of teacher score",
        None,
        lambda e: _scaled(e, _pct_of_teacher) if e.pct_teacher and e.score else None,
    ),
    (
        "retention-vs-params",
        "Score above chance as % of the teacher's, vs parameters",
        lambda e: e.params_total,
        lambda e: e.retention,
        "parameters (log)",
        "% of teacher above chance",
        None,
        lambda e: (
            _scaled(e, _above_chance)
            if e.retention is not None and e.chance is not None and e.score != e.chance
            else None
        ),
    ),
)

_MARKERS = "os^DvP*X"


def student_colours(entries: Iterable[Entry]) -> dict[str, str]:
    """One colour per student across every panel of a figure, so a student keeps its
    colour from one dataset to the next."""
    students = sorted({e.student for e in entries if e.role == "student"})
    return {s: f"C{i % 10}" for i, s in enumerate(students)}


def _panel(
    ax, entries: Sequence[Entry], x, y, frontier, xlabel: str, ylabel: str, title: str, bars,
    colours: dict[str, str],
):  # fmt: skip
    students = sorted({e.student for e in entries if e.role == "student"})
    losses = sorted({e.loss for e in entries if e.role == "student"})
    points = [(e, x(e), y(e)) for e in entries if x(e) is not None and y(e) is not None]
    for e, px, py in points:
        interval = bars(e)
        if interval is not None:  # the 95% interval: which differences are noise
            colour = "black" if e.role == "teacher" else colours[e.student]
            below, above = max(0.0, py - interval[0]), max(0.0, interval[1] - py)
            ax.errorbar(px, py, yerr=[[below], [above]], fmt="none",
                        ecolor=colour, elinewidth=1, capsize=2, alpha=0.6, zorder=1)  # fmt: skip
        if e.role == "teacher":
            ax.scatter(px, py, marker="*", s=180, c="black", zorder=3)
            ax.annotate(f"teacher {e.teacher}", (px, py), textcoords="offset points",
                        xytext=(-6, 6), ha="right", fontsize=8)  # fmt: skip
        else:
            marker = _MARKERS[losses.index(e.loss) % len(_MARKERS)]
            ax.scatter(px, py, marker=marker, s=40, c=colours[e.student], alpha=0.85, zorder=2)
    if frontier is not None:
        front = sorted((px, py) for e, px, py in points if frontier(e))
        if front:
            ax.step(*zip(*front, strict=True), where="post", c="grey", lw=1, ls="--", zorder=1,
                    label="Pareto frontier")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    # legend: colour = student, marker = loss
    handles = [
        ax.scatter([], [], c=colours[s], marker="o", label=s) for s in students
    ] + [ax.scatter([], [], c="grey", marker=_MARKERS[i % len(_MARKERS)], label=loss)
         for i, loss in enumerate(losses)]  # fmt: skip
    ax.legend(handles=handles, fontsize=7, loc="lower right")


def save_figure(plt, fig, stem: Path, svg: bool = False) -> None:
    """``{stem}.png`` (and ``.svg``), written atomically, and the figure closed."""
    for ext in ("png", "svg") if svg else ("png",):
        path = stem.with_name(f"{stem.name}.{ext}")
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two runs may write at once
        # metadata without dates, so rewriting a report from the same rows gives the same files
        fig.savefig(tmp, format=ext, dpi=110,
                    metadata={"Date": None} if ext == "svg" else {"Software": None})  # fmt: skip
        tmp.replace(path)
    plt.close(fig)


def write_plots(
    rows: Sequence[ResultRow],
    out_dir: Path,
    stem: str,
    svg: bool = False,
    boards: dict[str, list[Entry]] | None = None,
) -> list[tuple[str, str]]:
    """Write each figure as ``{stem}-{suffix}.png`` (and ``.svg`` if ``svg``) under
    ``out_dir``; returns (caption, PNG file name) for the markdown to link. Nothing to
    plot: []; a figure none of whose points has a value is left out. ``boards``:
    ``leaderboards(rows)`` when the caller has it already."""
    boards = boards if boards is not None else leaderboards(rows)
    if not boards:
        return []
    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    colours = student_colours(e for entries in boards.values() for e in entries)
    for suffix, caption, x, y, xlabel, ylabel, frontier, bars in FIGURES:
        if all(y(e) is None for entries in boards.values() for e in entries):
            continue  # e.g. retention from rows written before chance levels were stored
        width = max(5.5 * len(boards), 7.0)  # one panel: wide enough for the caption
        fig, axes = plt.subplots(1, len(boards), figsize=(width, 4.2), squeeze=False)
        for ax, (dataset, entries) in zip(axes[0], boards.items(), strict=True):
            first = entries[0]
            metric = f"{METRIC_LABELS.get(first.metric, first.metric)} ({first.eval_split})"
            _panel(
                ax, entries, x, y, frontier, xlabel, ylabel.format(metric=metric), dataset,
                bars, colours,
            )  # fmt: skip
        fig.suptitle(caption, fontsize=11)
        fig.tight_layout()
        save_figure(plt, fig, out_dir / f"{stem}-{suffix}", svg)
        written.append((caption, f"{stem}-{suffix}.png"))
    return written
