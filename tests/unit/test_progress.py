"""Plain progress lines: a long loop says how far it is; a short one stays silent."""

from __future__ import annotations

from distill_bench.plugin_api.progress import PrintProgress, status_line


def test_a_long_loop_prints_how_far_it_is(capsys, monkeypatch):
    clock = iter(range(0, 1000, 30))  # each item takes 30 s
    monkeypatch.setattr("distill_bench.plugin_api.progress.time.monotonic", lambda: next(clock))
    assert list(PrintProgress().track(range(6), "fine-tune epoch 1/1")) == list(range(6))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [  # one a minute: after the 2nd, 4th and 6th item
        "fine-tune epoch 1/1: 2/6, 1.0 min, about 2.0 min left",
        "fine-tune epoch 1/1: 4/6, 2.0 min, about 1.0 min left",
        "fine-tune epoch 1/1: 6/6, 3.0 min, about 0.0 min left",
    ]


def test_a_short_loop_prints_nothing(capsys):
    assert sum(PrintProgress().track(range(1000), "annotate")) == sum(range(1000))
    assert capsys.readouterr().out == ""


def test_status_line_without_a_length():
    assert status_line("transfer", 50, None, 90.0) == "transfer: 50, 1.5 min"


def test_a_pool_workers_lines_name_its_stage(capsys):
    from distill_bench.execute.workers import WorkerProgress

    progress = WorkerProgress()
    progress.log("before any stage")
    progress.stage = "teacher mpnet-base on sst2"
    progress.log("fine-tune epoch 1/1: 2/6, 1.0 min, about 2.0 min left")
    assert capsys.readouterr().out.splitlines() == [
        "before any stage",
        "[teacher mpnet-base on sst2] fine-tune epoch 1/1: 2/6, 1.0 min, about 2.0 min left",
    ]
