"""Injected faults: kills mid-stage and mid-write, plugins that raise, non-finite losses,
out-of-memory errors, damaged cache files, and two runs at once. Nothing is lost."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from distill_bench import BenchError, LossSpec, hookimpl
from distill_bench.execute.runner import Runner
from distill_bench.matrix.model import parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import (
    collect,
    load_registry,
    make_plugin_manager,
    plugin_origins,
)
from distill_bench.plugin_api.specs import GOLD_LABELS
from distill_bench.store.cache import Cache
from distill_bench.store.results import Store

from tests.helpers import computed_counts, fast_matrix_text, with_broken_teacher


def bench(matrix: Path, results: Path, *extra: str, **kw) -> subprocess.Popen:
    """`bench run` in a child process (same interpreter, environment and cache)."""
    return subprocess.Popen(
        [sys.executable, "-m", "distill_bench.cli.main", "run", "--matrix", str(matrix),
         "--results-dir", str(results), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )  # fmt: skip


def wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def scratch_dirs(cache: Path, stage: str) -> list[Path]:
    return sorted((cache / stage).glob(".*")) if (cache / stage).is_dir() else []


def check_store(path: Path) -> list:
    """The database is intact and every row decodes completely."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = Store(path).rows("tiny")
    assert len({r.key for r in rows}) == len(rows)
    for row in rows:
        assert row.status in ("ok", "failed")
        if row.status == "ok":
            assert row.metrics["accuracy"] >= 0 and row.measurements["params_total"] > 0
    return rows


@pytest.fixture
def slow_matrix(tiny_teacher_dir, tmp_path) -> Path:
    """Three rows whose student training lasts a couple of seconds: time to kill it."""
    path = tmp_path / "tiny.toml"
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard", "kd-soft"))
    path.write_text(text.replace("student_epochs = 2", "student_epochs = 8"))
    return path


# -- kills ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_kill_during_student_training_then_resume(bench_env, slow_matrix, sig):
    """Killed while a student trains (SIGKILL, or Ctrl-C): the teacher row stays, no student
    entry looks complete, no row is half-written; the next run redoes only what was lost."""
    cache, results = bench_env["cache"], bench_env["results"]
    child = bench(slow_matrix, results)
    # the scratch folder appears when the student stage starts: it is training from then on
    wait_for(lambda: scratch_dirs(cache, "student"), what="student training to start")
    child.send_signal(sig)
    out, err = child.communicate(timeout=60)
    if sig == signal.SIGINT:  # a clean stop: one line, non-zero, scratch removed
        assert child.returncode == 130
        assert err.strip().splitlines()[-1].startswith("bench: interrupted")
        assert "Traceback" not in err
        assert scratch_dirs(cache, "student") == []
    else:
        assert child.returncode == -signal.SIGKILL
        assert scratch_dirs(cache, "student")  # what the kill left; not an entry
    assert not any((cache / "student").glob("[!.]*/manifest.json"))
    rows = check_store(results / "bench.sqlite")
    assert [r.role for r in rows] == ["teacher"]  # written before the kill, kept
    if sig == signal.SIGINT:
        return  # resuming is the same as after SIGKILL, which leaves more to clean up

    again = bench(slow_matrix, results)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    computed = computed_counts(out)
    assert "teacher" not in computed and computed["student"] == 2  # the teacher is not redone
    assert "1 already in the store" in out
    assert len(check_store(results / "bench.sqlite")) == 3
    assert scratch_dirs(cache, "student") == []  # the stale scratch was cleaned up


def test_sigterm_to_a_pool_run_stops_its_workers(bench_env, slow_matrix):
    """`kill PID` (a scheduler's preemption) reaches the driver alone, not its pool workers:
    the run still stops within seconds of it, not when the students' stages would end, with
    the workers gone, their scratch folders removed and the teacher they trained cached (a
    pool run writes its rows after training, so none was written yet)."""
    import psutil

    cache, results = bench_env["cache"], bench_env["results"]
    slow_matrix.write_text(slow_matrix.read_text().replace("student_epochs = 8", "student_epochs = 2000"))  # fmt: skip
    child = bench(slow_matrix, results, "--jobs", "2")
    wait_for(lambda: scratch_dirs(cache, "student"), what="student training to start")
    workers = psutil.Process(child.pid).children(recursive=True)
    assert workers
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("bench: interrupted")
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert scratch_dirs(cache, "student") == []
    assert not any((cache / "student").glob("[!.]*/manifest.json"))
    assert any((cache / "teacher").glob("[!.]*/manifest.json"))


