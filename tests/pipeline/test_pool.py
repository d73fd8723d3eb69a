"""The local executor's training pool: the rows of a one-at-a-time run, trained on every core."""

from __future__ import annotations

import functools

import pytest
from distill_bench.execute.local import default_jobs, thread_shares
from distill_bench.plugin_api.errors import BenchError

from tests.helpers import (
    computed_counts,
    fast_matrix_text,
    run_tiny,
    tiny_rows,
    with_broken_teacher,
)

# everything a row says that depends on the trained weights, not on the clock
SAME = ("primary", "teacher_agreement", "transfer_size", "eval_examples", "eval_predictions")


def test_the_pool_gives_the_one_at_a_time_rows(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """Same matrix, separate caches, --jobs 1 and --jobs 2: every stage computed once by
    each, and the same rows, down to every evaluation prediction. The MLP also learns
    through a teacher assistant (the kd-soft BiLSTM): the pool trains the assistant first."""
    matrix = tmp_path / "tiny.toml"
    chain = '[assistants]\nmlp = {student = "bilstm", loss = "kd-soft"}\n'
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp", "bilstm"), extra=chain))
    assert run_tiny(matrix, tmp_path / "one", tmp_path / "cache-one", "--jobs", "1") == 0
    one_out = capsys.readouterr().out
    assert run_tiny(matrix, tmp_path / "pool", tmp_path / "cache-pool", "--jobs", "2") == 0
    pool_out = capsys.readouterr().out
    assert "training on 2 processes" in pool_out and "training on" not in one_out
    assert (
        "trained student sst2 | tiny-bert -> mlp" in pool_out
    )  # what the workers did is reported as it ends
    # the driver counts what the workers computed: each stage once, as one process does
    assert computed_counts(pool_out) == computed_counts(one_out)
    assert computed_counts(pool_out)["student"] == 5  # 2 x 2 and the MLP via its assistant
    assert computed_counts(pool_out)["annotate"] == 2  # the teacher's and the assistant's logits
    one, pool = tiny_rows(tmp_path / "one"), tiny_rows(tmp_path / "pool")
    assert set(one) == set(pool) and len(one) == 6
    assert {r.student for r in one.values()} >= {"mlp via bilstm"}
    for key, row in one.items():
        other = pool[key]
        assert (other.status, row.status) == ("ok", "ok")
        for name in SAME:
            if name in row.metrics:
                assert other.metrics[name] == row.metrics[name], (key, name)
        assert other.measurements["params_total"] == row.measurements["params_total"]


def test_a_stage_failing_in_the_pool_fails_its_rows(bench_env, tiny_teacher_dir, tmp_path, capsys):
    """A teacher that cannot fine-tune fails in a worker: its rows fail with the stage
    named, nothing downstream is trained, and the run ends non-zero with its rows written."""
    matrix = tmp_path / "tiny.toml"
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft",))
    matrix.write_text(with_broken_teacher(text, tiny_teacher_dir, tmp_path))
    code = run_tiny(matrix, tmp_path / "r", tmp_path / "c", "--jobs", "2")
    out = capsys.readouterr().out
    written = list(tiny_rows(tmp_path / "r").values())
    assert code == 1 and len(written) == 2
    assert {r.status for r in written} == {"failed"} and {r.stage for r in written} == {"teacher"}
    assert "FAILED teacher tiny-bert on sst2" in out
    assert "student" not in computed_counts(out)


def test_jobs_default_and_bad_values(monkeypatch, bench_env, tiny_teacher_dir, tmp_path, capsys):
    """$BENCH_JOBS sets the default; a bad value or --jobs 0 is a one-line error, and
    --jobs is refused for Ray, which sizes its own workers."""
    monkeypatch.setenv("BENCH_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.setenv("BENCH_JOBS", "two")
    with pytest.raises(BenchError, match=r"BENCH_JOBS: expected a whole number >= 1, got 'two'"):
        default_jobs()
    monkeypatch.delenv("BENCH_JOBS")
    assert default_jobs() >= 1
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",)))
    assert run_tiny(matrix, tmp_path / "r", tmp_path / "c", "--jobs", "0") == 2
    assert "--jobs: expected a whole number >= 1, got 0" in capsys.readouterr().err
    assert run_tiny(matrix, tmp_path / "r", tmp_path / "c", "--executor", "ray", "--jobs", "2") == 2
    assert "--jobs is for --executor local" in capsys.readouterr().err


def test_a_stage_alone_takes_every_core():
    """A lone ready stage with nothing running gets every core, and nothing starts beside
    it; otherwise each stage gets its share (2 cores, 2 jobs: one thread each)."""
    shares = functools.partial(thread_shares, cores=2, share=1, jobs=2)
    assert shares(["teacher"], []) == [("teacher", 2)]
    assert shares(["a", "b"], []) == [("a", 1), ("b", 1)]
    assert shares(["a"], [1]) == [("a", 1)]  # one beside a share
    assert shares(["a", "b"], [2]) == []  # not beside a lone stage
    assert shares([], []) == []


def test_only_idle_workers_get_a_stage():
    """Nothing queues in the pool: at most one stage per idle worker starts, the first ready
    (upstream kinds come first), so an annotation that becomes ready while students run
    starts on the next free worker instead of behind every student queued before it."""
    shares = functools.partial(thread_shares, cores=2, share=1, jobs=2)
    students = [f"student-{i}" for i in range(15)]
    assert shares(["annotate", *students], []) == [("annotate", 1), ("student-0", 1)]
    assert shares(["annotate", *students], [1]) == [("annotate", 1)]
    assert shares(["annotate", *students], [1, 1]) == []  # both workers busy
