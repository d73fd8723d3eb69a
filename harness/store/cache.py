"""Content-addressed stage cache: one directory per (stage, key), written atomically.

An entry is built in a temporary directory and renamed into place only when complete,
with a manifest of sha256 checksums; an entry whose files do not match its manifest is
reported, removed and recomputed. Files are safetensors and JSON: nothing is unpickled.

Computing an entry happens under a lock per (stage, key) (``Cache.lock``), so two runs
sharing the cache compute it once: the second waits, then reads the first one's entry.
A scratch directory left by a killed run (``.KEY.*`` beside the entry) has no manifest at
the entry's path, so it never looks complete; the next holder of the key's lock removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from distill_bench.store.locks import FileLock, locked

MANIFEST = "manifest.json"
LOCKS = ".locks"  # lock files, one per stage key being computed
CACHE_ENV = "BENCH_CACHE_DIR"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "distill-bench")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint_tree(root: Path) -> str:
    """Identity of a data directory by content: relative paths and file bytes. Not its
    location or mtimes, which change whenever the same files are copied again (a fresh
    checkout of the data, another machine) and made every cached stage miss. Hashing reads
    the files once per plan: about 0.25 s for the 63 MB of the bundled datasets."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(root).as_posix()}\0".encode())
        h.update(sha256_file(path).encode())
    return h.hexdigest()[:20]


class Cache:
    def __init__(self, root: Path, log=print):
        self.root = Path(root)
        self.log = log

    def entry(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def exists(self, stage: str, key: str) -> bool:
        return (self.entry(stage, key) / MANIFEST).is_file()

    def get(self, stage: str, key: str) -> Path | None:
        """The entry's directory if present and intact; a damaged entry is removed."""
        path = self.entry(stage, key)
        manifest = path / MANIFEST
        if not manifest.is_file():
            return None
        try:
            expected = json.loads(manifest.read_text())["files"]
            damaged = [
                name
                for name, digest in expected.items()
                if not (path / name).is_file() or sha256_file(path / name) != digest
            ]
        except (OSError, ValueError, KeyError, TypeError):
            damaged = [MANIFEST]
        if damaged:
            self.log(
                f"cache: {stage}/{key} is damaged ({damaged[0]} fails its checksum); recomputing"
            )
            shutil.rmtree(path, ignore_errors=True)
            return None
        return path

    def get_or_compute(
        self, stage: str, key: str, compute: Callable[[Path], None]
    ) -> tuple[Path, bool]:
        """The entry, with True when it was computed here: on a miss ``compute(scratch)``
        writes it under the (stage, key) lock, unless another run sharing the cache wrote
        it while we waited (then that entry is taken as it is)."""
        entry = self.get(stage, key)
        if entry is not None:
            return entry, False
        with self.lock(stage, key):
            entry = self.get(stage, key)  # computed by another run while we waited
            if entry is not None:
                return entry, False
            with self.put(stage, key) as scratch:
                compute(scratch)
            return self.entry(stage, key), True

    def lock_path(self, stage: str, key: str) -> Path:
        return self.root / LOCKS / f"{stage}-{key}.lock"

    @contextlib.contextmanager
    def lock(self, stage: str, key: str) -> Iterator[None]:
        """Hold (stage, key) for the block: one process computes an entry at a time.
        Waiting is logged once; scratch directories this key's dead writers left go."""
        with locked(self.lock_path(stage, key), log=self.log):
            self._remove_scratch(stage, key)
            try:
                yield
            except BaseException:  # Ctrl-C between put()'s mkdtemp and its try: ours, go
                self._remove_scratch(stage, key, quiet=True)
                raise

    def _remove_scratch(self, stage: str, key: str, quiet: bool = False) -> None:
        stage_dir = self.root / stage
        if stage_dir.is_dir():
            for stale in stage_dir.glob(f".{key}.*"):
                if not quiet:
                    self.log(f"cache: removing {stage}/{stale.name}, left by an interrupted run")
                shutil.rmtree(stale, ignore_errors=True)

    def clean_scratch(self, stages: Iterable[str]) -> int:
        """Remove the scratch directories of these stages whose key no process is computing
        (only stage folders: others, like extracted models, keep their own protocol)."""
        removed = 0
        for stage_dir in (self.root / stage for stage in stages):
            if not stage_dir.is_dir():
                continue
            keys = {p.name.split(".")[1] for p in stage_dir.glob(".*.*") if p.is_dir()}
            for key in keys:
                lock = FileLock(self.lock_path(stage_dir.name, key))
                if lock.acquire(block=False):  # nobody is writing this key now
                    try:
                        before = len(list(stage_dir.glob(f".{key}.*")))
                        self._remove_scratch(stage_dir.name, key)
                        removed += before
                    finally:
                        lock.release()
        return removed

    @contextlib.contextmanager
    def put(self, stage: str, key: str) -> Iterator[Path]:
        """Yield a scratch directory; on success it becomes the entry, atomically."""
        final = self.entry(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
        try:
            yield scratch
            files = {
                str(p.relative_to(scratch)): sha256_file(p)
                for p in sorted(scratch.rglob("*"))
                if p.is_file()
            }
            (scratch / MANIFEST).write_text(
                json.dumps({"stage": stage, "key": key, "files": files}, indent=1)
            )
            # fsync: after a power loss the entry is whole or fails its checksums
            for name in (*files, MANIFEST):
                _fsync(scratch / name)
            if final.exists():  # a damaged copy; moved aside first, so the swap is two renames
                trash = Path(tempfile.mkdtemp(prefix=f".{key}.old.", dir=final.parent))
                os.replace(final, trash / "entry")
                os.replace(scratch, final)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(scratch, final)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True))


def read_json(path: Path):
    return json.loads(path.read_text())
