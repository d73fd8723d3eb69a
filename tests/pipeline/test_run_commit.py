"""Rows name the commit a run started from, not the one checked out when each is written:
a long run outlives commits and edits made beside it (results/README.md asks for the
exact code a page came from)."""

from __future__ import annotations

import subprocess

import distill_bench.execute.executors as executors
import pytest
from distill_bench.execute import api
from distill_bench.stages.measure import environment as env_module

from tests.helpers import tiny_matrix_text


@pytest.fixture
def fresh_commit():
    env_module.git_commit.cache_clear()
    yield env_module.git_commit
    env_module.git_commit.cache_clear()


def test_the_commit_is_read_once_per_process(fresh_commit, monkeypatch):
    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(env_module.subprocess, "run", counting)
    first = fresh_commit()
    assert fresh_commit() == first
    assert len(calls) == 2  # rev-parse HEAD and status, once


def test_run_planned_reads_the_commit_before_anything_runs(
    fresh_commit, bench_env, tiny_teacher_dir, tmp_path, monkeypatch
):
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(tiny_matrix_text(tiny_teacher_dir))
    planned = api.plan_matrix(matrix, data_dir=bench_env["data"], cache_dir=bench_env["cache"])
    seen = []

    class Recording:
        def run(self, runner):
            seen.append(fresh_commit.cache_info().currsize)

    monkeypatch.setattr(executors, "make_executor", lambda *args: Recording())
    api.run_planned(planned, results_dir=bench_env["results"])
    assert seen == [1]  # read (and kept) before the executor started