CHILD_WRITER = """
import sys, time
from pathlib import Path
from distill_bench.store.cache import Cache
cache = Cache(Path(sys.argv[1]))
i = 0
while True:  # entry after entry, as fast as it can, until killed
    key = f"k{sys.argv[2]}-{i}"
    with cache.lock("teacher", key):
        if cache.get("teacher", key) is None:
            with cache.put("teacher", key) as scratch:
                for n in range(4):
                    (scratch / f"part{n}.bin").write_bytes(bytes([i % 251]) * 100_000)
    print("wrote", key, flush=True)
    i += 1
"""


def test_sigkill_during_cache_writes_leaves_only_complete_entries(tmp_path):
    """A process writing cache entries is killed at arbitrary moments: every entry that
    looks complete passes its checksums, and the key's next writer cleans up its scratch."""
    root = tmp_path / "cache"
    for round, delay in enumerate((0.05, 0.13, 0.21, 0.37)):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_WRITER, str(root), str(round)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        child.stdout.readline()  # it has written one entry and is going on
        time.sleep(delay)
        child.kill()
        child.wait()
        log: list[str] = []
        cache = Cache(root, log=log.append)
        for entry in (root / "teacher").glob("k*"):
            if cache.exists("teacher", entry.name):
                assert cache.get("teacher", entry.name) is not None, log
        assert not [line for line in log if "damaged" in line]
    assert len(list((root / "teacher").glob("k*"))) > 4  # it did write entries
    # the lock of a killed writer is free at once, and taking it removes its leftovers
    cache.clean_scratch(["teacher", "annotate", "student"])
    assert not list((root / "teacher").glob(".*"))


# -- failures inside a cell -----------------------------------------------------------------


def _plugin(**hooks):
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def _loss_plugin(name: str, make_error):
    def factory(options):
        def loss(student_out, batch):
            error = make_error(student_out["logits"])
            if isinstance(error, torch.Tensor):
                return error
            raise error

        return loss

    def register_losses(register):
        register(LossSpec(name=name, factory=factory, description="a fault",
                          uses=frozenset({GOLD_LABELS})))  # fmt: skip

    return _plugin(register_losses=register_losses)


FAULTS = {
    "nan": (lambda x: x.sum() * float("nan"), "student", r"loss is nan at epoch 1, step 1"),
    "inf": (lambda x: x.sum() + float("inf"), "student", r"loss is inf at epoch 1, step 1"),
    "oom": (lambda x: torch.OutOfMemoryError("CUDA out of memory"), "student", "OutOfMemoryError"),
    "memory": (lambda x: MemoryError("cannot allocate"), "student", "MemoryError: cannot alloc"),
    "raises": (lambda x: ValueError("bad shape"), "student", "ValueError: bad shape"),
}


