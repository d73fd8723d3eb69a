"""The results store: one SQLite row per (matrix, cell), written in a transaction."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        return db

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
