"""The stage cache: atomic entries with checksums, and data-directory fingerprints."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from distill_bench.store.cache import MANIFEST, Cache, fingerprint_tree, read_json, write_json


@pytest.fixture
def log() -> list[str]:
    """What the cache reports, collected instead of printed."""
    return []


@pytest.fixture
def cache(tmp_path, log):
    return Cache(tmp_path / "cache", log=log.append)


def write_entry(cache: Cache, stage: str = "teacher", key: str = "abc123") -> None:
    with cache.put(stage, key) as scratch:
        write_json(scratch / "facts.json", {"epochs": 3})
        (scratch / "weights.bin").write_bytes(bytes(range(256)) * 4)
        (scratch / "tokenizer").mkdir()
        (scratch / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")


def leftovers(cache: Cache, stage: str) -> list[str]:
    return sorted(p.name for p in (cache.root / stage).iterdir())


def test_put_get_round_trip(cache, log):
    """What is written inside put() is what get() returns, nested files included."""
    assert cache.get("teacher", "abc123") is None
    assert not cache.exists("teacher", "abc123")
    write_entry(cache)
    entry = cache.get("teacher", "abc123")
    assert entry == cache.entry("teacher", "abc123")
    assert cache.exists("teacher", "abc123")
    assert read_json(entry / "facts.json") == {"epochs": 3}
    assert (entry / "weights.bin").read_bytes() == bytes(range(256)) * 4
    assert (entry / "tokenizer" / "vocab.txt").read_text().splitlines()[-1] == "hello"
    manifest = json.loads((entry / MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "facts.json",
        "weights.bin",
        os.path.join("tokenizer", "vocab.txt"),
    }
    assert leftovers(cache, "teacher") == ["abc123"]  # no scratch directory left
    assert log == []


def test_stages_and_keys_are_separate(cache):
    """Entries are addressed by (stage, key)."""
    write_entry(cache, "teacher", "k1")
    assert cache.get("annotate", "k1") is None
    assert cache.get("teacher", "k2") is None


def test_failed_write_leaves_nothing(cache):
    """An exception while writing leaves no entry and no scratch directory behind."""
    with pytest.raises(RuntimeError, match="out of memory"):
        with cache.put("teacher", "abc123") as scratch:
            (scratch / "half.bin").write_bytes(b"\0" * 100)
            assert not cache.exists("teacher", "abc123")  # not visible while being written
            raise RuntimeError("out of memory")
    assert cache.get("teacher", "abc123") is None
    assert not cache.entry("teacher", "abc123").exists()
    assert leftovers(cache, "teacher") == []


def test_failed_rewrite_keeps_the_old_entry(cache):
    """A failed recompute does not destroy an intact entry that was already there."""
    write_entry(cache)
    with pytest.raises(KeyboardInterrupt):
        with cache.put("teacher", "abc123") as scratch:
            (scratch / "facts.json").write_text("{}")
            raise KeyboardInterrupt
    assert read_json(cache.get("teacher", "abc123") / "facts.json") == {"epochs": 3}
    assert leftovers(cache, "teacher") == ["abc123"]


def test_rewrite_replaces_entry(cache):
    """Writing a key again replaces the entry as a whole."""
    write_entry(cache)
    with cache.put("teacher", "abc123") as scratch:
        write_json(scratch / "other.json", [1])
    entry = cache.get("teacher", "abc123")
    assert sorted(p.name for p in entry.iterdir()) == [MANIFEST, "other.json"]


def test_corrupted_file_is_detected_and_removed(cache, log):
    """One flipped byte fails the checksum: get() reports it, removes the entry, returns None."""
    write_entry(cache)
    weights = cache.entry("teacher", "abc123") / "weights.bin"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert cache.get("teacher", "abc123") is None
    assert len(log) == 1 and "teacher/abc123" in log[0] and "weights.bin" in log[0]
    assert not cache.entry("teacher", "abc123").exists()
    write_entry(cache)  # and it can be recomputed
    assert cache.get("teacher", "abc123") is not None


def test_missing_file_is_detected(cache, log):
    """A file listed in the manifest but gone counts as damage."""
    write_entry(cache)
    (cache.entry("teacher", "abc123") / "tokenizer" / "vocab.txt").unlink()
    assert cache.get("teacher", "abc123") is None
    assert "vocab.txt" in log[0]


def test_corrupted_manifest_is_detected(cache, log):
    """An unreadable manifest makes the entry damaged, not a crash."""
    write_entry(cache)
    (cache.entry("teacher", "abc123") / MANIFEST).write_text("{not json")
    assert cache.get("teacher", "abc123") is None
    assert MANIFEST in log[0]
    assert not cache.entry("teacher", "abc123").exists()


def test_partial_directory_without_manifest_is_a_miss(cache, log):
    """A directory with no manifest (e.g. copied by hand) is not treated as an entry."""
    entry = cache.entry("teacher", "abc123")
    entry.mkdir(parents=True)
    (entry / "facts.json").write_text("{}")
    assert cache.get("teacher", "abc123") is None
    assert not cache.exists("teacher", "abc123")
    assert log == []


# --- fingerprint_tree -------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "data"
    (root / "sst2").mkdir(parents=True)
    (root / "sst2" / "train.tsv").write_text("sentence\tlabel\ngood\t1\n")
    (root / "sst2" / "dev.tsv").write_text("sentence\tlabel\nbad\t0\n")
    return root


def test_fingerprint_is_stable(data_dir):
    """Nothing changed, same fingerprint."""
    assert fingerprint_tree(data_dir) == fingerprint_tree(data_dir)


def test_fingerprint_changes_with_content(data_dir):
    """Editing a file (size changes) changes the fingerprint."""
    before = fingerprint_tree(data_dir)
    (data_dir / "sst2" / "train.tsv").write_text("sentence\tlabel\ngood\t1\nfine\t1\n")
    assert fingerprint_tree(data_dir) != before


def test_fingerprint_changes_with_same_size_content(data_dir):
    """Same size, same modification time, other bytes: the fingerprint changes."""
    path = data_dir / "sst2" / "dev.tsv"
    stat = path.stat()
    before = fingerprint_tree(data_dir)
    path.write_text(path.read_text().replace("bad", "mad"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint_tree(data_dir) != before


def test_fingerprint_survives_a_fresh_copy_elsewhere(data_dir, tmp_path):
    """The same files copied to another place with new mtimes (data provisioned again): the
    same fingerprint, so cached teachers and students are found again."""
    before = fingerprint_tree(data_dir)
    copy = shutil.copytree(data_dir, tmp_path / "elsewhere", copy_function=shutil.copyfile)
    path = copy / "sst2" / "dev.tsv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint_tree(copy) == before


def test_fingerprint_changes_with_new_or_renamed_file(data_dir):
    """Adding or renaming a file changes the fingerprint."""
    before = fingerprint_tree(data_dir)
    (data_dir / "cola").mkdir()
    (data_dir / "cola" / "train.tsv").write_text("x")
    added = fingerprint_tree(data_dir)
    assert added != before
    (data_dir / "cola" / "train.tsv").rename(data_dir / "cola" / "dev.tsv")
    assert fingerprint_tree(data_dir) not in (before, added)


# --- locks: one writer per key, free again when its holder dies -----------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from distill_bench.store.cache import Cache
cache = Cache(Path(sys.argv[1]))
with cache.lock("teacher", "abc123"):
    with cache.put("teacher", "abc123") as scratch:
        (scratch / "half.bin").write_bytes(b"x" * 1000)
        print("holding", flush=True)
        time.sleep(600)
"""


