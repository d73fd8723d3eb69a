"""``bench export``: a finished cell out of the stage cache into a folder that predicts the
stored evaluation predictions with onnxruntime and tokenizers alone; bad input is one line,
exit code 2, and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from distill_bench.cli.main import main
from distill_bench.stages.export.runtime import load_student

from tests.helpers import fast_matrix_text, run_tiny, tiny_rows, write_tiny_data_dir

STUDENTS = (
    '{plugin = "bilstm", name = "bilstm-word", vocab = "word", vocab_size = 200, min_count = 1}',
    '{plugin = "transformer", name = "tf", layers = 1, hidden_size = 16, heads = 2}',
)


@pytest.fixture(scope="module")
def ran(tmp_path_factory, tiny_teacher_dir) -> dict:
    """A word-vocabulary BiLSTM and a small transformer, seeds 0 and 1 of one teacher."""
    root = tmp_path_factory.mktemp("export")
    data = write_tiny_data_dir(root / "data")
    text = (
        fast_matrix_text(tiny_teacher_dir, students=(), losses=("kd-soft",))
        .replace("students = []", f"students = [{', '.join(STUDENTS)}]")
        .replace("seeds = [0]", "seeds = [0, 1]")
        .replace("[budget]", "[budget]\nteacher_seed = 0")
    )
    matrix = root / "tiny.toml"
    matrix.write_text(text)
    results, cache = root / "results", root / "cache"
    saved = os.environ.get("BENCH_DATA_DIR")
    os.environ["BENCH_DATA_DIR"] = str(data)
    try:
        assert run_tiny(matrix, results, cache, "--no-plots") == 0
    finally:
        if saved is None:
            os.environ.pop("BENCH_DATA_DIR")
        else:
            os.environ["BENCH_DATA_DIR"] = saved
    (task,) = (cache / "data").glob("*/task.json")
    evaluation = json.loads(task.read_text())["splits"]["evaluation"]["texts"]
    return {"root": root, "matrix": matrix, "results": results, "cache": cache, "data": data,
            "rows": tiny_rows(results), "evaluation": evaluation}  # fmt: skip


def export(ran: dict, cell: str, out: Path, *extra: str) -> int:
    return main(
        ["export", "--matrix", str(ran["matrix"]), "--data-dir", str(ran["data"]),
         "--cache-dir", str(ran["cache"]), "--results-dir", str(ran["results"]),
         "--cell", cell, "--out", str(out), *extra]
    )  # fmt: skip


def row_of(ran: dict, student: str, seed: int):
    (row,) = [r for r in ran["rows"].values() if r.student == student and r.seed == seed]
    return row


@pytest.mark.parametrize("fmt", ["onnx", "torch"])
@pytest.mark.parametrize("student", ["bilstm-word", "tf"])
def test_the_export_predicts_the_stored_evaluation_predictions(ran, tmp_path, student, fmt):
    out = tmp_path / "shipped"
    cell = f"dataset = sst2 and student = {student} and loss = kd-soft and seed = 1"
    assert export(ran, cell, out, "--format", fmt) == 0
    weights = "model.onnx" if fmt == "onnx" else "model.safetensors"
    assert {p.name for p in out.iterdir()} >= {weights, "tokenizer.json", "student.json"}
    loaded = load_student(out)
    assert loaded.labels == ("negative", "positive")
    row = row_of(ran, student, 1)
    assert loaded.predict_ids(ran["evaluation"]).tolist() == row.metrics["eval_predictions"]
    names = loaded.predict(ran["evaluation"][:3])
    assert names == [loaded.labels[i] for i in row.metrics["eval_predictions"][:3]]
    assert loaded.predict_proba(ran["evaluation"][:3]).sum(axis=1) == pytest.approx(1.0)
    # the model card: the leaderboard's figures from the store, and the commands
    card = (out / "README.md").read_text()
    assert f"acc (dev) {100 * row.metrics['primary']:.1f} on 80 examples" in card
    for figure in ("95% CI (seeds + examples)", "latency p50 (ms)", "CPU sent/s", "params"):
        assert f"| {figure} |" in card
    assert "equal the harness's own on 80 of 80 examples" in card
    assert f"--cell '{cell}'" in card and "bench run --matrix" in card
    assert not list(tmp_path.glob(".shipped*"))  # no temporary folder left beside it


def test_the_loader_imports_no_torch_and_int8_exports(ran, tmp_path):
    out = tmp_path / "int8"
    assert export(ran, "student = bilstm-word and seed = 0", out, "--int8") == 0
    config = json.loads((out / "student.json").read_text())
    assert config["int8"] and config["format"] == "onnx"
    probe = (
        "import sys, distill_bench\n"
        "assert not {'torch', 'onnxruntime', 'tokenizers'} & set(sys.modules), 'import is heavy'\n"
        f"student = distill_bench.load_student({str(out)!r})\n"
        "print(student.predict(['the film is good', 'awful']))\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert set(eval(done.stdout)) <= {"negative", "positive"}
    # int8 rounds differently from the stored fp32 predictions, but not by much
    predicted = load_student(out).predict_ids(ran["evaluation"]).tolist()
    stored = row_of(ran, "bilstm-word", 0).metrics["eval_predictions"]
    assert sum(a == b for a, b in zip(predicted, stored, strict=True)) >= 0.9 * len(stored)


@pytest.mark.parametrize(
    "cell, extra, expected",
    [
        ("student = tf", (), "--cell: 'student = tf' matches 2 seeds of sst2 | tiny-bert -> tf"),
        ("seed = 0", (), "--cell: 'seed = 0' matches 2 cells, expected one"),
        ("student = cnn", (), "--cell: 'student = cnn' matches no cell of the matrix (dataset"),
        ("colour = red", (), "--cell: unknown column 'colour' (cell fields: dataset"),
        ("student = tf and", (), "--cell: 'student = tf and': student takes one name"),
        ("student = tf and seed = 0", ("--format", "torch", "--int8"), "--int8: quantises"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(ran, tmp_path, capsys, cell, extra, expected):
    out = tmp_path / "shipped"
    assert export(ran, cell, out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"bench: error: {expected}"), err
    assert list(tmp_path.iterdir()) == []


def test_an_unfinished_cell_and_a_full_folder_are_refused(ran, tmp_path, capsys):
    # the same matrix with a loss that never ran: its cells are planned, not finished
    grown = tmp_path / "tiny.toml"
    grown.write_text(ran["matrix"].read_text().replace('"kd-soft"]', '"kd-soft", "ce-hard"]'))
    out = tmp_path / "shipped"
    code = export(ran | {"matrix": grown}, "student = tf and loss = ce-hard and seed = 0", out)
    assert code == 2
    err = capsys.readouterr().err
    assert "--cell: cell sst2 | tiny-bert -> tf [ce-hard, none, seed 0] has not finished" in err
    assert not out.exists()

    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert export(ran, "student = tf and seed = 0", out) == 2
    assert f"--out {out}: exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert export(ran, "student = tf and seed = 0", out, "--force") == 0
    assert not (out / "mine.txt").exists() and (out / "model.onnx").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shipped", "tiny.toml"]