def _runner(text: str, cache: Path, store: Path, data: Path, plugins=(), **kw) -> Runner:
    registry = collect(make_plugin_manager(extra=list(plugins)))
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    return Runner(plan, registry, Cache(cache), Store(store), data, **kw)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One stage cache for the tests below: the teacher is fine-tuned once, not per test
    (their plans use the data source "test", so the keys do not depend on the data path)."""
    return tmp_path_factory.mktemp("shared-cache")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_failing_loss_fails_its_cell_only(
    fault, bench_env, shared_cache, tiny_teacher_dir, tmp_path
):
    """A non-finite loss, an out-of-memory error or any exception in one cell records that
    cell as failed with the stage and error; the other cell and the teacher row are ok."""
    make_error, stage, message = FAULTS[fault]
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("faulty", "ce-hard"))
    runner = _runner(text, shared_cache, tmp_path / "s.sqlite", bench_env["data"],
                     [_loss_plugin("faulty", make_error)])  # fmt: skip
    summary = runner.run()
    assert (summary.ok, summary.failed, summary.exit_code) == (2, 1, 1)
    (failed,) = [r for r in runner.store.rows() if r.status == "failed"]
    assert failed.loss == "faulty" and failed.stage == stage
    assert re.search(message, failed.error), failed.error
    assert not (shared_cache / "student" / runner.plan.cells[0].student_key).exists()


def _flaky_loss_plugin(fail: bool):
    """A loss "flaky" whose factory raises, or cross-entropy on gold labels when ``fail``
    is off (the same name and options, so the same cell keys)."""

    def factory(options):
        if fail:
            raise RuntimeError("the flaky loss broke")
        return lambda out, batch: F.cross_entropy(out["logits"], batch.labels, ignore_index=-100)

    def register_losses(register):
        register(LossSpec(name="flaky", factory=factory, description="fails on demand",
                          uses=frozenset({GOLD_LABELS})))  # fmt: skip

    return _plugin(register_losses=register_losses)


def test_plugin_that_raises_then_retry_failed(bench_env, shared_cache, tiny_teacher_dir, tmp_path):
    """A loss plugin that raises fails its cell; a plain rerun leaves the failure (and says
    so in its exit code); --retry-failed reruns only that cell."""
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("flaky", "ce-hard"))
    args = (text, shared_cache, tmp_path / "s.sqlite", bench_env["data"])
    first = _runner(*args, [_flaky_loss_plugin(fail=True)])
    assert (first.run().ok, first.summary.failed) == (2, 1)
    (failed,) = [r for r in first.store.rows() if r.status == "failed"]
    assert failed.loss == "flaky" and failed.stage == "student"
    assert "the flaky loss broke" in failed.error

    plain = _runner(*args, [_flaky_loss_plugin(fail=False)])
    summary = plain.run()
    assert (summary.ok, summary.failed, summary.skipped, summary.failed_before) == (0, 0, 2, 1)
    assert summary.exit_code == 1  # the matrix still has a failed cell

    retry = _runner(*args, [_flaky_loss_plugin(fail=False)], retry_failed=True)
    summary = retry.run()
    assert (summary.ok, summary.failed, summary.skipped) == (1, 0, 2)
    assert summary.computed == {"student": 1}  # nothing else is recomputed
    assert summary.exit_code == 0
    assert {r.status for r in retry.store.rows()} == {"ok"} and len(retry.store.rows()) == 3


def test_cli_retry_failed_and_failure_report(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """Through the CLI: a failed teacher fine-tune fails every row (exit 1, listed in the
    leaderboard); a plain rerun reports them; --retry-failed with the matrix fixed reruns."""
    from distill_bench.cli.main import main

    matrix = tmp_path / "tiny.toml"
    good = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",))
    bad = with_broken_teacher(good, tiny_teacher_dir, tmp_path)
    args = ["run", "--matrix", str(matrix), "--results-dir", str(bench_env["results"])]
    matrix.write_text(bad)
    assert main(args) == 1
    board = (bench_env["results"] / "leaderboards" / "tiny.md").read_text()
    assert "fail" in board.lower()
    assert main(args) == 1
    assert "left alone (bench run --retry-failed reruns them)" in capsys.readouterr().out
    assert main([*args, "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert plan.count("  failed  ") == 2 and "to run" not in plan.split("\ncells")[1]
    assert main([*args, "--retry-failed"]) == 1  # still broken: tried again, failed again
    rows = Store(bench_env["results"] / "bench.sqlite").rows("tiny")
    assert len(rows) == 2 and {r.status for r in rows} == {"failed"}
    assert {r.stage for r in rows} == {"teacher"}, [r.error for r in rows]


# -- integrity -------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_teacher_checkpoint_is_recomputed(damage, bench_env, tiny_teacher_dir, tmp_path):
    """A teacher checkpoint altered or truncated on disk fails its checksum when read:
    reported, recomputed, and the rows come out as before."""
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",))
    first = _runner(text, bench_env["cache"], tmp_path / "a.sqlite", bench_env["data"])
    assert first.run().ok == 2
    weights = bench_env["cache"] / "teacher" / first.plan.teacher_rows[0].teacher_key
    weights = weights / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        data = data[: len(data) // 3]
    weights.write_bytes(bytes(data))

    log: list[str] = []
    again = _runner(text, bench_env["cache"], tmp_path / "b.sqlite", bench_env["data"])
    again.cache.log = log.append
    assert again.run().ok == 2
    assert any("model.safetensors fails its checksum" in line for line in log), log
    assert again.summary.computed == {"teacher": 1}  # the student entry is intact and reused
    before = {r.key: r.metrics["accuracy"] for r in first.store.rows()}
    assert {r.key: r.metrics["accuracy"] for r in again.store.rows()} == before


# -- concurrency -----------------------------------------------------------------------------


def test_two_concurrent_runs_share_the_work(bench_env, tiny_teacher_dir, tmp_path):
    """Two `bench run` processes on one store and cache: every row is written once, and
    each stage is computed by exactly one of them (the other waits and reads it)."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(
        fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard", "kd-soft"))
    )
    runs = [bench(matrix, bench_env["results"]) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    rows = check_store(bench_env["results"] / "bench.sqlite")
    assert len(rows) == 1 + 2 and {r.status for r in rows} == {"ok"}
    counts = [computed_counts(out) for out, _ in outputs]
    total = {k: sum(c.get(k, 0) for c in counts) for k in {*counts[0], *counts[1]}}
    assert total == {  # timing: the teacher, and the mlp once for both losses
        "data": 1, "teacher": 1, "transfer": 1, "annotate": 1, "tokens": 1, "student": 2,
        "timing": 2,
    }  # fmt: skip
    ok = [int(re.search(r"(\d+) rows ok", out).group(1)) for out, _ in outputs]
    assert sum(ok) == 3  # each row measured by one run; the other found it in the store


# -- what is loaded, and from where ----------------------------------------------------------


class _Payload:
    """Unpickling this runs a command: what a tampered checkpoint would carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant_pickle(folder: Path, name: str, marker: Path) -> None:
    with open(folder / name, "wb") as f:
        pickle.dump({"weight": _Payload(marker)}, f)


def test_teacher_checkpoint_pickle_is_never_executed(tiny_teacher_dir, tmp_path):
    """A teacher folder whose weights are a pickle (pytorch_model.bin) does not load, and
    the pickle's payload never runs: loading goes through safetensors or weights_only."""
    from distill_bench.stages.teacher.checkpoint import load_classifier

    folder = tmp_path / "teacher"
    shutil.copytree(tiny_teacher_dir, folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    _plant_pickle(folder, "pytorch_model.bin", marker)
    with pytest.raises(BenchError, match="pickled weights .* not loaded"):
        load_classifier(str(folder))
    assert not marker.exists()


def test_student_checkpoint_loads_only_safetensors(bench_env, tiny_teacher_dir, tmp_path):
    """A student checkpoint in the cache with its weights swapped for a pickle fails its
    checksum, and even loaded directly it is read as safetensors: nothing is unpickled."""
    from distill_bench.stages.student import io as student_io

    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",))
    runner = _runner(text, bench_env["cache"], tmp_path / "s.sqlite", bench_env["data"])
    assert runner.run().ok == 2
    entry = bench_env["cache"] / "student" / runner.plan.cells[0].student_key
    marker = tmp_path / "pwned"
    _plant_pickle(entry, student_io.WEIGHTS, marker)
    with pytest.raises(Exception):  # noqa: B017
        student_io.load_student(entry, runner.registry)
    assert Cache(bench_env["cache"], log=lambda _: None).get("student", entry.name) is None
    assert not marker.exists()


def test_matrix_file_is_data(tmp_path, monkeypatch):
    """A matrix is parsed as TOML, never run: code in it is a string or a parse error."""
    monkeypatch.chdir(tmp_path)  # a relative marker: a name with a '/' is refused anyway
    marker = tmp_path / "pwned"
    code = "__import__('os').system('touch pwned')"
    matrix = parse_matrix(
        f'name = "{code}"\ndatasets = ["sst2"]\nteachers = ["minilm-l6"]\nstudents = ["mlp"]\n'
        'losses = ["ce-hard"]\naugmenters = ["none"]\nseeds = [0]\n'
    )
    assert matrix.name == code
    with pytest.raises(BenchError, match="malformed TOML"):
        parse_matrix(code)
    assert not marker.exists()


def test_plugins_come_only_from_entry_points_or_explicit_modules(tmp_path, monkeypatch):
    """A plugin-looking module on the path or in the working directory is not loaded:
    only built-ins, installed entry points and modules passed explicitly are."""
    (tmp_path / "distill_bench_plugin_evil.py").write_text(
        "from distill_bench import BenchError, LossSpec, hookimpl\n"
        "@hookimpl\n"
        "def register_losses(register):\n"
        "    register(LossSpec(name='evil', factory=lambda o: None, description='x'))\n"
    )
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "evil.py").write_text(
        (tmp_path / "distill_bench_plugin_evil.py").read_text()
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "evil" not in load_registry().specs["losses"]
    origins = {origin.split(" (")[0] for _, origin, _ in plugin_origins(make_plugin_manager())}
    assert origins <= {"built-in"} or all(
        o.startswith(("built-in", "entry point")) for o in origins
    )
    import distill_bench_plugin_evil  # noqa: E402 - passed explicitly, it is loaded

    registry = collect(make_plugin_manager(extra=[distill_bench_plugin_evil]))
    assert "evil" in registry.specs["losses"]
