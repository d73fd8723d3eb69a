"""Strict readers of the local data files (the layout of shared/data): TSV, CSV, JSON, JSON Lines.

Local files are parsed strictly: a malformed row is a one-line BenchError naming the
file, the line (or JSON key and item) and what was expected; nothing is dropped, and no
other exception escapes (JSON nested too deeply included: tests/contracts/test_fuzz_data.py
fuzzes them). The checks every reader applies to a row (``nonblank_text``, ``json_text``,
``label_id``) serve the loaders of other layouts (CLINC150's JSON) too, and ``shown``
clips what an error quotes from a file, so a huge line still gives a short message.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from distill_bench import BenchError
from distill_bench.plugins.datasets.labels import BINARY_SENTIMENT


def need_file(path: Path) -> None:
    if not path.is_file():
        raise BenchError(
            f"{path}: file not found (expected the layout of shared/data, see its README.md; "
            "set --data-dir or BENCH_DATA_DIR)"
        )


def decode_utf8(path: Path, data: bytes) -> str:
    """``data`` as text, or an error naming the file, the line and the byte."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchError(
            f"{path}:{line}: expected UTF-8 text, found byte 0x{data[exc.start]:02x} ({exc.reason})"
        ) from None


def _lines(path: Path) -> list[str]:
    """Physical lines: split on LF only (a text may hold U+2028), CR of CRLF removed."""
    need_file(path)
    lines = decode_utf8(path, path.read_bytes()).split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    return [line.removesuffix("\r") for line in lines]


def shown(value: object, limit: int = 60) -> str:
    """``value`` as an error message quotes it: its repr, clipped so that a huge line (a
    file with CR-only line ends reads as one) still gives a short, one-line error."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def describe_labels(values: Sequence[str]) -> str:
    if len(values) <= 8:
        return ", ".join(values)
    return f"the {len(values)} labels ({', '.join(values[:3])}, ..., {values[-1]})"


def label_id(raw: str, lookup: Mapping[str, int], values: Sequence[str], where: str) -> int:
    try:
        return lookup[raw]
    except KeyError:
        raise BenchError(
            f"{where}: label {shown(raw)} is not one of {describe_labels(values)}"
        ) from None


def nonblank_text(raw: str, where: str) -> str:
    text = raw.strip()
    if not text:
        raise BenchError(f"{where}: empty text")
    return text


def json_text(raw: str, where: str) -> str:
    """A text from JSON: non-blank, and no lone surrogate (a ``\\ud800`` escape decodes
    to one), which every later stage would fail to write as UTF-8."""
    text = nonblank_text(raw, where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BenchError(
            f"{where}: text holds a lone surrogate {text[exc.start]!r} (a \\u escape of "
            "half a UTF-16 pair); expected Unicode text"
        ) from None
    return text


def _json_loads(text: str, where: str, expected: str):
    """``json.loads``, its errors (nesting too deep included) as one BenchError line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(
            f"{where}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); expected {expected}"
        ) from None
    except RecursionError:
        raise BenchError(f"{where}: JSON nested too deeply; expected {expected}") from None


def nonempty(path: Path, texts: Sequence[str]) -> None:
    if not texts:
        raise BenchError(f"{path}: no rows")


def read_delimited(
    path: Path,
    *,
    columns: int,
    text_col: int,
    label_col: int,
    label_names: tuple[str, ...],
    header: bool,
    sep: str = "\t",
    label_values: Sequence[str] | None = None,
    header_names: Sequence[str] | None = None,
) -> tuple[list[str], list[int]]:
    """Rows of a TSV-like file (no quoting); a malformed row names file and line.

    ``label_values`` are the labels as written in the file, in id order (default: the
    digits 0..k-1); ``header_names``, when given, must match the header line."""
    values = tuple(label_values or (str(i) for i in range(len(label_names))))
    lookup = {v: i for i, v in enumerate(values)}
    lines = _lines(path)
    if header:
        got = lines[0].split(sep) if lines else []
        if header_names is not None and got != list(header_names):
            raise BenchError(
                f"{path}:1: expected the header {sep.join(header_names)!r}, got {shown(sep.join(got))}"
            )
        lines = lines[1:]
    layout = f" ({', '.join(header_names)})" if header_names else ""
    texts, labels = [], []
    for number, line in enumerate(lines, start=2 if header else 1):
        where = f"{path}:{number}"
        fields = line.split(sep)
        if len(fields) != columns:
            raise BenchError(
                f"{where}: expected {columns} {sep!r}-separated fields{layout}, got {len(fields)}"
            )
        texts.append(nonblank_text(fields[text_col], where))
        labels.append(label_id(fields[label_col].strip(), lookup, values, where))
    nonempty(path, texts)
    return texts, labels


