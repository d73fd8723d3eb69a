"""The SQLite results store: round trips, replacement, and sharing one file."""

from __future__ import annotations

import dataclasses

import pytest
from distill_bench.store.results import ResultRow, Store


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
