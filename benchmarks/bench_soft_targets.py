"""How soft are a teacher's soft targets? For each dataset of a matrix, from its cached
annotation of the labelled transfer set: the teacher's mean top probability at T = 1 and at
the kd-soft temperature, beside chance (1 / labels), and its mean top-1 minus top-2 logit.

    python -m benchmarks.bench_soft_targets --matrix benchmarks/intent-mpnet.toml [--temperature 2]

A teacher whose targets at T sit near chance passes the student little beyond its argmax
(kd-soft's soft half then acts like label smoothing); read with the teacher's ECE on the
leaderboard. Needs the matrix's annotation in the stage cache (`bench run` first)."""

from __future__ import annotations

import argparse
import sys

import numpy as np
from distill_bench.analysis.errors import softmax_top
from distill_bench.execute.api import plan_matrix
from distill_bench.stages.annotation.outputs import OutputsReader

from benchmarks.cached import bench_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", required=True)
    parser.add_argument("--temperature", type=float, default=2.0)
    args = parser.parse_args()
    planned = plan_matrix(args.matrix, data_dir=bench_data_dir())
    print(
        f"| dataset | labels | chance | top p at T=1 | top p at T={args.temperature:g} | top-1 minus top-2 logit |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    seen = set()
    for cell in planned.plan.cells:
        if cell.augmenter.name != "none" or cell.dataset.name in seen:
            continue
        seen.add(cell.dataset.name)
        folder = planned.cache.get("annotate", cell.annotate_key)
        if folder is None:
            sys.exit(
                f"{args.matrix}: the {cell.dataset.name} annotation is not cached; run `bench run --matrix {args.matrix}`"
            )
        logits = OutputsReader(folder).logits().astype(np.float64)
        top2 = np.sort(logits, axis=1)[:, -2:]
        print(
            f"| {cell.dataset.name} | {logits.shape[1]} | {1 / logits.shape[1]:.3f} "
            f"| {softmax_top(logits).mean():.3f} "
            f"| {softmax_top(logits / args.temperature).mean():.3f} "
            f"| {(top2[:, 1] - top2[:, 0]).mean():.2f} |"
        )


if __name__ == "__main__":
    main()