def _holder(cache: Cache):
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(cache.root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "holding"
    return child


def test_lock_is_exclusive_across_processes_and_freed_by_a_crash(cache, log):
    """While another process computes a key, its lock is taken (and says who holds it);
    when that process is SIGKILLed, the lock is free at once and its scratch is removed."""
    from distill_bench.store.locks import FileLock, holder

    child = _holder(cache)
    try:
        path = cache.lock_path("teacher", "abc123")
        assert not FileLock(path).acquire(block=False)
        assert holder(path)["pid"] == child.pid
        assert len(leftovers(cache, "teacher")) == 1  # the holder's scratch directory
        assert not cache.exists("teacher", "abc123")
    finally:
        child.kill()
        child.wait()
    with cache.lock("teacher", "abc123"):  # no timeout, no pid check: the kernel freed it
        assert leftovers(cache, "teacher") == []
        write_entry(cache)
    assert any("left by an interrupted run" in line for line in log)
    assert cache.get("teacher", "abc123") is not None
    assert not path.exists()  # released locks leave no file behind


def test_waiter_blocks_then_reads_the_entry(cache, log):
    """A second process wanting the same key waits for the first, then finds the entry."""
    import threading

    from distill_bench.store.locks import FileLock

    first = FileLock(cache.lock_path("teacher", "abc123"))
    assert first.acquire(block=False)
    seen = []

    def second():
        with cache.lock("teacher", "abc123"):
            seen.append(cache.get("teacher", "abc123"))

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and not seen  # still waiting
    write_entry(cache)
    first.release()
    thread.join(10)
    assert seen == [cache.entry("teacher", "abc123")]
    assert any(line.startswith("waiting for teacher-abc123") for line in log)


def test_clean_scratch_spares_keys_being_written(cache):
    """The sweep at the start of a run removes dead writers' scratch, never a live one's."""
    child = _holder(cache)
    try:
        dead = cache.root / "annotate" / ".deadbeef.x1y2"
        dead.mkdir(parents=True)
        (dead / "logits.safetensors").write_bytes(b"partial")
        other = cache.root / "models" / ".mpnet.x1y2.partial"  # not a stage: its own protocol
        other.mkdir(parents=True)
        assert cache.clean_scratch(["teacher", "annotate", "student"]) == 1
        assert not dead.exists() and other.exists()
        assert len(leftovers(cache, "teacher")) == 1  # the live writer's scratch stays
    finally:
        child.kill()
        child.wait()
