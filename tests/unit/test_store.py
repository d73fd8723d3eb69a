"""The SQLite results store: round trips, replacement, sharing one file, and a damaged file
named in one line, never written, its readable rows recovered."""

from __future__ import annotations

import dataclasses

import pytest
from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.integrity import StoreDamaged, check
from distill_bench.store.recover import MAX_ROWID, recover
from distill_bench.store.results import ResultRow, Store, write_store_file


def make_row(key: str = "cell-1", matrix: str = "quick", status: str = "ok", **kw) -> ResultRow:
    fields = dict(
        matrix=matrix,
        key=key,
        role="student",
        dataset="sst2",
        teacher="tiny-bert",
        student="mlp",
        loss="kd-soft",
        augmenter="none",
        seed=3,
        status=status,
        config={"budget": {"student_lr": 0.001, "max_length": 64}, "seed": 3},
        metrics={"accuracy": 0.8125, "primary": 0.8125, "eval_split": "dev"},
        measurements={"params_total": 1234, "cpu_throughput": {"median": 99.5, "spread": 0.1}},
        timings={
            "student": {"key": "abc", "seconds": 1.5},
            "annotate": {"key": "x", "seconds": None},
        },
        environment={"torch": "2.13.0", "threads": [1, 2]},
    )
    fields.update(kw)
    return ResultRow(**fields)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "nested" / "results.sqlite")


def test_put_rows_round_trip(store):
    """A row comes back equal, JSON fields decoded to the same nested dicts and lists."""
    row = make_row(created_at="2024-01-02T03:04:05+00:00")
    store.put(row)
    assert store.rows() == [row]
    (back,) = store.rows("quick")
    assert back.measurements["cpu_throughput"]["median"] == 99.5
    assert back.timings["annotate"]["seconds"] is None
    assert back.environment["threads"] == [1, 2]
    assert isinstance(back.seed, int) and back.seed == 3


def test_put_fills_created_at(store):
    """A row without created_at is stamped with an ISO time; the rest is unchanged."""
    row = make_row()
    store.put(row)
    (back,) = store.rows()
    assert back.created_at and back.created_at[:2] == "20" and "T" in back.created_at
    assert dataclasses.replace(back, created_at="") == row


def test_put_twice_replaces(store):
    """Writing the same (matrix, key) again replaces the row instead of adding one."""
    store.put(make_row(status="failed", stage="student", error="boom"))
    store.put(make_row(metrics={"primary": 0.9}))
    rows = store.rows()
    assert len(rows) == 1
    assert rows[0].status == "ok" and rows[0].error == "" and rows[0].metrics == {"primary": 0.9}


def test_same_key_in_two_matrices_is_two_rows(store):
    """The key is unique per matrix only: another matrix keeps its own row."""
    store.put(make_row(matrix="a"))
    store.put(make_row(matrix="b"))
    assert len(store.rows()) == 2
    assert store.matrices() == ["a", "b"]


def test_done_only_for_ok_rows(store):
    """done() is true for a stored ok row, false for failed or unknown ones."""
    store.put(make_row("good"))
    store.put(make_row("bad", status="failed", stage="measure", error="x"))
    assert store.done("quick", "good")
    assert not store.done("quick", "bad")
    assert not store.done("quick", "missing")
    assert not store.done("other-matrix", "good")


def test_rows_filters_by_matrix(store):
    """rows(matrix) returns that matrix's rows only; rows() returns all."""
    store.put(make_row("k1", matrix="a"))
    store.put(make_row("k2", matrix="a"))
    store.put(make_row("k3", matrix="b"))
    assert sorted(r.key for r in store.rows("a")) == ["k1", "k2"]
    assert [r.key for r in store.rows("b")] == ["k3"]
    assert store.rows("c") == []
    assert len(store.rows()) == 3


def test_two_stores_on_one_file_share_rows(tmp_path):
    """Two Store objects (e.g. two processes) on the same file see each other's writes."""
    path = tmp_path / "results.sqlite"
    first, second = Store(path), Store(path)
    first.put(make_row("from-first"))
    second.put(make_row("from-second"))
    assert {r.key for r in first.rows()} == {"from-first", "from-second"}
    assert second.done("quick", "from-first")
    assert first.done("quick", "from-second")


