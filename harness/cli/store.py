"""``bench store check``: is the results store sound, and what it holds (rows per matrix, ok
and failed); ``bench store recover``: copy a damaged store's readable rows into a new file
(``distill_bench.store.recover``). Neither writes the store it reads. ``bench store import``:
load a leaderboard's committed rows file (``leaderboards/<matrix>.rows.json``) into the store,
so ``bench report`` rewrites that page on a machine that never ran it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distill_bench.cli.common import console
from distill_bench.execute.api import STORE_FILE
from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.integrity import check
from distill_bench.store.recover import recover
from distill_bench.store.results import Store, schema_problem, stored_counts
from distill_bench.store.rows_file import read_rows_file

_LISTED = 20  # SQLite's findings printed by `bench store check` (the error line quotes 3)


def store_path(args) -> Path:
    """``--results-dir``'s store; a missing one is an error (checking never creates it)."""
    path = Path(args.results_dir) / STORE_FILE
    if not path.is_file():
        raise BenchError(
            f"--results-dir: no store at {path} (nothing has run with this results directory)"
        )
    return path


def cmd_check(args) -> int:
    path = store_path(args)
    found = check(path, full=args.full, schema=schema_problem)
    out = console()
    if not found.sound:
        out.print(f"store {path}: {found.pragma} found {len(found.problems)} problem(s)")
        for problem in found.problems[:_LISTED]:
            out.print(f"  {problem}")
        raise found.error()
    counts = stored_counts(path)
    total = sum(sum(by.values()) for by in counts.values())
    out.print(
        f"store {path}: {found.pragma} ok; {total} rows in {len(counts)} matrices, "
        f"{path.stat().st_size / 1e6:.1f} MB"
    )
    width = max((len(m) for m in counts), default=6)
    for matrix, by in counts.items():
        others = "".join(f"  {n} {s}" for s, n in sorted(by.items()) if s not in ("ok", "failed"))
        out.print(
            f"  {matrix:<{width}}  {by.get('ok', 0):>6} ok  {by.get('failed', 0):>6} failed{others}"
        )
    return 0


def cmd_import(args) -> int:
    matrix, rows = read_rows_file(Path(args.file))  # all read before anything is written
    store = Store(Path(args.results_dir) / STORE_FILE)
    for row in rows:
        store.put(row)
    console().print(f"imported {len(rows)} rows of {matrix} from {args.file} into {store.path}")
    return 0


def cmd_recover(args) -> int:
    done = recover(store_path(args), Path(args.out))
    out = console()
    lost = done.total_lost
    out.print(
        f"recovered {done.total_recovered} rows of {done.source} into {done.out}; "
        + (
            f"{lost} lost"
            if lost is not None
            else "an unknown number lost (the key index is damaged too)"
        )
    )
    for matrix in sorted(set(done.recovered) | set(done.lost or {})):
        missing = f", {done.lost.get(matrix, 0)} lost" if done.lost is not None else ""
        out.print(f"  {matrix}: {done.recovered.get(matrix, 0)} recovered{missing}")
    if done.unread:
        ranges = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in done.unread[:10])
        more = f" and {len(done.unread) - 10} more ranges" if len(done.unread) > 10 else ""
        out.print(f"rowids not recovered: {ranges}{more}")
    out.print(
        f"{done.source} was not changed; to use the recovered rows, move it (and any "
        f"{done.source.name}-wal, -shm) aside and {done.out} into its place"
    )
    return 0


def add_store_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "store", help="check the results store, recover a damaged one, or import a rows file"
    )
    store_sub = p.add_subparsers(dest="store_command", required=True)
    c = store_sub.add_parser(
        "check", help="check the results store (SQLite's quick check) and count its rows"
    )
    _add_results_dir(c)
    c.add_argument(
        "--full",
        action="store_true",
        help="SQLite's full integrity check (also compares the index with the table)",
    )
    c.set_defaults(func=cmd_check)
    r = store_sub.add_parser(
        "recover", help="copy every readable row of a damaged results store into a new file"
    )
    _add_results_dir(r)
    r.add_argument("--out", required=True, metavar="NEW", help="the new store (must not exist)")
    r.set_defaults(func=cmd_recover)
    i = store_sub.add_parser(
        "import", help="load a leaderboard's rows file (leaderboards/NAME.rows.json) into the store"
    )
    _add_results_dir(i)
    i.add_argument("file", help="a rows file bench run or bench report wrote")
    i.set_defaults(func=cmd_import)


def _add_results_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--results-dir", default="results", help="where bench.sqlite lives (default: results)"
    )
