"""Fuzzing the dataset loaders: a damaged data file gives a valid task or one BenchError.

Every built-in dataset is written as a tiny, valid copy of shared/data's layout
(``fuzz_inputs.TEMPLATE``); each generated example damages one of its files (random bytes,
truncation, a wrong column count, a foreign encoding, a BOM, CRLF or lone CR, a huge
line, a missing file, another split copied over it, a changed JSON node) and loads the
dataset through its plugin's factory, as the data stage does. The contract, for every
example: either a ``TaskData`` whose splits are non-empty, whose texts are real text and
whose labels are in range, or exactly one ``BenchError`` on one line that names the file
(with its line when a row is at fault) or the dataset, never any other exception.

Failing examples the fuzzer found stay in ``FOUND``, replayed by ``test_found_damage``.
``BENCH_FUZZ_EXAMPLES=2000`` runs a deeper search than the bounded default.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from distill_bench import BenchError
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.tasks import TaskData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.fuzz_inputs import (
    DATASETS,
    FILES,
    FOLDER,
    SEPARATOR,
    TEMPLATE,
    write_dataset_files,
)

EXAMPLES = int(os.environ.get("BENCH_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # one example is milliseconds; a slow CI machine must not flake
    derandomize=True,  # the same examples on every run: CI never finds something new by luck
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# -- damage: one file of one dataset changed one way ----------------------------------------


@dataclass(frozen=True)
class Damage:
    """``file`` (relative to the data dir) of ``dataset`` changed by ``how`` with ``arg``.

    how: bytes (the whole file), delete, prefix, crlf, cr, truncate (keep ``arg`` bytes),
    line / insert (``(index, bytes)``: replace or insert a line), drop_sep / add_sep (at
    line ``arg``), copy_from (another file's bytes), json (``(index, value)``: replace
    the ``index``-th node). A gzip file is damaged inside (its text, recompressed) unless
    ``raw``."""

    dataset: str
    file: str
    how: str
    arg: Any = None
    raw: bool = False

    def apply(self, data: bytes) -> bytes | None:
        gz = self.file.endswith(".gz") and not self.raw
        text = gzip.decompress(data) if gz else data
        out = _damage(text, self.how, self.arg, SEPARATOR[self.file.rsplit(".", 1)[-1]])
        return out if out is None or not gz else gzip.compress(out, mtime=0)


def _damage(data: bytes, how: str, arg: Any, sep: bytes) -> bytes | None:
    lines = data.split(b"\n")
    at = lambda i: i % max(len(lines), 1)  # noqa: E731
    if how == "bytes":
        return arg
    if how == "delete":
        return None
    if how == "prefix":
        return arg + data
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    if how == "cr":
        return data.replace(b"\n", b"\r")
    if how == "truncate":
        return data[: arg % (len(data) + 1)]
    if how == "line":
        lines[at(arg[0])] = arg[1]
    elif how == "insert":
        lines.insert(at(arg[0]), arg[1])
    elif how == "drop_sep":
        lines[at(arg)] = lines[at(arg)].replace(sep, b" ", 1)
    elif how == "add_sep":
        lines[at(arg)] += sep + b"extra"
    elif how == "copy_from":
        return TEMPLATE[arg] if not arg.endswith(".gz") else gzip.decompress(TEMPLATE[arg])
    elif how == "json":
        return json.dumps(_replace_node(json.loads(data), arg[0], arg[1])).encode()
    else:
        raise AssertionError(f"unknown damage {how!r}")
    return b"\n".join(lines)


def _replace_node(obj: Any, index: int, value: Any) -> Any:
    """``obj`` with its ``index``-th node (pre-order, modulo the count) replaced by ``value``."""
    nodes: list[tuple[Any, Any]] = []  # (container, key) of every node but the root

    def walk(node):
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in items:
            nodes.append((node, key))
            walk(child)

    walk(obj)
    if not nodes:
        return value
    container, key = nodes[index % len(nodes)]
    container[key] = value
    return obj


# -- strategies ------------------------------------------------------------------------------

LINE_BYTES = st.one_of(
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"caf\xe9\tlatin-1",  # a Latin-1 byte in UTF-8 text
            "caf\u00e9;joy\t1".encode("utf-16"),  # UTF-16, BOM and all
            b"\xef\xbb\xbfsentence\tlabel",  # a BOM inside the file
            b"\x00\x00\t0",
            b"x" * 300_000,  # a huge line
            b"good film \t" + b"1" * 5000,
            b'"unterminated, quote',
            b'{"text": "a", "label": 1e400}',
            b'{"text": "\\ud800 lone surrogate", "label": 0}',
            b"[" * 5000,
            b"",
            b"\t\t\t",
            b";;;",
        ]
    ),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def damages(draw) -> Damage:
    dataset = draw(st.sampled_from(DATASETS))
    file = draw(st.sampled_from(FILES[dataset]))
    others = [f for f in FILES[dataset] if f != file]
    hows = [
        "bytes",
        "delete",
        "prefix",
        "crlf",
        "cr",
        "truncate",
        "line",
        "insert",
        "drop_sep",
        "add_sep",
    ]
    hows += ["copy_from"] if others else []
    hows += ["json"] if file.endswith(".json") else []
    how = draw(st.sampled_from(hows))
    index = st.integers(0, 10_000)
    arg = {
        "bytes": st.binary(max_size=400),
        "prefix": st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\n", b"\r\n"]),
        "truncate": index,
        "line": st.tuples(index, LINE_BYTES),
        "insert": st.tuples(index, LINE_BYTES),
        "drop_sep": index,
        "add_sep": index,
        "copy_from": st.sampled_from(others or [file]),
        "json": st.tuples(index, JSON_VALUES),
    }.get(how, st.none())
    raw = file.endswith(".gz") and how in ("bytes", "truncate", "prefix") and draw(st.booleans())
    return Damage(dataset, file, how, draw(arg), raw)


# -- the contract --------------------------------------------------------------------------

REGISTRY = load_registry()


def load(dataset: str, data_dir: Path) -> TaskData:
    spec = REGISTRY.get("datasets", dataset)
    return spec.factory(spec.resolve({}, f"dataset {dataset!r}"), data_dir)


def assert_valid_task(task: Any, dataset: str) -> None:
    assert isinstance(task, TaskData), f"{dataset}: the factory returned {type(task).__name__}"
    spec = REGISTRY.get("datasets", dataset)
    declared = spec.label_count(spec.resolve({}, dataset))
    assert declared in (None, task.num_labels), (
        f"{dataset}: {task.num_labels} labels, declared {declared}"
    )
    for split in (task.train, task.select, task.evaluation):
        assert len(split) > 0, f"{dataset}: split {split.name!r} is empty"
        for text in split.texts:
            assert isinstance(text, str) and text.strip(), f"{dataset}: blank text {text!r}"
            text.encode("utf-8")  # no lone surrogate: every later stage writes UTF-8
        assert all(type(y) is int and 0 <= y < task.num_labels for y in split.labels)
    for text in task.unlabelled:
        text.encode("utf-8")


def assert_names_where(message: str, dataset: str, data_dir: Path) -> None:
    """One line naming a file of the dataset (with a line in range when it gives one), or
    the dataset itself for a problem of the whole dataset (too few examples to hold out)."""
    assert "\n" not in message and "\r" not in message, f"more than one line: {message!r}"
    assert len(message) < 1000, f"message of {len(message)} characters: {message[:200]!r}..."
    if message.startswith(f"dataset {dataset!r}:"):
        return
    folder = data_dir / FOLDER[dataset]
    named = [p for p in sorted(folder.iterdir()) if str(p) in message] if folder.is_dir() else []
    assert named or str(folder) in message, f"names no file of {folder}: {message!r}"
    for path in named:
        for number in re.findall(re.escape(str(path)) + r":(\d+)", message):
            data = path.read_bytes()
            if path.suffix == ".gz":
                try:
                    data = gzip.decompress(data)
                except Exception:  # noqa: BLE001 - a broken gzip has no lines to count
                    continue
            assert 1 <= int(number) <= data.count(b"\n") + 2, f"line {number} not in {path}"


def check_files(dataset: str, data_dir: Path) -> BenchError | None:
    """The pre-flight's look at the files (``DatasetSpec.check_files``): what it raised."""
    spec = REGISTRY.get("datasets", dataset)
    check = getattr(spec, "check_files", None)
    if check is None:
        return None
    try:
        check(spec.resolve({}, f"dataset {dataset!r}"), data_dir)
    except BenchError as exc:
        return exc
    return None


