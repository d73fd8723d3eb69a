"""Executors: the Ray executor on a local two-CPU cluster gives the local executor's rows."""

from __future__ import annotations

import os

import pytest
from distill_bench.store.results import Store

from tests.helpers import (
    computed_counts,
    fast_matrix_text,
    run_tiny,
    tiny_rows,
    with_broken_teacher,
)

# tox sets BENCH_REQUIRE_RAY: there a missing ray extra fails these tests instead of skipping
if os.environ.get("BENCH_REQUIRE_RAY"):
    import ray
else:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")

# metrics that depend only on the trained weights: equal when both runs train the same way
EXACT = ("accuracy", "primary", "teacher_agreement", "transfer_size", "eval_examples")


@pytest.fixture(scope="module")
def ray_cluster():
    """One local two-CPU cluster for this module (`bench run --executor ray` joins it)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def test_ray_executor_gives_the_local_rows(
    ray_cluster, bench_env, tiny_teacher_dir, tmp_path, capsys
):
    """Same matrix, separate caches: every stage is computed by each executor, and the rows
    agree (status, roles, and the scores of deterministic CPU training)."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",)))
    assert run_tiny(matrix, tmp_path / "local", tmp_path / "cache-local") == 0
    code = run_tiny(matrix, tmp_path / "ray", tmp_path / "cache-ray", "--executor", "ray")
    out = capsys.readouterr().out
    assert code == 0, out
    # the driver counts what the workers computed: each stage once
    computed = computed_counts(out)
    computed.pop("data", None)  # datasets are loaded on the driver before the run
    assert computed == {  # timing: the teacher, and the mlp once for both losses
        "teacher": 1, "transfer": 1, "annotate": 1, "tokens": 1, "student": 2, "timing": 2
    }  # fmt: skip
    local, remote = tiny_rows(tmp_path / "local"), tiny_rows(tmp_path / "ray")
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


def test_ray_executor_isolates_a_failing_stage(ray_cluster, bench_env, tiny_teacher_dir, tmp_path):
    """A teacher that cannot fine-tune fails its rows with the stage named, on Ray too;
    the run still ends, writes them, and exits non-zero."""
    matrix = tmp_path / "tiny.toml"
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft",))
    matrix.write_text(with_broken_teacher(text, tiny_teacher_dir, tmp_path))
    code = run_tiny(matrix, tmp_path / "r", tmp_path / "c", "--executor", "ray")
    rows = list(tiny_rows(tmp_path / "r").values())
    assert code == 1 and len(rows) == 2
    assert {r.status for r in rows} == {"failed"} and {r.stage for r in rows} == {"teacher"}


def test_a_dead_worker_fails_its_row_on_the_driver(ray_cluster, bench_env, tiny_teacher_dir):
    """A worker process that dies (as when killed for memory) fails its row, stage
    "worker"; the driver writes that row and computes none of the row's stages itself."""
    from distill_bench.execute.ray import RayExecutor
    from distill_bench.execute.runner import Runner
    from distill_bench.matrix.model import parse_matrix
    from distill_bench.matrix.plan import make_plan
    from distill_bench.plugin_api.registry import collect, make_plugin_manager
    from distill_bench.store.cache import Cache

    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",))
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    store = Store(bench_env["results"] / "bench.sqlite")
    runner = Runner(plan, registry, Cache(bench_env["cache"]), store, bench_env["data"])
    executor = RayExecutor(text, "test")
    dies = ray.remote(max_retries=0)(lambda: os._exit(1)).remote()
    executor._collect(ray, runner, dies, "student", plan.cells[0])
    (row,) = store.rows("tiny")
    assert (row.status, row.stage, row.key) == ("failed", "worker", plan.cells[0].key)
    assert "WorkerCrashedError" in row.error or "died" in row.error, row.error
    assert runner.summary.failed == 1 and runner.summary.computed == {"data": 1}


def test_executor_options_are_checked(ray_cluster, bench_env, tiny_teacher_dir, tmp_path, capsys):
    """Options that cannot work are one-line errors before anything runs."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",)))
    assert run_tiny(matrix, tmp_path / "r", tmp_path / "c", "--address", "localhost:1") == 2
    assert "--address is for --executor ray" in capsys.readouterr().err
    code = run_tiny(
        matrix, tmp_path / "r", tmp_path / "c", "--executor", "ray", "--gpus-per-task", "1"
    )
    assert code == 2
    assert "--gpus-per-task 1: the Ray cluster has 0 GPUs" in capsys.readouterr().err
    assert (
        not (tmp_path / "r" / "bench.sqlite").exists()
        or not Store(tmp_path / "r" / "bench.sqlite").rows()
    )
