"""Teacher bad input, and a damaged cached checkpoint being recomputed."""

from __future__ import annotations

import shutil

import pytest
from distill_bench import BenchError
from distill_bench.cli.main import main
from distill_bench.execute.runner import Runner
from distill_bench.matrix.model import parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import collect, make_plugin_manager
from distill_bench.plugin_api.tasks import Split, TaskData
from distill_bench.plugins.teachers.hf import HFTeacher
from distill_bench.store.cache import Cache
from distill_bench.store.results import Store

from tests.helpers import tiny_matrix_text


def three_label_task() -> TaskData:
    split = Split("dev", ("a", "b", "c"), (0, 1, 2))
    return TaskData("three", ("x", "y", "z"), split, split, split)


def test_label_count_mismatch_names_both_counts(tiny_teacher_dir):
    with pytest.raises(BenchError, match="classifier head has 2 labels, dataset 'three' has 3"):
        HFTeacher(str(tiny_teacher_dir), {}).check(three_label_task())


@pytest.mark.parametrize(
    "remove, message",
    [
        ("config.json", "no config.json"),
        ("tokenizer.json", "no tokenizer"),
        ("*", "no such directory"),
    ],
)
def test_bad_model_folder_stops_the_run_before_training(
    bench_env, tiny_teacher_dir, tmp_path, capsys, remove, message
):
    model = tmp_path / "model"
    shutil.copytree(tiny_teacher_dir, model)
    if remove == "*":
        shutil.rmtree(model)
    else:
        (model / remove).unlink()
        if remove == "tokenizer.json":
            for extra in ("vocab.txt", "tokenizer_config.json"):
                (model / extra).unlink(missing_ok=True)
    matrix = tmp_path / "m.toml"
    matrix.write_text(tiny_matrix_text(model, students=("mlp",), losses=("ce-hard",)))
    code = main(["run", "--matrix", str(matrix), "--results-dir", str(bench_env["results"])])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert message in err and str(model) in err
    assert not (bench_env["cache"] / "teacher").exists()


def test_damaged_teacher_checkpoint_is_detected_and_recomputed(
    bench_env, tiny_teacher_dir, tmp_path
):
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft",))
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    logged = []
    cache = Cache(bench_env["cache"], log=logged.append)

    def run(store: str) -> Runner:
        runner = Runner(plan, registry, cache, Store(tmp_path / store), bench_env["data"])
        runner.run()
        return runner

    first = run("a.sqlite")
    assert first.summary.computed["teacher"] == 1
    weights = cache.entry("teacher", plan.teacher_rows[0].teacher_key) / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    weights.write_bytes(bytes(blob))

    second = run("b.sqlite")
    assert second.summary.computed.get("teacher") == 1 and second.summary.failed == 0
    assert any("damaged" in line and "model.safetensors" in line for line in logged)