def test_statuses(store):
    """statuses() maps the matrix's row keys to ok/failed, for all rows or one."""
    store.put(make_row("good"))
    store.put(make_row("bad", status="failed", stage="student", error="x"))
    store.put(make_row("elsewhere", matrix="other"))
    assert store.statuses("quick") == {"good": "ok", "bad": "failed"}
    assert store.statuses("quick", "bad") == {"bad": "failed"}
    assert store.statuses("quick", "missing") == {}


WRITER = """
import sys
sys.path.insert(0, sys.argv[3])
from tests.unit.test_store import make_row
from distill_bench.store.results import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[4])):
    store.put(make_row(f"{sys.argv[2]}-{i}"))
    print(i, flush=True)
"""


def _writers(path, names, rows: int):
    import subprocess
    import sys
    from pathlib import Path

    here = str(Path(__file__).parents[2])  # the repo root: tests is a package
    return [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, here, str(rows)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in names
    ]  # fmt: skip


def test_concurrent_writers_lose_no_rows(tmp_path):
    """Three processes writing to one store at once: every row arrives."""
    path = tmp_path / "bench.sqlite"
    Store(path)
    procs = _writers(path, ["a", "b", "c"], 60)
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert len(Store(path).rows("quick")) == 180


def test_sigkill_while_writing_leaves_whole_rows(tmp_path):
    """A writer killed mid-stream: the database is intact, each row is whole, and a new
    writer goes on."""
    import sqlite3

    path = tmp_path / "bench.sqlite"
    Store(path)
    (proc,) = _writers(path, ["k"], 100_000)
    for _ in range(30):
        proc.stdout.readline()
    proc.kill()
    proc.wait()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = Store(path).rows("quick")
    assert len(rows) >= 30
    assert all(r == make_row(r.key, created_at=r.created_at) for r in rows)
    Store(path).put(make_row("after"))
    assert Store(path).done("quick", "after")


def test_row_lock_is_per_row(store):
    """A run holding one row's lock does not block another row, nor another matrix."""
    first = store.row_lock("quick", "k1")
    assert first.acquire(block=False)
    try:
        assert not store.row_lock("quick", "k1").acquire(block=False)
        other = store.row_lock("quick", "k2")
        assert other.acquire(block=False)
        other.release()
        third = store.row_lock("other", "k1")
        assert third.acquire(block=False)
        third.release()
    finally:
        first.release()


# ---------------------------------------------------------------------------------------
# a damaged store: named in one line, never written, its readable rows recoverable

PAGE_TABLE_LEAF = 0x0D  # SQLite's page type byte of a table b-tree leaf


