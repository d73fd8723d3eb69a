"""``bench run --dry-run`` checks what a run would, and writes nothing anywhere.

- every bad matrix (a missing teacher folder, a teacher head of another label count, a
  missing data file, a wrong header, a missing extra) fails under ``--dry-run`` and a real
  run alike: the same one ``bench: error:`` line, exit 2, in a second or two, and neither
  writes a file;
- a good matrix's dry run leaves the results, cache and data dirs exactly as they were
  (every file's bytes and mtime, every folder), with and without a store already there,
  and never imports torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from distill_bench.cli.main import main
from distill_bench.store.results import ResultRow, Store

from tests.helpers import tiny_matrix_text

SECONDS = 5.0  # "in under a few seconds": a bad matrix fails before anything heavy runs


def tree(root: Path) -> dict[str, tuple] | None:
    """Every folder and file under ``root`` with what would show a write: None if absent."""
    if not root.exists():
        return None
    out: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        if path.is_dir():
            out[str(path.relative_to(root)) + "/"] = (stat.st_mtime_ns,)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns, digest)
    return out


def snapshot(bench_env) -> dict[str, dict | None]:
    return {name: tree(Path(bench_env[name])) for name in ("results", "cache", "data")}


def run(matrix: Path, bench_env, capsys, *extra: str) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    code = main(
        ["run", "--matrix", str(matrix), "--results-dir", str(bench_env["results"]), *extra]
    )
    seconds = time.perf_counter() - started
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip(), seconds


def write_matrix(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def good_text(teacher_dir: Path, **kw) -> str:
    kw.setdefault("students", ("mlp",))
    kw.setdefault("losses", ("kd-soft",))
    return tiny_matrix_text(teacher_dir, **kw)


def without_modules(monkeypatch, *names: str) -> None:
    """``importlib.util.find_spec`` as if ``names`` were not installed."""
    real = importlib.util.find_spec

    def find_spec(name, package=None):
        return None if name in names else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


# -- each bad matrix: one line, exit 2, the same under --dry-run and a real run ------------


def teacher_folder_missing(tmp_path, teacher_dir, data, monkeypatch):
    return good_text(tmp_path / "no-such-model"), "no-such-model: no such directory"


def teacher_head_of_three_labels(tmp_path, teacher_dir, data, monkeypatch):
    model = tmp_path / "three-label-model"
    shutil.copytree(teacher_dir, model)
    config = json.loads((model / "config.json").read_text())
    config["id2label"] = {str(i): f"L{i}" for i in range(3)}
    config["label2id"] = {f"L{i}": i for i in range(3)}
    (model / "config.json").write_text(json.dumps(config))
    return good_text(model), "its classifier head has 3 labels, dataset 'sst2' has 2"


def data_file_missing(tmp_path, teacher_dir, data, monkeypatch):
    (data / "sst2" / "dev.tsv").unlink()
    return good_text(teacher_dir), "sst2/dev.tsv: file not found"


def data_file_with_another_header(tmp_path, teacher_dir, data, monkeypatch):
    path = data / "sst2" / "train.tsv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["text\tlabel", *lines[1:]]) + "\n")
    return (
        good_text(teacher_dir),
        "sst2/train.tsv:1: expected the header 'sentence\\tlabel', got 'text\\tlabel'",
    )


def data_file_of_another_layout(tmp_path, teacher_dir, data, monkeypatch):
    path = data / "sst2" / "dev.tsv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "one\ttoo\tmany", *lines[1:]]) + "\n")
    return good_text(teacher_dir), "sst2/dev.tsv:2: expected 2 '\\t'-separated fields"


def spacy_missing_for_tang(tmp_path, teacher_dir, data, monkeypatch):
    without_modules(monkeypatch, "spacy")
    text = good_text(teacher_dir).replace('augmenters = ["none"]', 'augmenters = ["tang"]')
    return text, "augmenter 'tang' needs the module 'spacy', which is not installed: pip install"


def onnxruntime_missing_for_variants(tmp_path, teacher_dir, data, monkeypatch):
    without_modules(monkeypatch, "onnxruntime")
    text = good_text(teacher_dir, extra='variants = ["int8", "onnx-fp32"]')
    return text, "[measure] variants 'onnx-fp32' needs ONNX Runtime (onnxruntime not installed)"


def onnxruntime_missing_for_annotation(tmp_path, teacher_dir, data, monkeypatch):
    without_modules(monkeypatch, "onnxruntime", "onnx")
    text = good_text(teacher_dir).replace(
        "[budget]\n", '[budget]\nannotate_precision = "onnx-int8"\n'
    )
    return text, (
        "[budget] annotate_precision = 'onnx-int8' needs ONNX Runtime (onnx, onnxruntime "
        'not installed): pip install "distill-bench[onnx]"'
    )


BAD = [
    teacher_folder_missing,
    teacher_head_of_three_labels,
    data_file_missing,
    data_file_with_another_header,
    data_file_of_another_layout,
    spacy_missing_for_tang,
    onnxruntime_missing_for_variants,
    onnxruntime_missing_for_annotation,
]


@pytest.mark.parametrize("bad", BAD, ids=[b.__name__ for b in BAD])
def test_a_bad_matrix_fails_alike_in_a_dry_run_and_a_run_writing_nothing(
    bad, bench_env, tiny_teacher_dir, tmp_path, capsys, monkeypatch
):
    text, message = bad(tmp_path, tiny_teacher_dir, bench_env["data"], monkeypatch)
    matrix = write_matrix(tmp_path, text)
    before = snapshot(bench_env)
    outcomes = []
    for mode in (("--dry-run",), ()):
        code, out, err, seconds = run(matrix, bench_env, capsys, *mode)
        assert code == 2, (mode, err)
        assert len(err.splitlines()) == 1 and err.startswith("bench: error: "), err
        assert message in err and str(matrix) in err, err
        assert seconds < SECONDS, f"{mode or 'run'} took {seconds:.1f} s to refuse the matrix"
        assert snapshot(bench_env) == before, f"{mode or 'run'} wrote something"
        outcomes.append((code, err))
    assert outcomes[0] == outcomes[1]  # the dry run says exactly what the run says


def test_each_problem_names_the_entry(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """The error says which teacher entry of the matrix is at fault."""
    text, _ = teacher_folder_missing(tmp_path, tiny_teacher_dir, bench_env["data"], None)
    code, _, err, _ = run(write_matrix(tmp_path, text), bench_env, capsys, "--dry-run")
    assert code == 2
    assert f"{tmp_path / 'm.toml'}: teacher 'tiny-bert' (plugin 'hf'): teacher model " in err


# -- a good matrix: the plan, and not one byte written -------------------------------------


def test_a_dry_run_writes_nothing_anywhere(bench_env, tiny_teacher_dir, tmp_path, capsys):
    matrix = write_matrix(tmp_path, good_text(tiny_teacher_dir, students=("mlp", "bilstm")))
    before = snapshot(bench_env)
    assert before["results"] is None and before["cache"] is None
    code, out, err, seconds = run(matrix, bench_env, capsys, "--dry-run")
    assert code == 0, err
    assert "pre-flight passed" in out and "to run" in out and "to compute" in out
    assert snapshot(bench_env) == before  # no store, cache entry, lock or data cache
    assert seconds < SECONDS


def test_a_dry_run_reads_an_existing_store_without_touching_it(
    bench_env, tiny_teacher_dir, tmp_path, capsys
):
    """A WAL store whose last writer closed has no -wal or -shm file; reading it with a
    plain mode=ro connection would create both. The dry run leaves it exactly as it was,
    and still shows what it holds."""
    matrix = write_matrix(tmp_path, good_text(tiny_teacher_dir))
    code, out, _, _ = run(matrix, bench_env, capsys, "--dry-run")
    teacher_row = next(line for line in out.splitlines() if "(teacher row" in line)
    store_path = bench_env["results"] / "bench.sqlite"
    store = Store(store_path)
    from distill_bench.execute.api import plan_matrix

    key = plan_matrix(matrix, data_dir=bench_env["data"]).plan.teacher_rows[0].key
    store.put(ResultRow("tiny", key, "teacher", "sst2", "tiny-bert", "", "", "", 0, "failed"))
    del store
    assert not store_path.with_name("bench.sqlite-wal").exists()
    before = snapshot(bench_env)
    code, out, err, _ = run(matrix, bench_env, capsys, "--dry-run")
    assert code == 0, err
    assert "failed  sst2 | tiny-bert (teacher row" in out and "to run" in teacher_row
    assert snapshot(bench_env) == before


def test_a_damaged_store_is_one_line_in_a_dry_run_and_kept(
    bench_env, tiny_teacher_dir, tmp_path, capsys
):
    matrix = write_matrix(tmp_path, good_text(tiny_teacher_dir))
    bench_env["results"].mkdir()
    (bench_env["results"] / "bench.sqlite").write_bytes(b"not a database " * 100)
    before = snapshot(bench_env)
    code, _, err, _ = run(matrix, bench_env, capsys, "--dry-run")
    assert code == 2 and len(err.splitlines()) == 1 and "bench.sqlite" in err, err
    assert snapshot(bench_env) == before


def test_a_dry_run_imports_no_torch(bench_env, tiny_teacher_dir, tmp_path):
    matrix = write_matrix(tmp_path, good_text(tiny_teacher_dir))
    script = (
        "import sys\n"
        "from distill_bench.cli.main import main\n"
        f"code = main(['run', '--matrix', {str(matrix)!r}, '--dry-run',"
        f" '--results-dir', {str(bench_env['results'])!r}])\n"
        "heavy = sorted({'torch', 'transformers'} & set(sys.modules))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr
