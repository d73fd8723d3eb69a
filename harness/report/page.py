"""The leaderboard page of a matrix: which stored rows it shows, its header, where it goes.

``planned_rows`` picks the store's rows of a plan's cells; ``preamble`` is the results-page
header (matrix, how to reproduce, hardware, budget, time) made from the rows themselves;
``write_leaderboard`` writes ``<results_dir>/leaderboards/<matrix>.md`` (or ``.csv`` /
``.json``) with its plots in ``leaderboards/plots/`` and, beside a markdown page, the rows it
shows (``<matrix>.rows.json``: the page re-renders from them alone, ``page_markdown``). It prints nothing: the caller says
what was written. Pure: no torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill_bench.matrix.plan import Plan
from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.entries import Entry, leaderboards
from distill_bench.report.plots import write_plots
from distill_bench.report.render import (
    render_csv,
    render_json,
    render_markdown,
    total_compute_seconds,
)
from distill_bench.report.timing import breakdown_text
from distill_bench.store.results import ResultRow, Store
from distill_bench.store.rows_file import ROWS_SUFFIX, write_rows_file

LEADERBOARDS = "leaderboards"  # under the results dir: the pages bench writes
PLOTS = "plots"  # under LEADERBOARDS: their figures, linked relative to the page
FORMATS = ("md", "csv", "json")


@dataclass(frozen=True)
class WrittenLeaderboard:
    """What ``write_leaderboard`` wrote, for the caller to report."""

    path: Path
    fmt: str  # "md", "csv" or "json"
    rows: list[ResultRow]  # the plan's stored rows the page shows
    other_rows: int  # stored rows of the same matrix name from another configuration
    plots_note: str = ""  # why no plots were drawn (matplotlib missing), or ""
    boards: dict[str, list[Entry]] | None = None  # the page's entries, for the terminal tables


def planned_rows(plan: Plan, store: Store) -> tuple[list[ResultRow], int]:
    """The stored rows of the plan's cells and teacher rows, and how many other rows of the
    same matrix name the store holds (an older version of it, or another data dir)."""
    planned = {c.key for c in plan.cells} | {t.key for t in plan.teacher_rows}
    stored = store.rows(plan.matrix.name)
    rows = [r for r in stored if r.key in planned]
    return rows, len(stored) - len(rows)


def preamble(plan: Plan, rows: Sequence[ResultRow]) -> str:
    """How the table was made, from the rows themselves: rewriting the report from the
    store (or re-running a finished matrix) gives the same file."""
    b, m = plan.matrix.budget, plan.matrix
    env = rows[0].environment if rows else {}
    commits = sorted({r.environment.get("git_commit") or "?" for r in rows})
    stamps = sorted(r.created_at[:16].replace("T", " ") for r in rows)  # ISO, to the minute
    lines = [
        f"Matrix `{m.path}`" + (f": {m.description}" if m.description else ""),
        "",
        f"Reproduce: `bench run --matrix {m.path}` (with `BENCH_DATA_DIR` pointing at the data).",
        f"Hardware: {env.get('cpu', '?')}, {env.get('cpu_count', '?')} CPUs, GPU: {env.get('gpu') or 'none'};"
        f" measured with {m.measure.threads} thread{'s' if m.measure.threads != 1 else ''} {_measured_in(m.measure.isolate)};"
        f" torch {env.get('packages', {}).get('torch', '?')},"
        f" Python {env.get('python', '?')}; commit{'s' if len(commits) > 1 else ''} {', '.join(commits) or '?'}.",
        f"Budget: train examples {b.max_train_examples or 'all'}, selection {b.max_select_examples or 'all'}, "
        f"teacher {b.teacher_epochs} epochs at lr {b.teacher_lr:g}, {student_schedules(plan)}, "
        f"max length {b.max_length}; seeds {list(m.seeds)}"
        + (
            f" (students; one teacher from seed {b.teacher_seed})"
            if b.teacher_seed is not None
            else f" (students), teacher seeds {list(m.teacher_seeds)}"
            if m.teacher_seeds is not None
            else " (one teacher per seed)"
        )
        + ".",
        f"Time: {total_compute_seconds(rows) / 60:.1f} min of stage compute (each shared stage counted "
        f"once{': ' + breakdown_text(rows) if rows else ''}), rows written "
        f"{stamps[0] if stamps else '?'} to {stamps[-1] if stamps else '?'} UTC.",
    ]
    return "\n".join(lines)


def student_schedules(plan: Plan) -> str:
    """The students' epochs and learning rates as they train: the budget's, or a student's
    own ``epochs`` / ``learning_rate`` options where it sets them (0 = the budget's, as the
    training loop reads them), grouped by schedule when they differ."""
    b = plan.matrix.budget
    by_schedule: dict[tuple[int, float], list[str]] = {}
    for cell in plan.cells:
        options = cell.student.options_dict()
        schedule = (
            options.get("epochs") or b.student_epochs,
            options.get("learning_rate") or b.student_lr,
        )
        names = by_schedule.setdefault(schedule, [])
        if cell.student.name not in names:
            names.append(cell.student.name)
    if list(by_schedule) in ([], [(b.student_epochs, b.student_lr)]):
        return f"students {b.student_epochs} epochs at lr {b.student_lr:g}"
    return "students " + ", ".join(
        f"{epochs} epochs at lr {lr:g} ({', '.join(names)})"
        for (epochs, lr), names in by_schedule.items()
    )


def _measured_in(isolate: bool) -> str:
    """Where timings ran: they read differently under another allocator (results/benchmarks/measure.md)."""
    if isolate:
        return (
            "in a fresh interpreter under a steady allocator (glibc's mmap and trim thresholds "
            "fixed, as in a warmed-up server)"
        )
    return "in the bench process (isolate = false: the allocator as training left it)"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two runs may write at once
    tmp.write_text(text)
    tmp.replace(path)


def write_leaderboard(
    plan: Plan,
    store: Store,
    *,
    results_dir: Path,
    fmt: str = "md",
    names: Sequence[str] | None = None,
    sort: str | None = None,
    plots: bool = True,
    svg: bool = False,
) -> WrittenLeaderboard:
    """Write the plan's leaderboard from the store under ``results_dir/leaderboards``.

    ``fmt`` "md": the markdown page (with ``preamble``), plus its PNG plots (and SVG if
    ``svg``) in ``leaderboards/plots/`` unless ``plots`` is false; "csv"/"json": every
    entry and variant as raw values, no plots. ``names`` and ``sort`` pick and order the
    columns (checked by the caller: ``columns.check_columns``)."""
    rows, others = planned_rows(plan, store)
    out_dir = Path(results_dir) / LEADERBOARDS
    out = out_dir / f"{plan.matrix.name}.{fmt}"
    if fmt in ("csv", "json"):
        render = render_csv if fmt == "csv" else render_json
        _write_atomic(out, render(rows, names, sort))
        return WrittenLeaderboard(out, fmt, rows, others)
    if fmt != "md":
        raise BenchError(f"unknown report format {fmt!r} (formats: {', '.join(FORMATS)})")
    # once for the tables, the plots and the terminal: the intervals are the costly part
    boards = leaderboards(rows)
    links, note = [], ""
    if plots:
        try:
            written = write_plots(rows, out_dir / PLOTS, plan.matrix.name, svg=svg, boards=boards)
            links = [(caption, f"{PLOTS}/{name}") for caption, name in written]
        except BenchError as exc:  # matplotlib is optional: the tables still get written
            note = str(exc)
    _write_atomic(out, page_markdown(plan, rows, links, names=names, sort=sort, boards=boards))
    # the rows beside the page: it re-renders from them alone (store/rows_file.py)
    write_rows_file(out_dir / f"{plan.matrix.name}{ROWS_SUFFIX}", plan.matrix.name, rows)
    return WrittenLeaderboard(out, fmt, rows, others, note, boards)


def page_markdown(
    plan: Plan,
    rows: Sequence[ResultRow],
    plots: Sequence[tuple[str, str]] = (),
    names: Sequence[str] | None = None,
    sort: str | None = None,
    boards: dict[str, list[Entry]] | None = None,
) -> str:
    """The leaderboard page of ``plan`` from ``rows``; ``plots``: (caption, link) pairs;
    ``boards``: ``leaderboards(rows)`` when the caller has it already."""
    return render_markdown(
        f"Leaderboard: {plan.matrix.name}",
        rows,
        dropped=[(d.label, d.reason) for d in plan.dropped],
        preamble=preamble(plan, rows),
        names=names,
        sort=sort,
        plots=plots,
        boards=boards,
    )
