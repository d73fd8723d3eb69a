"""``bench report``: rewrite a matrix's leaderboard from the store; and what ``bench run``
shares with it: the matrix and table arguments, and writing then printing the leaderboard
(``distill_bench.report.page.write_leaderboard``) with its terminal tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distill_bench.cli.common import add_data_dir_argument, console
from distill_bench.execute.api import open_store, plan_matrix, resolve_data_dir
from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.columns import COLUMNS, check_columns
from distill_bench.report.entries import leaderboards
from distill_bench.report.page import planned_rows, write_leaderboard
from distill_bench.report.pick import parse_where, pick, pick_lines
from distill_bench.report.render import rich_tables


def planned(args):
    """The matrix of ``--matrix`` planned with ``--data-dir``, ``--cache-dir`` and the
    disabled plugins (a ``distill_bench.execute.api.PlannedMatrix``)."""
    return plan_matrix(
        args.matrix,
        data_dir=resolve_data_dir(args.data_dir),
        cache_dir=args.cache_dir,
        disabled=tuple(args.disable_plugin),
    )


def table_options(args) -> tuple[list[str] | None, str | None]:
    """``--columns`` and ``--sort``, checked against the report's columns."""
    names = None
    if getattr(args, "columns", None):
        try:
            names = check_columns([c.strip() for c in args.columns.split(",") if c.strip()])
        except ValueError as exc:
            raise BenchError(f"--columns: {exc}") from None
    sort = getattr(args, "sort", None)
    if sort and sort not in COLUMNS:
        raise BenchError(f"--sort: unknown column {sort!r} (columns: {', '.join(COLUMNS)})")
    return names, sort


def write_and_show_leaderboard(plan, store, args, out) -> Path:
    """Write the plan's leaderboard as ``--format`` asks and say so; the markdown's
    tables are printed too."""
    names, sort = table_options(args)
    written = write_leaderboard(
        plan,
        store,
        results_dir=Path(args.results_dir),
        fmt=getattr(args, "format", "md"),
        names=names,
        sort=sort,
        plots=not getattr(args, "no_plots", False),
        svg=getattr(args, "svg", False),
    )
    if written.other_rows:  # an older version of the matrix, or another data dir
        out.print(
            f"note: {written.other_rows} stored rows of matrix {plan.matrix.name!r} belong to "
            "another configuration (options, budget or data dir) and are not shown"
        )
    if written.fmt != "md":
        out.print(f"{written.fmt.upper()} written to {written.path}")
        return written.path
    if written.plots_note:  # matplotlib is optional: the tables still get written
        out.print(f"note: no plots: {written.plots_note}")
    for table in rich_tables(written.rows, names, sort, boards=written.boards):
        out.print(table)
    out.print(f"leaderboard written to {written.path}")
    return written.path


def cmd_report(args) -> int:
    if args.where is not None:  # a question about the stored rows: nothing is rewritten
        return show_pick(args)
    write_and_show_leaderboard(planned(args).plan, open_store(args.results_dir), args, console())
    return 0


def show_pick(args) -> int:
    """``--where`` / ``--best``: the best student under the constraints, per dataset."""
    conditions = parse_where(args.where)  # checked before the store is opened
    pick({}, conditions, args.best)  # and --best
    rows, _ = planned_rows(planned(args).plan, open_store(args.results_dir))
    ok = [r for r in rows if r.status == "ok"]
    if not ok:
        raise BenchError(
            f"{args.matrix}: no finished rows in the store to pick from (bench run it)"
        )
    out = console()
    for line in pick_lines(pick(leaderboards(ok), conditions, args.best), conditions, args.best):
        out.print(line, highlight=False, markup=False)
    return 0


def add_matrix_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments ``bench run`` and ``bench report`` open with: which matrix, where its
    data, stage cache and results live."""
    p.add_argument("--matrix", required=True, help="matrix TOML file")
    add_data_dir_argument(p)
    p.add_argument(
        "--cache-dir", help="stage cache (default $BENCH_CACHE_DIR or ~/.cache/distill-bench)"
    )
    p.add_argument(
        "--results-dir", default="results", help="where bench.sqlite and leaderboards live"
    )


def add_table_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments ``bench run`` and ``bench report`` close with: the leaderboard's view."""
    p.add_argument(
        "--columns",
        metavar="A,B,...",
        help="columns of the table (default: a compact view); "
        "see distill_bench.report.columns.COLUMNS",
    )
    p.add_argument(
        "--sort",
        metavar="COLUMN",
        help="order students by a column, best first (teachers stay on top)",
    )
    p.add_argument("--no-plots", action="store_true", help="write no PNG/SVG plots")
    p.add_argument(
        "--svg", action="store_true", help="also write each plot as SVG (default: PNG only)"
    )


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rewrite a matrix's leaderboard from the store")
    add_matrix_arguments(p)
    p.add_argument(
        "--format",
        choices=("md", "csv", "json"),
        default="md",
        help="md: results/leaderboards/<matrix>.md with plots (default); csv/json: every "
        "entry and variant, raw values, to results/leaderboards/<matrix>.csv|json",
    )
    add_table_arguments(p)
    p.add_argument(
        "--where",
        metavar="CONDITIONS",
        help="pick instead of rewriting: the best student meeting every condition, e.g. "
        "'latency_p50 <= 1 and params_no_emb <= 1M' (COLUMN OP NUMBER joined by 'and'; "
        "k/M/G suffixes), the students within noise of it, and what each condition costs",
    )
    p.add_argument(
        "--best", metavar="COLUMN", default="score", help="with --where: the column to pick by"
    )
    p.set_defaults(func=cmd_report)
