"""Is a results store sound? SQLite's own checks, run on a read-only connection, and the
one-line error a damaged store gives.

``check`` runs ``PRAGMA quick_check`` (``full=True``: ``PRAGMA integrity_check``, which also
compares every index with its table) through a ``file:...?mode=ro`` connection, so checking
never writes the file: no WAL switch, no schema, no recovery of a hot journal. The quick
check reads every page once and checks the b-tree structure but not the indexes against the
table: measured with the file in the page cache, about 2 ms a megabyte (7 ms for 3,000 rows
of 1.5 KB, 40 ms for 5,000 rows of 4 KB; the full check takes up to a fifth longer), so
every ``Store`` runs it when it opens. A damaged store then fails with a ``StoreDamaged`` (a
``BenchError``: one line, exit 2) that names the file, what SQLite found and what to do.

Damage that leaves the page structure whole (garbage inside a row's bytes) passes the quick
check; reading that row then raises the same error (``named_damage`` turns SQLite's
"malformed" errors into it), and ``bench store recover`` salvages the other rows.
"""

from __future__ import annotations

import contextlib
import shlex
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError

READ_WAIT_SECONDS = 60  # a check waits this long for a writer's exclusive lock (a WAL switch)
_SHOWN = 3  # SQLite's findings quoted in the one-line error (the check command prints more)
# SQLite's primary result codes: "malformed", "database or disk is full", "not a database"
_CORRUPT, _FULL, _NOTADB = 11, 13, 26


class StoreDamaged(BenchError):
    """The results store cannot be read as one: damaged, not SQLite, or another schema.
    The file was left as it is."""


@contextlib.contextmanager
def readonly(
    path: Path,
    *,
    salvage: bool = False,
    immutable: bool = False,
    timeout: float = READ_WAIT_SECONDS,
) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the store at ``path``, closed after. ``salvage``: read a
    truncated file as far as it goes (SQLite refuses one whose header promises more pages
    than it has unless the schema is "writable"; read-only, nothing is written either way).
    Beside a WAL store whose writers all closed it makes an empty ``-wal`` and ``-shm`` (the
    next writer's close removes them); ``immutable`` reads without locks or side files, for
    a store no writer holds (``peek``); the store is untouched either way."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    db = sqlite3.connect(uri, uri=True, timeout=timeout)
    try:
        if salvage:
            db.execute("PRAGMA writable_schema=ON")
        yield db
    finally:
        db.close()


@dataclass(frozen=True)
class Check:
    """What checking a store found. ``kind``: "ok", "damaged" (SQLite's findings in
    ``problems``), "not-sqlite", "schema" (a SQLite file this version cannot read as a
    store) or "unreadable" (cannot be opened at all: permissions, a folder)."""

    path: Path
    pragma: str  # quick_check or integrity_check
    kind: str
    problems: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return self.kind == "ok"

    def error(self) -> StoreDamaged:
        """The one-line error for a store that is not sound."""
        if self.kind == "not-sqlite":
            return not_sqlite(self.path, _summary(self.problems))
        if self.kind in ("schema", "unreadable"):
            return StoreDamaged(
                f"store {self.path} {_summary(self.problems)}; it was left as it is"
            )
        return damaged(self.path, f"{self.pragma}: {_summary(self.problems)}")


def not_sqlite(path: Path, what: str) -> StoreDamaged:
    """The error for a file that is not SQLite at all: there are no rows to recover."""
    return StoreDamaged(
        f"store {path} is not a SQLite database ({what}); it was left as it is: move it "
        "aside and the next run starts a new store"
    )


def damaged(path: Path, what: str) -> StoreDamaged:
    """The error for a damaged store: where, what SQLite found, how to salvage its rows."""
    path = Path(path)
    out = path.with_name("recovered.sqlite")
    return StoreDamaged(
        f"store {path} is damaged ({what}); it was left as it is: run `bench store recover "
        f"--results-dir {shlex.quote(str(path.parent))} --out {shlex.quote(str(out))}`, then "
        f"move {path.name} (and any {path.name}-wal, -shm) aside and {out.name} into its place"
    )


def check(
    path: Path,
    *,
    full: bool = False,
    schema: Callable[[sqlite3.Connection], str | None] | None = None,
    limit: int = 100,
    **connection,
) -> Check:
    """Check the store at ``path`` read-only: SQLite's quick (or ``full``) check, then
    ``schema`` (a test of the open connection returning what is wrong, or None). At most
    ``limit`` findings are kept. ``connection``: ``readonly``'s ``immutable`` / ``timeout``."""
    pragma = "integrity_check" if full else "quick_check"
    path = Path(path)
    try:
        with readonly(path, **connection) as db:
            found = _findings(db, f"PRAGMA {pragma}({int(limit)})")
            if found != ["ok"]:
                return Check(path, pragma, "damaged", tuple(found))
            problem = schema(db) if schema is not None else None
    except sqlite3.DatabaseError as exc:
        kind = {_CORRUPT: "damaged", _NOTADB: "not-sqlite"}.get(_code(exc), "unreadable")
        text = str(exc) if kind != "unreadable" else f"cannot be opened ({exc})"
        return Check(path, pragma, kind, (text,))
    if problem:
        return Check(path, pragma, "schema", (problem,))
    return Check(path, pragma, "ok")


def ensure_sound(
    path: Path, *, schema: Callable[[sqlite3.Connection], str | None] | None = None
) -> None:
    """Raise ``StoreDamaged`` unless the quick check (and ``schema``) pass on ``path``."""
    found = check(path, schema=schema)
    if not found.sound:
        raise found.error()


@contextlib.contextmanager
def named_damage(path: Path) -> Iterator[None]:
    """Turn SQLite's "malformed" and "not a database" errors, and text that is not UTF-8,
    raised inside into a ``StoreDamaged`` naming ``path``, and a full disk into a
    ``BenchError`` saying so; other errors pass unchanged."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise damaged(path, f"a stored text is not UTF-8: {exc.reason}") from None
    except sqlite3.DatabaseError as exc:
        if _code(exc) == _NOTADB:
            raise not_sqlite(path, str(exc)) from None
        if _code(exc) == _CORRUPT:
            raise damaged(path, str(exc)) from None
        if _code(exc) == _FULL:  # SQLite rolled the transaction back: the store is whole
            raise BenchError(
                f"store {path}: {exc}; the row being written was not, the rows before it are "
                "kept: free some space and run the same command again"
            ) from None
        raise


def _findings(db: sqlite3.Connection, query: str) -> list[str]:
    """The rows a check pragma returns; SQLite may report a page it cannot read by failing
    the statement after some rows, which ends the list as one more finding."""
    found: list[str] = []
    try:
        for (line,) in db.execute(query):
            found.append(str(line))
    except sqlite3.DatabaseError as exc:
        if not found and _code(exc) != _CORRUPT:
            raise  # not a database, cannot open: the caller classifies it
        found.append(str(exc))
    return found


def _summary(problems: tuple[str, ...]) -> str:
    """SQLite's findings on one line: the banner dropped, the first few joined."""
    lines = [
        part.strip()
        for p in problems
        for part in p.splitlines()
        if part.strip() and not part.startswith("*** in database")
    ]
    text = "; ".join(lines[:_SHOWN])
    return text + (f"; {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else "")


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if code is not None else None  # extended codes share the low byte
