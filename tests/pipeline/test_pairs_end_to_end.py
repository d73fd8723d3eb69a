"""A sentence-pair task end to end on real text: same-intent pairs of BANKING77 utterances
(the data dir's files), a small random-init BERT teacher with MiniLM's real vocabulary,
word-level, siamese and transformer students, and an augmenter editing each side."""

from __future__ import annotations

import json
from pathlib import Path

from distill_bench.plugin_api.pairs import split_pair

from tests.helpers import fast_matrix_text, real_data_dir, run_tiny, save_tiny_bert, tiny_rows

PAIRS = 'datasets = [{name = "intent-pairs", plugin = "intent-pairs", train_pairs = 300, select_pairs = 60, evaluation_pairs = 80}]'
STUDENTS = (
    'students = ["mlp", "bilstm", {name = "bert-1l", plugin = "teacher-layers", layers = [0]}]'
)
AUGMENTERS = 'augmenters = ["none", {name = "eda", plugin = "eda", n_aug = 1}]'


def _matrix(teacher: Path) -> str:
    """The tests' fast tiny matrix on the pair task, three students, none and eda."""
    return (
        fast_matrix_text(teacher, students=(), losses=("kd-soft",))
        .replace('datasets = ["sst2"]', PAIRS)
        .replace("students = []", STUDENTS)
        .replace('augmenters = ["none"]', AUGMENTERS)
    )


def _teacher(root: Path) -> Path:
    from distill_bench.plugins.teachers import minilm_path
    from transformers import AutoTokenizer

    return save_tiny_bert(root, AutoTokenizer.from_pretrained(minilm_path()))


def test_a_pair_task_distils_into_every_student(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(real_data_dir()))
    matrix = tmp_path / "pairs.toml"
    matrix.write_text(_matrix(_teacher(tmp_path / "teacher")))
    assert run_tiny(matrix, tmp_path / "results", tmp_path / "cache", "--no-plots") == 0

    rows = list(tiny_rows(tmp_path / "results").values())
    # 3 students on the labelled pairs, 3 on eda's, the teacher
    assert len(rows) == 7 and all(r.status == "ok" for r in rows)
    assert all(r.metrics["eval_examples"] == 80 for r in rows)
    assert all(r.measurements["cpu_throughput"]["median"] > 0 for r in rows)
    eda = [r for r in rows if r.augmenter == "eda"]
    assert len(eda) == 3 and all("eda" in r.metrics["transfer_composition"] for r in eda)

    checkpoints = list((tmp_path / "cache").glob("student/*/student.json"))
    by_plugin = {
        json.loads(p.read_text())["plugin"]: json.loads(p.read_text()) for p in checkpoints
    }
    assert all(config.get("pairs") for config in by_plugin.values())
    assert set(by_plugin) == {"mlp", "bilstm", "teacher-layers"}

    # the siamese BiLSTM ships: its ONNX folder predicts the stored evaluation predictions,
    # pairs given as (first, second)
    from distill_bench import load_student
    from distill_bench.cli.main import main

    out = tmp_path / "shipped"
    cell = "student = bilstm and augmenter = none"
    assert main(["export", "--matrix", str(matrix), "--results-dir", str(tmp_path / "results"),
                 "--cache-dir", str(tmp_path / "cache"), "--cell", cell, "--out", str(out)]) == 0  # fmt: skip
    bilstm = next(r for r in rows if r.student == "bilstm" and r.augmenter == "none")
    task = next((tmp_path / "cache").glob("data/*/task.json"))
    texts = json.loads(task.read_text())["splits"]["evaluation"]["texts"]
    shipped = load_student(out)
    assert shipped.predict_ids(texts).tolist() == bilstm.metrics["eval_predictions"]
    as_tuples = [split_pair(t) for t in texts[:5]]
    assert shipped.predict(as_tuples) == shipped.predict(texts[:5])


def test_the_eda_transfer_set_holds_edited_pairs(tmp_path, monkeypatch):
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.plugins.augmenters import each_side
    from distill_bench.plugins.augmenters.eda import eda_augment

    spec = load_registry().get("datasets", "intent-pairs")
    options = spec.resolve({"train_pairs": 20, "select_pairs": 4, "evaluation_pairs": 4}, "test")
    task = spec.factory(options, real_data_dir())
    synonyms = lambda word: ()  # noqa: E731  (no synonyms: swaps, insertions, deletions)
    out, origins = each_side(
        lambda s, seed: eda_augment(s, synonyms, n_aug=2, seed=seed), task.train.texts, 0
    )
    assert len(out) == 40 and origins == [i for i in range(20) for _ in range(2)]
    for text, origin in zip(out, origins, strict=True):
        first, second = split_pair(text)
        source_first, source_second = split_pair(task.train.texts[origin])
        assert set(first.split()) <= set(source_first.split())
        assert set(second.split()) <= set(source_second.split())
