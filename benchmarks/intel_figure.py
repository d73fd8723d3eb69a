"""The Intel study's figure: (student score / teacher score)% against parameters, one panel
per dataset, from the rows of the three intel-*.toml matrices: a matrix's committed rows
file (results/leaderboards/NAME.rows.json, what its page renders) where there is one, else
the results store.

    BENCH_DATA_DIR=../shared/data python -m benchmarks.intel_figure

writes results/studies/plots/intel-study-*.png (and .svg with --svg; each matrix's own
report has its single panel). Only rows of the matrices as they are now count, as in
`bench report`; a matrix with none is named and left out of the figure."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from distill_bench.execute.api import open_store, plan_matrix, resolve_data_dir
from distill_bench.report.page import planned_rows
from distill_bench.report.plots import write_plots
from distill_bench.store.rows_file import ROWS_SUFFIX, read_rows_file

MATRICES = ("intel-sst2", "intel-emotion", "intel-cola")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    parser.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    args = parser.parse_args()
    here, data_dir = Path(__file__).parent, resolve_data_dir(args.data_dir)
    store = open_store(args.results_dir)
    rows = []
    for name in MATRICES:
        rows_file = Path(args.results_dir) / "leaderboards" / f"{name}{ROWS_SUFFIX}"
        if rows_file.exists():  # the page's own rows: the figure reproduces from a clone
            found = read_rows_file(rows_file)[1]
        else:
            plan = plan_matrix(here / f"{name}.toml", data_dir=data_dir).plan
            found = planned_rows(plan, store)[0]  # failed rows are left out of the plots anyway
        if not found:
            print(f"{name}: no rows of the matrix as it is now (re-run it); not in the figure")
        rows += found
    plots = Path(args.results_dir) / "studies" / "plots"  # beside studies/intel-study.md
    for caption, png in write_plots(rows, plots, "intel-study", svg=args.svg):
        print(f"{caption}: {plots / png}")


if __name__ == "__main__":
    main()
