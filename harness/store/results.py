"""The results store: one SQLite row per (matrix, cell), written in a transaction.

Several processes may share one store: SQLite in WAL mode serialises their writes (a
writer waits up to ``BUSY_SECONDS`` for another's), and a row is written whole or not at
all, so a run killed at any moment leaves no half-written row. Keep the file on a local
disk (WAL needs shared memory between processes, which network filesystems lack); with
the Ray executor only the driver writes it.

Opening a store that exists first checks it read-only (``integrity.ensure_sound``: SQLite's
quick check, a few milliseconds, then the schema): a damaged file, one that is not SQLite, or
one of another schema fails with a one-line ``StoreDamaged`` before anything writes to it.
Damage found later, reading a row, fails the same way. ``bench store recover`` copies the
readable rows of a damaged store into a new one (``distill_bench.store.recover``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from distill_bench.store.integrity import damaged, ensure_sound, named_damage, readonly
from distill_bench.store.locks import FileLock

BUSY_SECONDS = 300  # how long a write waits for another process's transaction
SCHEMA_VERSION = 1  # PRAGMA user_version of the stores this version writes (0: before it was set)

COLUMNS = (
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
JSON_COLUMNS = {"config", "metrics", "measurements", "timings", "environment"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    {", ".join(f"{c} {'INTEGER' if c == 'seed' else 'TEXT'}" for c in COLUMNS)},
    PRIMARY KEY (matrix, key)
)
"""


_INSERT = (
    f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)


def _text(raw: bytes) -> str:
    """Stored text back as str; bytes that are not UTF-8 raise (a damaged row, named as such
    by ``named_damage``) where sqlite3's own decoding raises a bare OperationalError."""
    return raw.decode()


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


def schema_problem(db: sqlite3.Connection) -> str | None:
    """What keeps this version from using the SQLite file of ``db`` as its store (another
    schema, a newer version, someone else's database), or None. An empty file is fine."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        return (
            f"was written by a newer distill-bench (store schema {version}, this one reads "
            f"{SCHEMA_VERSION}): upgrade distill-bench, or use another --results-dir"
        )
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if not tables:
        return None
    if "results" not in tables:
        return (
            f"is a SQLite database but not a results store (tables: {', '.join(tables)}): "
            "use another --results-dir"
        )
    have = [r[1] for r in db.execute("PRAGMA table_info(results)")]
    if have != list(COLUMNS):
        missing = [c for c in COLUMNS if c not in have]
        extra = [c for c in have if c not in COLUMNS]
        return (
            "has a results table this version cannot read (columns missing: "
            f"{', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'}): use the "
            "distill-bench that wrote it, or another --results-dir"
        )
    return None


def encode_row(row: ResultRow) -> list:
    """The column values of ``row`` as stored, in ``COLUMNS`` order (JSON for the dicts)."""
    values = asdict(row)
    values["created_at"] = values["created_at"] or datetime.now(UTC).isoformat(timespec="seconds")
    for name in JSON_COLUMNS:
        values[name] = json.dumps(values[name], sort_keys=True)
    return [values[c] for c in COLUMNS]


def decode_row(values: Mapping[str, object]) -> ResultRow:
    """A stored row (column name -> value) back as a ``ResultRow``; ``ValueError`` or
    ``TypeError`` when its values are not what ``encode_row`` writes."""
    fields = {c: (json.loads(values[c]) if c in JSON_COLUMNS else values[c]) for c in COLUMNS}
    for c in COLUMNS:
        want = dict if c in JSON_COLUMNS else int if c == "seed" else str
        if not isinstance(fields[c], want):
            raise TypeError(f"column {c} holds {type(fields[c]).__name__}, not {want.__name__}")
    return ResultRow(**fields)


def write_store_file(path: Path, rows: Iterable[ResultRow]) -> int:
    """A new store file at ``path`` (which must not exist) holding ``rows``, written in one
    transaction; returns how many. ``Store(path)`` opens it as any other."""
    db = sqlite3.connect(path)
    count = 0
    try:
        with db:
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for row in rows:
                db.execute(_INSERT, encode_row(row))
                count += 1
    finally:
        db.close()
    return count


def stored_counts(path: Path) -> dict[str, dict[str, int]]:
    """Matrix -> status -> rows of the store at ``path``, read without writing it."""
    counts: dict[str, dict[str, int]] = {}
    with readonly(path) as db, named_damage(path):
        db.text_factory = _text
        query = "SELECT matrix, status, count(*) FROM results GROUP BY matrix, status"
        for matrix, status, n in db.execute(query):
            counts.setdefault(matrix, {})[status] = n
    return counts


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.exists():  # checked read-only: a damaged file is reported, never touched
            ensure_sound(self.path, schema=schema_problem)
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
                if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            guard.release()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction: committed on success, rolled back on error
        (KeyboardInterrupt included), closed either way."""
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
        db.text_factory = _text
        try:
            with named_damage(self.path):  # a page found broken now: the one-line error
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
        with self._connect() as db:
            db.execute(_INSERT, encode_row(row))

    def rows(self, matrix: str | None = None) -> list[ResultRow]:
        query = f"SELECT {', '.join(COLUMNS)} FROM results"
        args: tuple = ()
        if matrix is not None:
            query, args = query + " WHERE matrix = ?", (matrix,)
        with self._connect() as db:
            fetched = db.execute(query + " ORDER BY created_at, key", args).fetchall()
        rows = []
        for r in fetched:
            values = dict(zip(COLUMNS, r, strict=True))
            try:
                rows.append(decode_row(values))
            except (ValueError, TypeError) as exc:  # bytes changed inside a row's text
                where = f"row {values['matrix']!r}/{values['key']!r}"
                raise damaged(self.path, f"{where} cannot be decoded: {exc}") from None
        return rows

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
