"""The pre-flight look at the local data files: each file's existence and first lines, no full parse.

``bench run`` and ``bench run --dry-run`` call every dataset's ``check_files`` before any
data loads (``DatasetSpec.check_files``), so a missing file or a wrong header stops a
matrix in milliseconds, identically in both. Each check reads at most a file's first two
lines (a gzip file's first line) and raises the error the strict reader
(``readers.py``) would raise for the same fault, word for word where both can see it:
the message names the file, the line and what was expected. A full parse, which finds a
bad row further down, stays the data stage's.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

from distill_bench import BenchError
from distill_bench.plugins.datasets.readers import need_file, nonempty, shown

_LINE_LIMIT = 1 << 20  # a line read for a header check; a longer one is cut here


def head(path: Path, lines: int = 2) -> list[str]:
    """The first ``lines`` physical lines of a text file as the readers split them (LF;
    the CR of CRLF and a leading BOM removed). A missing file, or bytes that are not UTF-8,
    give the readers' one-line error."""
    need_file(path)
    with path.open("rb") as f:
        raw = [f.readline(_LINE_LIMIT) for _ in range(lines)]
    return _decoded(path, [r for r in raw if r])


def _decoded(path: Path, raw: list[bytes]) -> list[str]:
    out = []
    for number, data in enumerate(raw, start=1):
        try:  # not final: a line cut at _LINE_LIMIT may end inside a character
            text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        except UnicodeDecodeError as exc:
            raise BenchError(
                f"{path}:{number}: expected UTF-8 text, found byte 0x{data[exc.start]:02x} "
                f"({exc.reason})"
            ) from None
        out.append(text.removesuffix("\n").removesuffix("\r"))
    if out:
        out[0] = out[0].removeprefix("\ufeff")
    return out


def check_delimited(
    path: Path,
    *,
    columns: int,
    header: bool,
    sep: str = "\t",
    header_names: Sequence[str] | None = None,
) -> None:
    """A TSV-like file (``readers.read_delimited``): its header, when it has one, and the
    field count of its first row."""
    lines = head(path)
    if header:
        got = lines[0].split(sep) if lines else []
        if header_names is not None and got != list(header_names):
            raise BenchError(
                f"{path}:1: expected the header {sep.join(header_names)!r}, "
                f"got {shown(sep.join(got))}"
            )
        lines = lines[1:]
    nonempty(path, lines)
    fields = lines[0].split(sep)
    if len(fields) != columns:
        layout = f" ({', '.join(header_names)})" if header_names else ""
        raise BenchError(
            f"{path}:{2 if header else 1}: expected {columns} {sep!r}-separated fields"
            f"{layout}, got {len(fields)}"
        )


def check_semicolon(path: Path) -> None:
    """``text;label`` lines (``readers.read_semicolon``): the first one."""
    lines = head(path, 1)
    nonempty(path, lines)
    if ";" not in lines[0]:
        raise BenchError(f"{path}:1: expected 'text;label', found no ';'")


def _first_record(path: Path) -> list[str] | None:
    """The first CSV record of ``path`` as ``readers.read_csv`` parses it (CR, LF or CRLF
    ends a record; a quoted field may span lines); [] for an empty file; None when the
    record is malformed or does not end within the first ``_LINE_LIMIT`` bytes (the full
    parse judges it)."""
    need_file(path)
    with path.open("rb") as f:
        data = f.read(_LINE_LIMIT)
        whole = not f.read(1)
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1  # the line readers.decode_utf8 names
        raise BenchError(
            f"{path}:{line}: expected UTF-8 text, found byte 0x{data[exc.start]:02x} ({exc.reason})"
        ) from None
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        first = next(reader, None)
    except csv.Error:
        return None
    if first is None:
        return []
    try:
        ended = whole or next(reader, None) is not None
    except csv.Error:
        ended = True  # the second record is malformed, so the first one ended
    return first if ended else None


def check_csv(path: Path, *, columns: int, header_names: Sequence[str] | None = None) -> None:
    """An RFC-4180 CSV (``readers.read_csv``): its header, when it has one, else the field
    count of its first record."""
    fields = _first_record(path)
    if fields == []:
        raise BenchError(f"{path}: no rows")
    if fields is None:
        return  # malformed or longer than we read: the full parse judges it
    if header_names is not None:
        if fields != list(header_names):
            raise BenchError(
                f"{path}:1: expected the header {','.join(header_names)!r}, "
                f"got {shown(','.join(fields))}"
            )
    elif len(fields) != columns:
        raise BenchError(f"{path}:1: expected {columns} comma-separated fields, got {len(fields)}")


def check_jsonl_gz(path: Path, *, labelled: bool) -> None:
    """Gzip JSON Lines (``readers.read_jsonl_gz``): a gzip file whose first line is an
    object with a ``text`` (and a ``label``, when labelled)."""
    need_file(path)
    expected = '{"text": ...' + (', "label": ...}' if labelled else "}")
    try:
        with gzip.open(path, "rb") as f:
            first = f.readline(_LINE_LIMIT)
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchError(
            f"{path}: not a readable gzip file ({exc}); expected gzip-compressed JSON Lines"
        ) from None
    lines = _decoded(path, [first] if first else [])
    nonempty(path, lines)
    try:
        obj = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        if len(first) == _LINE_LIMIT:
            return  # a line longer than we read: the full parse judges it
        raise BenchError(
            f"{path}:1: not valid JSON ({exc.msg}, column {exc.colno}); expected {expected}"
        ) from None
    except RecursionError:
        raise BenchError(f"{path}:1: JSON nested too deeply; expected {expected}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise BenchError(f"{path}:1: expected an object {expected}")
    if labelled and "label" not in obj:
        raise BenchError(f"{path}:1: no 'label'; expected an object {expected}")


def check_json_object(path: Path, expected: str) -> None:
    """A JSON file whose document is an object: its first non-blank character is ``{``.
    ``expected`` says what the object holds, as the loader's error does."""
    need_file(path)
    with path.open("rb") as f:
        start = f.read(4096).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")[:1]
    if start != "{":
        raise BenchError(f"{path}: expected a JSON object {expected}")
