"""Content-addressed stage cache: one directory per (stage, key), written atomically.

An entry is built in a temporary directory and renamed into place only when complete,
with a manifest of sha256 checksums; an entry whose files do not match its manifest is
reported, removed and recomputed. Files are safetensors and JSON: nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

MANIFEST = "manifest.json"
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
    """Cheap identity of a data directory: relative paths, sizes and mtimes."""
    h = hashlib.sha256(str(root.resolve()).encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
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
            if final.exists():  # a damaged or concurrent copy; ours is complete
                shutil.rmtree(final, ignore_errors=True)
            os.replace(scratch, final)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True))


def read_json(path: Path):
    return json.loads(path.read_text())
