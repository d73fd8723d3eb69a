"""The measure stage inside a run: variants re-scored, diagnostics, seeds over one
teacher, and every report format from the store."""

from __future__ import annotations

import json

from distill_bench.cli.main import main
from distill_bench.store.results import Store

from tests.helpers import tiny_matrix_text


def test_variants_diagnostics_and_reports_from_a_tiny_run(bench_env, tiny_teacher_dir, tmp_path):
    text = tiny_matrix_text(
        tiny_teacher_dir, students=("mlp",), losses=("ce-hard", "kd-soft"),
        extra='variants = ["int8", "onnx-fp32"]',
    ).replace("seeds = [0]", "seeds = [0, 1]").replace(
        "student_lr = 1e-2", "student_lr = 1e-2\nteacher_seed = 0"
    )  # fmt: skip
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(text)
    results = bench_env["results"]
    assert main(["run", "--matrix", str(matrix), "--results-dir", str(results), "--no-plots"]) == 0

    rows = Store(results / "bench.sqlite").rows("tiny")
    assert len([r for r in rows if r.role == "teacher"]) == 1  # one teacher for both seeds
    students = [r for r in rows if r.role == "student"]
    assert sorted((r.loss, r.seed) for r in students) == [
        ("ce-hard", 0), ("ce-hard", 1), ("kd-soft", 0), ("kd-soft", 1),
    ]  # fmt: skip
    for r in rows:
        variants = r.measurements["variants"]
        assert set(variants) == {"int8", "onnx-fp32"}
        for v in variants.values():
            assert v["available"], v
            assert 0 <= v["metrics"]["primary"] <= 1
            assert 0 <= v["metrics"]["agreement_with_fp32"] <= 1
        # ONNX Runtime runs the same fp32 weights: it agrees with torch on (nearly) every label
        assert variants["onnx-fp32"]["metrics"]["agreement_with_fp32"] >= 0.95
        assert r.measurements["training"]["peak_rss_mb"] is not None
        assert 0 <= r.metrics["ece"] <= 1
    for r in students:
        assert 0 <= r.metrics["teacher_agreement"] <= 1
        assert r.metrics["teacher_errors"] >= 0
    # timed once per architecture, scored per row: the four students share every variant's
    # speed, and each row's ONNX copy scores what that row's own weights score
    speeds = {
        json.dumps({n: v["cpu_throughput"] for n, v in r.measurements["variants"].items()})
        for r in students
    }
    assert len(speeds) == 1
    assert len({r.metrics["primary"] for r in students}) > 1  # rows whose scores differ
    for r in rows:
        onnx = r.measurements["variants"]["onnx-fp32"]["metrics"]["primary"]
        assert abs(onnx - r.metrics["primary"]) <= 0.05, (r.loss, r.seed)

    board = (results / "leaderboards" / "tiny.md").read_text()
    assert "gain vs ce-hard" in board and "### sst2: deployment variants" in board
    assert "| onnx-fp32 " in board and "Pareto (size, latency)" in board

    assert main(["report", "--matrix", str(matrix), "--results-dir", str(results),
                 "--format", "json", "--columns", "student,loss,score,gain"]) == 0  # fmt: skip
    records = json.loads((results / "leaderboards" / "tiny.json").read_text())
    kd = [r for r in records if r["loss"] == "kd-soft" and r["variant"] == "fp32"]
    assert len(kd) == 1 and isinstance(kd[0]["gain"], float)
    assert main(["report", "--matrix", str(matrix), "--results-dir", str(results),
                 "--format", "csv", "--sort", "latency_p50"]) == 0  # fmt: skip
    csv_text = (results / "leaderboards" / "tiny.csv").read_text()
    assert csv_text.startswith("dataset,teacher,student,loss,augmenter,variant,score,")
    assert len(csv_text.splitlines()) == 1 + 3 * 3  # header, 3 entries x (fp32 + 2 variants)
    assert main(["report", "--matrix", str(matrix), "--results-dir", str(results),
                 "--columns", "nope"]) == 2  # fmt: skip


def test_an_architecture_is_timed_once_and_its_rows_share_the_figures(
    bench_env, tiny_teacher_dir, tmp_path
):
    """Two seeds of the mlp are one architecture: one timing, read by both rows; the
    bilstm and the teacher are timed apart. Speed is the architecture's; scores stay each
    row's own."""
    text = (
        tiny_matrix_text(tiny_teacher_dir, losses=("kd-soft",))
        .replace("seeds = [0]", "seeds = [0, 1]")
        .replace("student_lr = 1e-2", "student_lr = 1e-2\nteacher_seed = 0")
    )
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(text)
    results = bench_env["results"]
    assert main(["run", "--matrix", str(matrix), "--results-dir", str(results), "--no-plots"]) == 0
    rows = Store(results / "bench.sqlite").rows("tiny")
    keys = {}
    for r in rows:
        keys.setdefault(r.student if r.role == "student" else "teacher", set()).add(
            r.measurements["timing_key"]
        )
    assert {k: len(v) for k, v in keys.items()} == {"teacher": 1, "mlp": 1, "bilstm": 1}
    assert len(set.union(*keys.values())) == 3
    timings = list((bench_env["cache"] / "timing").iterdir())
    assert len(timings) == 3
    mlp = [r for r in rows if r.student == "mlp"]
    assert len({r.measurements["cpu_throughput"]["median"] for r in mlp}) == 1
    assert len({tuple(r.metrics["eval_predictions"]) for r in mlp}) > 1  # own scores
    # the timing's own seconds, under its key, in every row that reads it: counted once per
    # architecture, and still there when the rows are re-made from the cache
    for r in mlp:
        assert r.timings["measure"]["key"] == r.measurements["timing_key"]
        assert r.timings["measure"]["seconds"] > 0
    before = {r.key: r.timings["measure"] for r in rows}
    (results / "bench.sqlite").unlink()
    assert main(["run", "--matrix", str(matrix), "--results-dir", str(results), "--no-plots"]) == 0
    again = {r.key: r.timings["measure"] for r in Store(results / "bench.sqlite").rows("tiny")}
    assert again == before
