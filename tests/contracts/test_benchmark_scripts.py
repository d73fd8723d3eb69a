"""Every benchmark script still imports: they run rarely (an hour of compute, a lent GPU),
so a name moved in the harness would otherwise be found by the next person to need one
(bench_measure_quality and bench_measure_drift imported `prepare` from student io after it
had moved to stages/tokens.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted(Path(__file__).resolve().parents[2].joinpath("benchmarks").glob("*.py"))


def test_the_scripts_are_found():
    assert len(SCRIPTS) > 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_script_imports(script):
    importlib.import_module(f"benchmarks.{script.stem}")


def test_cached_teacher_names_a_dataset_the_matrix_lacks(tmp_path):
    """A script asking for a dataset its matrix does not run gets a line naming both, not a
    StopIteration from deep inside."""
    from benchmarks.cached import cached_teacher

    matrix = Path(__file__).resolve().parents[2] / "benchmarks" / "intel-sst2-mpnet.toml"
    with pytest.raises(SystemExit, match=r"intel-sst2-mpnet.toml: no cell on dataset 'cola'"):
        cached_teacher(str(matrix), tmp_path, "cola")
