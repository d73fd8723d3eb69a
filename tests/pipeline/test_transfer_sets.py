"""Augmenters through the real pipeline: tiny teacher, tiny data, the real spaCy tagger."""

from __future__ import annotations

from pathlib import Path

from distill_bench.cli.main import main
from distill_bench.store.results import Store

from tests.helpers import tiny_matrix_text


def run_cli(matrix_path: Path, results: Path) -> int:
    return main(["run", "--matrix", str(matrix_path), "--results-dir", str(results)])


def test_augmented_matrix_records_size_composition_and_filter(
    bench_env, tiny_teacher_dir, tmp_path
):
    """tang (real tagger) and eda (the tiny teacher's embeddings) transfer sets are built,
    annotated and distilled; rows and leaderboard say what the transfer set held; the
    confidence filter reports what it removed."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("mse-logits",))
    text = text.replace(
        'augmenters = ["none"]',
        'augmenters = ["none", {plugin = "tang", n_iter = 3}, '
        '{plugin = "eda", n_aug = 4, size = "2x"}, '
        '{name = "tang-sure", plugin = "tang", n_iter = 3, min_confidence = 0.5001}]',
    )
    # fewer epochs than the tiny matrix: this test is about transfer sets, not scores
    text = text.replace("teacher_epochs = 4", "teacher_epochs = 2")
    text = text.replace("student_epochs = 5", "student_epochs = 2")
    matrix = tmp_path / "aug.toml"
    matrix.write_text(text)
    assert run_cli(matrix, bench_env["results"]) == 0
    rows = {r.augmenter: r for r in Store(bench_env["results"] / "bench.sqlite").rows("tiny")}
    assert {r.status for r in rows.values()} == {"ok"}
    none, tang, eda = rows["none"], rows["tang"], rows["eda"]
    labelled = none.metrics["transfer_size"]
    assert none.metrics["transfer_composition"] == f"{labelled:,} labelled"
    assert none.metrics["transfer_leaked_removed"] == 0  # synthetic train and dev share no text
    assert tang.metrics["transfer_duplicates_removed"] > 0  # short sentences, 3 samples each
    assert tang.metrics["transfer_size"] > 2 * labelled  # 3 samples per sentence, deduplicated
    assert tang.metrics["transfer_composition"].startswith(f"{labelled:,} labelled + ")
    assert tang.metrics["transfer_composition"].endswith(" tang")
    assert eda.metrics["transfer_size"] == 2 * labelled  # size = "2x"
    # the filter sits on the student stage: same transfer set, fewer examples distilled on
    sure = rows["tang-sure"]
    assert sure.config["augmenter"]["options"]["min_confidence"] == 0.5001
    assert sure.metrics["transfer_size"] == tang.metrics["transfer_size"]
    assert 0 < sure.metrics["transfer_after_filter"] <= sure.metrics["transfer_size"]
    assert sure.metrics["transfer_filtered_out"] == sure.metrics["transfer_unsure"]
    assert (
        sure.metrics["transfer_after_filter"] + sure.metrics["transfer_filtered_out"]
        == sure.metrics["transfer_size"]
    )
    assert sure.timings["transfer"]["key"] == tang.timings["transfer"]["key"]
    assert sure.timings["annotate"]["key"] == tang.timings["annotate"]["key"]
    board = (bench_env["results"] / "leaderboards" / "tiny.md").read_text()
    assert tang.metrics["transfer_composition"] in board
