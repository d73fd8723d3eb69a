"""What a bigger transfer set adds, from augment-sst2's committed rows: each distilled
student on one transfer set against the same student and loss on another, paired by seed and
by dev sentence (the leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.augment_gains [--rows results/leaderboards/augment-sst2.rows.json]

The leaderboard's gain column sets every distilled cell against ce-hard on the labelled set
(distillation and augmentation together, the quantity of Tang et al.'s Table 1); this prints
the augmentation's part alone, which results/studies/augment.md reads."""

from __future__ import annotations

import argparse
from collections import defaultdict

from distill_bench.report.seeds import predictions_of
from distill_bench.report.stats import crossed
from distill_bench.store.rows_file import read_rows_file

COMPARED = (("tang", "none"), ("imdb-unsup", "none"), ("imdb-unsup", "tang"))
LOSS = "mse-logits"  # the matrix's distillation loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="results/leaderboards/augment-sst2.rows.json")
    args = parser.parse_args()
    cells = defaultdict(list)
    for row in read_rows_file(args.rows)[1]:
        if row.role == "student" and row.status == "ok" and row.loss == LOSS:
            cells[row.student, row.augmenter].append(row)
    print("| student | transfer set | against | gain [95% CI] | p | covers |")
    print("| --- | --- | --- | ---: | ---: | --- |")
    for student in sorted({s for s, _ in cells}):
        for mine, theirs in COMPARED:
            a, b = predictions_of(cells[student, mine]), predictions_of(cells[student, theirs])
            gain = crossed(a, b) if a and b else None
            if gain is None:  # a cell missing, or rows without per-example predictions
                print(f"| {student} | {mine} | {theirs} | no paired predictions | | |")
                continue
            p = "<1e-4" if gain.p_value < 1e-4 else f"{gain.p_value:.2g}"
            print(
                f"| {student} | {mine} | {theirs} | {gain.mean:+.1f} "
                f"[{gain.low:+.1f}, {gain.high:+.1f}] | {p} | {gain.n} seeds x "
                f"{gain.examples} examples |"
            )


if __name__ == "__main__":
    main()
