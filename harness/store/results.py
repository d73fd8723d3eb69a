"""The results store: one SQLite row per (matrix, cell), written in a transaction.

Several processes may share one store: SQLite in WAL mode serialises their writes (a
writer waits up to ``BUSY_SECONDS`` for another's), and a row is written whole or not at
all, so a run killed at any moment leaves no half-written row. Keep the file on a local
disk (WAL needs shared memory between processes, which network filesystems lack); with
the Ray executor only the driver writes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from distill_bench.store.locks import FileLock

BUSY_SECONDS = 300  # how long a write waits for another process's transaction

_COLUMNS = (
    "matrix",
    "key",
    "role",
    "dataset",
    "teacher",
    "student",
    "loss",
    "augmenter",
    "seed",
    "status",
    "stage",
    "error",
    "config",
    "metrics",
    "measurements",
    "timings",
    "environment",
    "created_at",
)
_JSON = {"config", "metrics", "measurements", "timings", "environment"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    {", ".join(f"{c} {'INTEGER' if c == 'seed' else 'TEXT'}" for c in _COLUMNS)},
    PRIMARY KEY (matrix, key)
)
"""


@dataclass(frozen=True)
class ResultRow:
    matrix: str
    key: str
    role: str  # "teacher" or "student"
    dataset: str
    teacher: str
    student: str
    loss: str
    augmenter: str
    seed: int
    status: str  # "ok" or "failed"
    stage: str = ""  # the stage that failed
    error: str = ""
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    measurements: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    created_at: str = ""


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # WAL is a property of the file, set once: switching to it needs an exclusive lock
        # that SQLite's busy timeout does not wait for, so two runs opening a new store at
        # once took turns under a file lock instead of one failing with "database is locked"
        guard = FileLock(self.path.with_name(self.path.name + ".init.lock"))
        guard.acquire()
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                db.execute(_SCHEMA)
        finally:
            guard.release()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction: committed on success, rolled back on error
        (KeyboardInterrupt included), closed either way."""
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
        try:
            db.execute("PRAGMA synchronous=FULL")  # a committed row survives a power loss
            with db:
                yield db
        finally:
            db.close()

    def row_lock(self, matrix: str, key: str) -> FileLock:
        """The lock a run holds while computing a row, so a second run does another one.
        Lock files live beside the database, in ``NAME.locks/``."""
        name = hashlib.sha256(f"{matrix}\0{key}".encode()).hexdigest()[:24]
        return FileLock(self.path.with_name(self.path.name + ".locks") / f"row-{name}.lock")

    def statuses(self, matrix: str, key: str | None = None) -> dict[str, str]:
        """Row key -> status ("ok" or "failed") of the matrix's stored rows (or one row)."""
        query, args = "SELECT key, status FROM results WHERE matrix = ?", (matrix,)
        if key is not None:
            query, args = query + " AND key = ?", (matrix, key)
        with self._connect() as db:
            return dict(db.execute(query, args).fetchall())

    def put(self, row: ResultRow) -> None:
        values = asdict(row)
        values["created_at"] = values["created_at"] or datetime.now(UTC).isoformat(
            timespec="seconds"
        )
        for name in _JSON:
            values[name] = json.dumps(values[name], sort_keys=True)
        with self._connect() as db:
            db.execute(
                f"INSERT OR REPLACE INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [values[c] for c in _COLUMNS],
            )

    def rows(self, matrix: str | None = None) -> list[ResultRow]:
        query = f"SELECT {', '.join(_COLUMNS)} FROM results"
        args: tuple = ()
        if matrix is not None:
            query, args = query + " WHERE matrix = ?", (matrix,)
        with self._connect() as db:
            fetched = db.execute(query + " ORDER BY created_at, key", args).fetchall()
        return [
            ResultRow(
                **{
                    c: (json.loads(v) if c in _JSON else v)
                    for c, v in zip(_COLUMNS, r, strict=True)
                }
            )
            for r in fetched
        ]

    def done(self, matrix: str, key: str) -> bool:
        with self._connect() as db:
            hit = db.execute(
                "SELECT 1 FROM results WHERE matrix = ? AND key = ? AND status = 'ok'",
                (matrix, key),
            ).fetchone()
        return hit is not None

    def matrices(self) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT matrix FROM results ORDER BY matrix")]
