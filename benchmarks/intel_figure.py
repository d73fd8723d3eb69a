"""The Intel study's figure: (student score / teacher score)% against parameters, one panel
per dataset, from the rows of the three intel-*.toml matrices in the results store.

    BENCH_DATA_DIR=../shared/data python -m benchmarks.intel_figure

writes results/intel-study-*.png and .svg (each matrix's own report has its single panel).
Only rows of the matrices as they are now count, as in `bench report`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from distill_bench.cli.main import _data_dir, _data_source, planned_rows
from distill_bench.matrix.model import load_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import load_registry
from distill_bench.report.plots import write_plots
from distill_bench.store.results import Store

MATRICES = ("intel-sst2", "intel-emotion", "intel-cola")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    args = parser.parse_args()
    registry, here = load_registry(), Path(__file__).parent
    source = _data_source(_data_dir(args.data_dir))
    store = Store(Path(args.results_dir) / "bench.sqlite")
    rows = []
    for name in MATRICES:
        plan = make_plan(load_matrix(here / f"{name}.toml"), registry, source)
        rows += planned_rows(plan, store)[0]  # failed rows are left out of the plots anyway
    for caption, png in write_plots(rows, Path(args.results_dir), "intel-study"):
        print(f"{caption}: {Path(args.results_dir) / png}")


if __name__ == "__main__":
    main()
