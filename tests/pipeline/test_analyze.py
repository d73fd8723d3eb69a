"""`bench analyze`: a finished run's analysis page from its stored predictions; a matrix
with no finished rows is one line and exit 2; CoLA's dev halves are where the page says."""

from __future__ import annotations

import os

import pytest
from distill_bench.analysis.page import COLA_IN_DOMAIN, COLA_OUT_OF_DOMAIN
from distill_bench.cli.main import main
from distill_bench.plugin_api.registry import load_registry

from tests.helpers import fast_matrix_text, real_data_dir, run_tiny, write_tiny_data_dir


@pytest.fixture(scope="module")
def ran(tmp_path_factory, tiny_teacher_dir) -> dict:
    root = tmp_path_factory.mktemp("analyze")
    data = write_tiny_data_dir(root / "data")
    matrix = root / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",)))
    saved = os.environ.get("BENCH_DATA_DIR")
    os.environ["BENCH_DATA_DIR"] = str(data)
    try:
        assert run_tiny(matrix, root / "results", root / "cache", "--no-plots") == 0
    finally:
        if saved is None:
            os.environ.pop("BENCH_DATA_DIR")
        else:
            os.environ["BENCH_DATA_DIR"] = saved
    return {"root": root, "matrix": matrix, "data": data}


def _analyze(ran, results, *extra) -> int:
    return main(
        ["analyze", "--matrix", str(ran["matrix"]), "--data-dir", str(ran["data"]),
         "--results-dir", str(results), "--cache-dir", str(ran["root"] / "cache"), *extra]
    )  # fmt: skip


def test_analyze_writes_the_page_from_the_stored_predictions(ran, capsys):
    results = ran["root"] / "results"
    assert _analyze(ran, results, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "sst2: 3 entries, 3 runs" in out
    assert out.count("to compute") == 1 + 3  # the probe sets, then the teacher and 2 students
    assert not (results / "tiny-analysis.md").exists()
    assert _analyze(ran, results) == 0
    out = capsys.readouterr().out
    assert "sst2 | mlp / kd-soft / none: repeats" in out
    assert "probing sst2 | mlp / kd-soft / none (seeds (0, 0))" in out
    assert "sst2: probes against the teacher" in out  # the terminal summary
    page = (results / "tiny-analysis.md").read_text()
    assert "## sst2" in page and "| mlp / ce-hard / none |" in page
    assert "### The teacher's errors" in page
    assert "### By the teacher's confidence" in page  # from the teacher's cache entry
    # probing: the synthetic sentences have no verbs to speak of, but words to shift
    assert (
        "### sst2: probing" in page and "| bigram_shift | were two adjacent words swapped?" in page
    )
    assert "Not built: coordination_inversion: fewer than 2 classes" in page
    assert (results / "plots" / "tiny-probes-sst2.png").stat().st_size > 1000
    # the second time every probe stage is cached
    assert _analyze(ran, results, "--dry-run") == 0
    assert "to compute" not in capsys.readouterr().out
    assert _analyze(ran, results, "--probe-runs", "2", "--dry-run") == 0
    assert _analyze(ran, results, "--no-probes") == 0
    page = (results / "tiny-analysis.md").read_text()
    assert "probing" not in page.split("Probing was left out")[1]


def test_analyze_reads_the_file_the_teacher_stage_writes():
    from distill_bench.cli.analyze import TEACHER_PREDICTIONS
    from distill_bench.stages.teacher.stage import PREDICTIONS

    assert TEACHER_PREDICTIONS == PREDICTIONS


def test_a_matrix_without_finished_rows_is_one_line(ran, tmp_path, capsys):
    assert _analyze(ran, tmp_path / "empty") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no finished rows with per-example predictions" in err
    assert not (tmp_path / "empty" / "tiny-analysis.md").exists()


def test_cola_dev_is_the_in_domain_half_then_the_out_of_domain_half():
    data = real_data_dir()
    spec = load_registry().get("datasets", "cola")
    evaluation = spec.factory(spec.resolve({}, "test"), data).evaluation
    first = lambda name: (data / "cola" / name).read_text().splitlines()[0].split("\t")[3]  # noqa: E731
    assert len(evaluation) == COLA_IN_DOMAIN + COLA_OUT_OF_DOMAIN
    assert evaluation.texts[0] == first("in_domain_dev.tsv")
    assert evaluation.texts[COLA_IN_DOMAIN] == first("out_of_domain_dev.tsv")


def test_datasets_picks_entries_and_names_an_unknown_one(ran, tmp_path, capsys):
    results = ran["root"] / "results"
    assert _analyze(ran, results, "--datasets", "sst2", "--dry-run", "--no-probes") == 0
    assert "sst2: 3 entries" in capsys.readouterr().out
    assert _analyze(ran, results, "--datasets", "sst2,cola2", "--dry-run") == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--datasets: 'cola2' is no dataset entry of {ran['matrix']} (sst2)")