def check_damage(damage: Damage) -> None:
    """The loader's contract on one damaged file, and the pre-flight's: its check raises
    the same one-line errors, and never refuses files the loader accepts."""
    files = dict(TEMPLATE)
    damaged = damage.apply(files[damage.file])
    if damaged is None:
        del files[damage.file]
    else:
        files[damage.file] = damaged
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = write_dataset_files(Path(tmp), files)
        refused = check_files(damage.dataset, data_dir)
        if refused is not None:
            assert_names_where(str(refused), damage.dataset, data_dir)
        try:
            task = load(damage.dataset, data_dir)
        except BenchError as exc:
            assert_names_where(str(exc), damage.dataset, data_dir)
        else:
            assert refused is None, f"the pre-flight refused what the loader accepts: {refused}"
            assert_valid_task(task, damage.dataset)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_tiny_copy_of_every_dataset_loads(dataset, tmp_path):
    data_dir = write_dataset_files(tmp_path)
    assert check_files(dataset, data_dir) is None
    assert_valid_task(load(dataset, data_dir), dataset)


# Failing examples the fuzzer found, kept: each was a traceback or a wrong answer once.
FOUND = [
    # json.loads' RecursionError escaped the JSON Lines and JSON readers
    Damage("imdb", "imdb/test.jsonl.gz", "line", (0, b"[" * 5000)),
    Damage("clinc150", "clinc150/data_full.json", "bytes", b"[" * 5000),
    # a \ud800 escape made a text no later stage could write as UTF-8
    Damage(
        "imdb", "imdb/test.jsonl.gz", "line", (0, b'{"text": "\\ud800 lone surrogate", "label": 0}')
    ),
    Damage("clinc150", "clinc150/data_full.json", "json", (2, "\ud800")),
    # a header of a file with CR-only line ends is the whole file: a 3,000-character error
    Damage("trec", "trec/train.tsv", "cr"),
    Damage("banking77", "banking77/test.csv", "line", (0, b"[" * 5000)),
    # ... and the pre-flight refused a CR-only CSV that the CSV reader accepts
    Damage("banking77", "banking77/test.csv", "cr"),
    # train = dev: heldout_indices' ValueError escaped; a tiny train held out no example
    Damage("sst2", "sst2/dev.tsv", "copy_from", "sst2/train.tsv"),
    Damage("trec-fine", "trec/test.tsv", "copy_from", "trec/train.tsv"),
    Damage("sst2", "sst2/train.tsv", "truncate", 200),
]


@pytest.mark.parametrize("damage", FOUND, ids=lambda d: f"{d.dataset}-{d.how}")
def test_found_damage(damage):
    check_damage(damage)


@FUZZ
@given(damages())
def test_damaged_file(damage):
    check_damage(damage)
