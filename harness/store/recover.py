"""Salvage the readable rows of a damaged results store into a new one (``bench store recover``).

The damaged file is opened read-only and never written. Its rows are read one at a time
through the table ("the first row from rowid R on"), each read in its own try, so a row
whose own bytes are damaged is lost alone. A broken page fails every read whose search lands
on it: the walk then probes rowids past the break (doubling the step, then bisecting) for the
first one whose search lands on a readable page, and goes on from there. A search for rowid R
descends straight to the leaf whose range holds R, so what is lost is the rows of the broken
pages (and, under a broken interior page, the pages below it).

The primary key's index is a b-tree of its own that names every row (matrix, key, rowid).
When it can be read, each row it names that the walk missed is looked up by rowid, alone (two
breaks close together can make the bisection skip the readable rows between them), and the
lost rows are exactly counted by matrix; without it, small skipped ranges are looked up rowid
by rowid and the lost rows are bounded by the ranges. The new store is written whole to a
scratch file and renamed into place, so a failed recovery leaves no half store behind.

SQLite keeps no checksum per row: bytes changed inside a row's text that still decode (a
letter of a name, a digit of a score) are copied as they read. A row is kept only if every
column decodes (UTF-8, JSON objects, an integer seed) and its role and status are ones the
runner writes.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.integrity import readonly
from distill_bench.store.results import (
    ResultRow,
    decode_row,
    schema_problem,
    write_store_file,
)

# SQLite numbers a row from 1 up when the insert names no rowid, as every insert here does
FIRST_ROWID, MAX_ROWID = 1, 2**63 - 1
_FROM = "SELECT rowid, * FROM results WHERE rowid >= ? ORDER BY rowid LIMIT 1"
_EXACT = "SELECT rowid, * FROM results WHERE rowid = ?"
# covering: matrix and rowid both live in the primary key's index, so reading it never
# touches the table's (possibly broken) pages
_KEYS = (
    "SELECT matrix, rowid FROM results INDEXED BY sqlite_autoindex_results_1 ORDER BY matrix, key"
)
_PROBED = 4096  # without the index, skipped ranges up to this many rowids are looked up one by one

Raw = dict[str, object]  # a row's values by column, text as bytes


@dataclass(frozen=True)
class Recovery:
    """What ``recover`` salvaged. ``lost``: rows by matrix the key index names and no read
    returned; None when that index cannot be read and some rowids could not be (``unread``
    then bounds the loss: those ranges may hold fewer rows, or none)."""

    source: Path
    out: Path
    recovered: dict[str, int]  # matrix -> rows copied into ``out``
    lost: dict[str, int] | None
    unread: tuple[tuple[int, int], ...]  # inclusive rowid ranges not recovered

    @property
    def total_recovered(self) -> int:
        return sum(self.recovered.values())

    @property
    def total_lost(self) -> int | None:
        return None if self.lost is None else sum(self.lost.values())


def recover(source: Path, out: Path) -> Recovery:
    """Copy every readable row of the store ``source`` into a new store ``out``."""
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise BenchError(f"no store at {source}: nothing to recover")
    if out.exists():
        raise BenchError(f"--out {out} exists: name a new file (the recovered store)")
    try:
        with readonly(source, salvage=True) as db:
            _check_readable(db, source)
            db.text_factory = bytes  # decoded per row: bad UTF-8 loses its row, not the walk
            rows: dict[int, ResultRow] = {}
            skipped = _walk(db, rows)
            keys = _index(db)
            if keys is not None:
                wanted = sorted({rowid for _, rowid in keys} - rows.keys())
            else:
                wanted = [r for a, b in skipped if b - a < _PROBED for r in range(a, b + 1)]
            for rowid in wanted:
                _keep(db, _EXACT, rowid, rows)
    except sqlite3.DatabaseError as exc:  # page 1 itself unreadable: nothing names the table
        raise BenchError(
            f"store {source} cannot be read at all ({exc}): there are no rows to recover"
        ) from None
    _write(out, [rows[r] for r in sorted(rows)])
    if keys is not None:
        missing = [(matrix, rowid) for matrix, rowid in keys if rowid not in rows]
        lost: dict[str, int] | None = dict(sorted(Counter(m for m, _ in missing).items()))
        unread = _ranges(sorted(r for _, r in missing))
    else:
        unread = _unread(skipped, rows)
        lost = {} if not unread else None
    recovered = Counter(row.matrix for row in rows.values())
    return Recovery(source, out, dict(sorted(recovered.items())), lost, unread)


def _check_readable(db: sqlite3.Connection, source: Path) -> None:
    """Raise unless ``db`` holds a results table this version can read."""
    problem = schema_problem(db)
    if problem:
        raise BenchError(f"store {source} {problem}")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'results'").fetchone():
        raise BenchError(f"store {source} is empty: there are no rows to recover")


def _walk(db: sqlite3.Connection, rows: dict[int, ResultRow]) -> list[tuple[int, int]]:
    """Read every row the table's b-tree leads to into ``rows``; the rowid ranges skipped
    (where a read failed, or a row would not decode)."""
    skipped: list[tuple[int, int]] = []
    first = FIRST_ROWID
    while True:
        try:
            found = _read(db, _FROM, first)
        except sqlite3.DatabaseError:
            resume = _past_break(db, first)
            skipped.append((first, MAX_ROWID if resume is None else resume - 1))
            if resume is None:
                return skipped
            first = resume
            continue
        if found is None:
            return skipped
        rowid, raw = found
        if not _decoded(rowid, raw, rows):
            skipped.append((rowid, rowid))
        if rowid == MAX_ROWID:
            return skipped
        first = rowid + 1


def _read(db: sqlite3.Connection, query: str, rowid: int) -> tuple[int, Raw] | None:
    """The row ``query`` finds from ``rowid``: its rowid and raw values, or None."""
    cursor = db.execute(query, (rowid,))
    found = cursor.fetchone()
    if found is None:
        return None
    if found[0] < rowid:  # a broken page can hand back a row from elsewhere: a read error
        raise sqlite3.DatabaseError(f"rowid {found[0]} before {rowid}: the table is out of order")
    names = [d[0] for d in cursor.description[1:]]
    return found[0], dict(zip(names, found[1:], strict=True))


def _decoded(rowid: int, raw: Raw, rows: dict[int, ResultRow]) -> bool:
    """Add the row to ``rows`` if its values decode to a ``ResultRow`` whose role and status
    are ones the runner writes; whether they did."""
    try:
        text = {n: v.decode() if isinstance(v, bytes) else v for n, v in raw.items()}
        row = decode_row(text)
    except (ValueError, TypeError):  # UnicodeDecodeError and JSON errors are ValueErrors
        return False
    if row.role not in ("teacher", "student") or row.status not in ("ok", "failed"):
        return False
    rows[rowid] = row
    return True


def _keep(db: sqlite3.Connection, query: str, rowid: int, rows: dict[int, ResultRow]) -> None:
    """Look one row up (a failed read loses it alone)."""
    try:
        found = _read(db, query, rowid)
    except sqlite3.DatabaseError:
        return
    if found is not None and found[0] == rowid:
        _decoded(rowid, found[1], rows)


def _readable_from(db: sqlite3.Connection, first: int) -> bool:
    try:
        _read(db, _FROM, first)
    except sqlite3.DatabaseError:
        return False
    return True


def _past_break(db: sqlite3.Connection, first: int) -> int | None:
    """The smallest rowid past ``first`` (whose read failed) from which reading succeeds
    again, or None when nothing past it can be read: doubling steps find a readable point,
    bisection the first one."""
    bad, step = first, 1
    while True:
        probe = min(first + step, MAX_ROWID)
        if _readable_from(db, probe):
            good = probe
            break
        if probe == MAX_ROWID:
            return None
        bad, step = probe, step * 2
    while good - bad > 1:
        middle = (bad + good) // 2
        if _readable_from(db, middle):
            good = middle
        else:
            bad = middle
    return good


def _index(db: sqlite3.Connection) -> list[tuple[str, int]] | None:
    """(matrix, rowid) of every row the primary key's index names; None if it is damaged."""
    try:
        return [(m.decode(errors="replace"), r) for m, r in db.execute(_KEYS).fetchall()]
    except sqlite3.DatabaseError:
        return None


def _unread(
    skipped: list[tuple[int, int]], rows: dict[int, ResultRow]
) -> tuple[tuple[int, int], ...]:
    """The skipped ranges less the rowids recovered after all (small ranges only)."""
    unread: list[tuple[int, int]] = []
    for a, b in skipped:
        if b - a < _PROBED:
            unread.extend(_ranges([r for r in range(a, b + 1) if r not in rows]))
        else:
            unread.append((a, b))
    return tuple(unread)


def _ranges(rowids: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted rowids as inclusive ranges of consecutive ones."""
    ranges: list[tuple[int, int]] = []
    for r in rowids:
        if ranges and ranges[-1][1] == r - 1:
            ranges[-1] = (ranges[-1][0], r)
        else:
            ranges.append((r, r))
    return tuple(ranges)


def _write(out: Path, rows: list[ResultRow]) -> None:
    """The new store: written to a scratch file, renamed into place when whole."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.with_name(f".{out.name}.partial")
    scratch.unlink(missing_ok=True)
    try:
        write_store_file(scratch, rows)
        os.replace(scratch, out)
    finally:
        scratch.unlink(missing_ok=True)