def read_semicolon(path: Path, label_values: Sequence[str]) -> tuple[list[str], list[int]]:
    """``text;label`` lines (Emotion), split on the last ``;``."""
    lookup = {v: i for i, v in enumerate(label_values)}
    texts, labels = [], []
    for number, line in enumerate(_lines(path), start=1):
        where = f"{path}:{number}"
        text, sep, raw = line.rpartition(";")
        if not sep:
            raise BenchError(f"{where}: expected 'text;label', found no ';'")
        texts.append(nonblank_text(text, where))
        labels.append(label_id(raw.strip(), lookup, label_values, where))
    nonempty(path, texts)
    return texts, labels


def read_csv(
    path: Path,
    *,
    columns: int,
    text_col: int,
    label_col: int,
    label_values: Sequence[str],
    header_names: Sequence[str] | None = None,
    unescape: bool = False,
) -> tuple[list[str], list[int]]:
    """RFC-4180 CSV (quotes, embedded commas and newlines, CRLF); errors name the line a
    record starts on. ``unescape`` turns the Zhang et al. escapes ``\\n`` and ``\\"``
    back into a newline and a quote."""
    need_file(path)
    lookup = {v: i for i, v in enumerate(label_values)}
    reader = csv.reader(io.StringIO(decode_utf8(path, path.read_bytes()), newline=""), strict=True)
    layout = f" ({', '.join(header_names)})" if header_names else ""
    texts, labels = [], []
    start, first = 1, True
    try:
        for fields in reader:
            where, start = f"{path}:{start}", reader.line_num + 1
            if header_names is not None and first:
                first = False
                if fields != list(header_names):
                    raise BenchError(
                        f"{where}: expected the header {','.join(header_names)!r}, "
                        f"got {shown(','.join(fields))}"
                    )
                continue
            if len(fields) != columns:
                raise BenchError(
                    f"{where}: expected {columns} comma-separated fields{layout}, got {len(fields)}"
                )
            text = fields[text_col]
            if unescape:
                text = text.replace("\\n", "\n").replace('\\"', '"')
            texts.append(nonblank_text(text, where))
            labels.append(label_id(fields[label_col].strip(), lookup, label_values, where))
    except csv.Error as exc:
        raise BenchError(
            f"{path}:{start}: malformed CSV ({exc}); expected {columns} comma-separated "
            'fields, quoted with " where needed'
        ) from None
    nonempty(path, texts)
    return texts, labels


def read_json(path: Path, expected: str = "a JSON document") -> object:
    need_file(path)
    return _json_loads(decode_utf8(path, path.read_bytes()), str(path), expected)


def read_jsonl_gz(
    path: Path, *, labelled: bool, label_names: tuple[str, ...] = BINARY_SENTIMENT
) -> tuple[list[str], list[int]]:
    """Gzip JSON Lines ``{"text": ..., "label": 0..k-1}`` (``label`` absent when unlabelled;
    the labels returned are then empty)."""
    need_file(path)
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchError(
            f"{path}: not a readable gzip file ({exc}); expected gzip-compressed JSON Lines"
        ) from None
    lines = decode_utf8(path, data).split("\n")
    if lines[-1] == "":
        lines.pop()
    expected = '{"text": ...' + (f', "label": 0..{len(label_names) - 1}}}' if labelled else "}")
    texts, labels = [], []
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(
                f"{where}: not valid JSON ({exc.msg}, column {exc.colno}); expected {expected}"
            ) from None
        except RecursionError:
            raise BenchError(f"{where}: JSON nested too deeply; expected {expected}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise BenchError(f"{where}: expected an object {expected}")
        texts.append(json_text(obj["text"], where))
        if labelled:
            label = obj.get("label")
            if type(label) is not int or not 0 <= label < len(label_names):
                raise BenchError(
                    f"{where}: label {shown(label)} is not one of 0..{len(label_names) - 1}"
                )
            labels.append(label)
    nonempty(path, texts)
    return texts, labels
