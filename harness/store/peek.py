"""Reading a results store without leaving a trace: what ``bench run --dry-run`` shows.

``stored_statuses`` reads a matrix's row statuses and creates, changes or locks no file. A
``Store`` cannot: opening one makes the file, switches it to WAL and takes a lock file. Nor
can a plain ``mode=ro`` connection: beside a WAL store without its ``-wal`` and ``-shm``
files (every store whose last writer closed cleanly) it creates both and leaves them. So a
store without a ``-wal`` file is read ``immutable`` (no lock, no side files; with no WAL
there is nothing un-checkpointed to miss), and read again through a locking ``mode=ro``
connection if a writer appeared meanwhile (its ``-wal`` then exists, or the file changed):
that connection then uses the writer's side files and creates none. A damaged store is the
same one-line ``StoreDamaged`` as opening it for a run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from distill_bench.store.integrity import StoreDamaged, check, named_damage, readonly
from distill_bench.store.results import BUSY_SECONDS, schema_problem


def stored_statuses(path: Path, matrix: str) -> dict[str, str]:
    """Row key -> status ("ok" or "failed") of ``matrix``'s rows in the store at ``path``;
    empty when there is no store."""
    path = Path(path)
    if not path.exists():
        return {}
    wal = path.with_name(path.name + "-wal")
    if not wal.exists():
        stamp = _stamp(path)
        try:
            statuses = _read(path, matrix, immutable=True)
        except StoreDamaged:
            if wal.exists() or _stamp(path) != stamp:
                statuses = None  # a writer changed it under the lock-free read: read again
            else:
                raise
        if statuses is not None and not wal.exists() and _stamp(path) == stamp:
            return statuses
    return _read(path, matrix, immutable=False)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _read(path: Path, matrix: str, *, immutable: bool) -> dict[str, str]:
    # the same check, and so the same one-line error, as opening the store for a run
    found = check(path, schema=schema_problem, immutable=immutable, timeout=BUSY_SECONDS)
    if not found.sound:
        raise found.error()
    try:
        with named_damage(path), readonly(path, immutable=immutable, timeout=BUSY_SECONDS) as db:
            tables = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'results'").fetchall()
            if not tables:
                return {}  # an empty file: a store no run has written yet
            query = "SELECT key, status FROM results WHERE matrix = ?"
            return dict(db.execute(query, (matrix,)).fetchall())
    except StoreDamaged:
        raise
    except sqlite3.Error as exc:  # cannot open it (a folder, permissions), text not UTF-8
        raise StoreDamaged(f"store {path} cannot be read ({exc}); it was left as it is") from None
