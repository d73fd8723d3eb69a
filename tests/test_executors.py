"""Executors: the Ray executor on a local two-CPU cluster gives the local executor's rows."""

from __future__ import annotations

import pytest
from conftest import tiny_matrix_text
from distill_bench.cli import main
from distill_bench.store import Store

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

# metrics that depend only on the trained weights: equal when both runs train the same way
EXACT = ("accuracy", "primary", "teacher_agreement", "transfer_size", "eval_examples")


def fast_matrix_text(teacher_dir, **kw) -> str:
    """The tiny matrix on a smaller budget: one teacher epoch, two student epochs."""
    return (
        tiny_matrix_text(teacher_dir, **kw)
        .replace("teacher_epochs = 4", "teacher_epochs = 1")
        .replace("student_epochs = 5", "student_epochs = 2")
        .replace("latency_samples = 5", "latency_samples = 2")
        .replace("max_sentences = 40", "max_sentences = 16")
    )


def run(matrix, results, cache, *extra) -> int:
    return main(
        ["run", "--matrix", str(matrix), "--results-dir", str(results), "--cache-dir", str(cache),
         *extra]
    )  # fmt: skip


def computed_counts(out: str) -> dict[str, int]:
    """The stage counts of a run's last summary line: "computed: teacher 1, student 2; ..."."""
    line = [x for x in out.splitlines() if "computed: " in x][-1]
    listed = line.split("computed: ")[1].split(";")[0]
    if listed.startswith("nothing"):
        return {}
    return {kind: int(n) for kind, n in (part.split() for part in listed.split(", "))}


def by_key(results) -> dict:
    return {r.key: r for r in Store(results / "bench.sqlite").rows("tiny")}


def test_ray_executor_gives_the_local_rows(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """Same matrix, separate caches: every stage is computed by each executor, and the rows
    agree (status, roles, and the scores of deterministic CPU training)."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",)))
    assert run(matrix, tmp_path / "local", tmp_path / "cache-local") == 0
    try:
        code = run(matrix, tmp_path / "ray", tmp_path / "cache-ray",
                   "--executor", "ray", "--num-cpus", "2")  # fmt: skip
    finally:
        ray.shutdown()
    out = capsys.readouterr().out
    assert code == 0, out
    # the driver counts what the workers computed: each stage once
    computed = computed_counts(out)
    computed.pop("data", None)  # datasets are loaded on the driver before the run
    assert computed == {"teacher": 1, "transfer": 1, "annotate": 1, "student": 2}
    local, remote = by_key(tmp_path / "local"), by_key(tmp_path / "ray")
    assert set(local) == set(remote) and len(local) == 3
    for key, row in local.items():
        other = remote[key]
        assert (other.status, other.role, other.student, other.loss) == (
            row.status, row.role, row.student, row.loss,
        )  # fmt: skip
        assert other.status == "ok"
        for name in EXACT:
            if name in row.metrics:
                assert other.metrics[name] == row.metrics[name], (key, name)
        assert other.measurements["params_total"] == row.measurements["params_total"]


def test_ray_executor_isolates_a_failing_stage(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """A teacher that cannot fine-tune fails its rows with the stage named, on Ray too;
    the run still ends, writes them, and exits non-zero."""
    matrix = tmp_path / "tiny.toml"
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft",))
    matrix.write_text(text.replace("teacher_lr = 1e-3", "teacher_lr = nan"))
    try:
        code = run(matrix, tmp_path / "r", tmp_path / "c", "--executor", "ray", "--num-cpus", "2")
    finally:
        ray.shutdown()
    rows = list(by_key(tmp_path / "r").values())
    assert code == 1 and len(rows) == 2
    assert {r.status for r in rows} == {"failed"} and {r.stage for r in rows} == {"teacher"}