def sha256(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def many_rows(n: int = 300, matrix: str = "quick") -> list[ResultRow]:
    """Rows of about 700 bytes each: a few hundred fill dozens of 4 KB pages."""
    return [make_row(f"cell-{i:04d}", matrix=matrix, created_at=f"2024-01-01T00:{i:04d}") for i in range(n)]  # fmt: skip


def write_real_store(path, rows) -> None:
    """A store as a run leaves it (WAL mode, schema version set, everything checkpointed)."""
    write_store_file(path, rows)
    Store(path)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``at``: (value, offset after it)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def table_leaf_pages(path) -> dict[int, list[int]]:
    """Page number -> the rowids on it, for every leaf page of the results table (the only
    rowid table besides sqlite_master, which is page 1), read from the raw file."""
    data = path.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    leaves = {}
    for number in range(2, len(data) // size + 1):
        page = data[(number - 1) * size : number * size]
        if page[0] != PAGE_TABLE_LEAF:
            continue
        cells = int.from_bytes(page[3:5], "big")
        rowids = []
        for i in range(cells):
            at = int.from_bytes(page[8 + 2 * i : 10 + 2 * i], "big")
            _, at = _varint(page, at)  # the payload's length
            rowids.append(_varint(page, at)[0])
        leaves[number] = rowids
    return leaves


def break_middle_leaf(path) -> list[int]:
    """Overwrite a leaf page of the results table in the middle of the file with random
    bytes (its first byte kept invalid); return the rowids that were on it."""
    import random

    leaves = table_leaf_pages(path)
    number = sorted(leaves)[len(leaves) // 2]
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    junk = bytearray(random.Random(number).randbytes(size))
    junk[0] = 0x00  # not a page type
    data[(number - 1) * size : number * size] = junk
    path.write_bytes(bytes(data))
    return leaves[number]


def rowids_by_key(path) -> dict[int, str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT rowid, key FROM results"))


def assert_kept(path, digest, exc) -> str:
    """The error is one line naming the file; the file's bytes are as they were."""
    message = str(exc)
    assert "\n" not in message and str(path) in message
    assert sha256(path) == digest
    return message


def test_garbage_is_named_not_touched(tmp_path):
    """Random bytes: not a SQLite database, said in one line; the file is left as it was."""
    path = tmp_path / "bench.sqlite"
    path.write_bytes(bytes(range(256)) * 40)
    digest = sha256(path)
    with pytest.raises(StoreDamaged) as caught:
        Store(path)
    assert "is not a SQLite database" in assert_kept(path, digest, caught.value)
    assert not (tmp_path / "bench.sqlite.init.lock").exists()  # failed before anything else
    with pytest.raises(BenchError, match="no rows to recover"):
        recover(path, tmp_path / "new.sqlite")
    assert not (tmp_path / "new.sqlite").exists()


def test_truncated_store_is_named_and_its_first_rows_recovered(tmp_path):
    """A store cut in half (a full disk, a bad copy): damaged, the recover command in the
    hint; recovery keeps every row it can read, each exactly as stored."""
    path = tmp_path / "bench.sqlite"
    rows = many_rows()
    write_real_store(path, rows)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    digest = sha256(path)
    with pytest.raises(StoreDamaged) as caught:
        Store(path)
    message = assert_kept(path, digest, caught.value)
    assert "is damaged" in message and "bench store recover --results-dir" in message
    done = recover(path, tmp_path / "new.sqlite")
    back = Store(tmp_path / "new.sqlite").rows()
    assert 0 < len(back) < len(rows) and done.total_recovered == len(back)
    assert all(r in rows for r in back)
    assert done.unread and done.unread[-1][1] == MAX_ROWID  # the rest of the table is gone
    assert sha256(path) == digest


def test_broken_page_loses_only_its_rows(tmp_path):
    """A real store with one page of the table overwritten: named and kept; recovery copies
    every row except those on that page, and counts those from the key index."""
    path = tmp_path / "bench.sqlite"
    rows = many_rows()
    write_real_store(path, rows)
    keys = rowids_by_key(path)
    broken = break_middle_leaf(path)
    assert 1 <= len(broken) < 20
    digest = sha256(path)
    with pytest.raises(StoreDamaged) as caught:
        Store(path)
    assert "is damaged (quick_check: " in assert_kept(path, digest, caught.value)
    assert not check(path, full=True).sound
    done = recover(path, tmp_path / "new.sqlite")
    lost = {keys[r] for r in broken}
    assert {r.key for r in Store(tmp_path / "new.sqlite").rows()} == set(keys.values()) - lost
    assert Store(tmp_path / "new.sqlite").rows() == [r for r in rows if r.key not in lost]
    assert done.lost == {"quick": len(broken)} and done.recovered == {"quick": 300 - len(broken)}
    assert sha256(path) == digest


def test_damage_inside_a_row_is_found_when_read(tmp_path):
    """Bytes changed inside one row's text pass the page check; reading the row is then the
    one-line error, and recovery loses that row alone."""
    path = tmp_path / "bench.sqlite"
    rows = many_rows(50)
    rows[20] = dataclasses.replace(rows[20], metrics={"primary": "MARKER-MARKER"})
    write_real_store(path, rows)
    data = path.read_bytes()
    assert data.count(b"MARKER-MARKER") == 1
    path.write_bytes(data.replace(b"MARKER-MARKER", b"\xff\xfe" * 6 + b"\xff"))
    digest = sha256(path)
    store = Store(path)  # the page structure is whole: the quick check passes
    with pytest.raises(StoreDamaged, match="is damaged .*not UTF-8"):
        store.rows()
    assert store.statuses("quick")["cell-0020"] == "ok"  # what does not read the row works
    done = recover(path, tmp_path / "new.sqlite")
    assert Store(tmp_path / "new.sqlite").rows() == rows[:20] + rows[21:]
    assert done.lost == {"quick": 1}
    assert sha256(path) == digest


def test_json_damage_inside_a_row_is_named(tmp_path):
    """A JSON field that no longer parses: the error names the row."""
    path = tmp_path / "bench.sqlite"
    write_real_store(path, [make_row("k", metrics={"primary": "MARKER"})])
    path.write_bytes(path.read_bytes().replace(b'{"primary": "MARKER"}', b'{"primary": "MARKER"!'))
    with pytest.raises(StoreDamaged, match=r"row 'quick'/'k' cannot be decoded"):
        Store(path).rows()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("CREATE TABLE results (matrix TEXT, key TEXT, score REAL)", "cannot read"),
        ("CREATE TABLE notes (text TEXT)", "not a results store"),
        ("PRAGMA user_version = 99", "newer distill-bench"),
    ],
)
def test_another_schema_is_named_not_touched(tmp_path, setup, expected):
    """A SQLite file this version cannot use as its store: one line, the file unchanged."""
    import sqlite3

    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(setup)
    digest = sha256(path)
    with pytest.raises(StoreDamaged, match=expected) as caught:
        Store(path)
    assert_kept(path, digest, caught.value)


def test_a_store_from_before_schema_versions_opens(tmp_path):
    """A store written before user_version was set (0) opens, keeps its rows, and is
    stamped with the current version; an empty file is a new store."""
    import sqlite3

    from distill_bench.store.results import _SCHEMA, SCHEMA_VERSION

    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(_SCHEMA)
    Store(path).put(make_row("old"))
    assert [r.key for r in Store(path).rows()] == ["old"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    Store(empty).put(make_row())
    assert len(Store(empty).rows()) == 1


def test_check_reports_sound_store_and_never_creates_one(tmp_path):
    """Quick and full checks pass on a sound store; checking a missing path creates
    nothing."""
    path = tmp_path / "bench.sqlite"
    write_real_store(path, many_rows(40))
    assert check(path).sound and check(path, full=True).sound
    assert (
        check(path).pragma == "quick_check" and check(path, full=True).pragma == "integrity_check"
    )
    missing = tmp_path / "none" / "bench.sqlite"
    assert check(missing).kind == "unreadable" and not missing.parent.exists()


def test_recover_copies_a_sound_store_whole(tmp_path):
    """A sound store recovers every row, equal; an existing --out is refused."""
    path = tmp_path / "bench.sqlite"
    rows = many_rows(120) + many_rows(5, matrix="other")
    write_real_store(path, rows)
    done = recover(path, tmp_path / "out" / "new.sqlite")
    assert done.recovered == {"other": 5, "quick": 120} and done.lost == {}
    assert not done.unread
    assert Store(tmp_path / "out" / "new.sqlite").rows() == Store(path).rows()
    with pytest.raises(BenchError, match="exists"):
        recover(path, tmp_path / "out" / "new.sqlite")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["new.sqlite"]  # no scratch left


def test_a_full_disk_is_one_line_and_keeps_the_rows(tmp_path, monkeypatch):
    """A write that finds the disk full is rolled back by SQLite: one line saying so, and
    the rows before it stay (a store capped at its current size stands in for the disk)."""
    import sqlite3

    path = tmp_path / "bench.sqlite"
    Store(path).put(make_row("before"))
    connect = sqlite3.connect

    def full_disk(*args, **kw):
        db = connect(*args, **kw)
        db.execute("PRAGMA max_page_count = 1")  # SQLite keeps it at the file's current size
        return db

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    with pytest.raises(BenchError, match="database or disk is full; the row being written"):
        Store(path).put(make_row("big", environment={"pad": "x" * 20_000}))
    monkeypatch.undo()
    assert [r.key for r in Store(path).rows()] == ["before"]
    assert check(path).sound
