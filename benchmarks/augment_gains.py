"""What a bigger transfer set adds, from augment-sst2's committed rows: each distilled
student on one transfer set against the same student and loss on another, paired by seed and
by dev sentence (the leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.augment_gains [--rows results/leaderboards/augment-sst2.rows.json]

The leaderboard's gain column sets every distilled cell against ce-hard on the labelled set
(distillation and augmentation together, the quantity of Tang et al.'s Table 1); this prints
the augmentation's part alone, which results/studies/augment.md reads."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

COMPARED = (("tang", "none"), ("imdb-unsup", "none"), ("imdb-unsup", "tang"))
LOSS = "mse-logits"  # the matrix's distillation loss
STUDENTS = ("bilstm", "mlp")
TEACHER = "minilm-l6"


def main() -> None:
    pairs = [
        (Cell("sst2", TEACHER, student, LOSS, mine), Cell("sst2", TEACHER, student, LOSS, theirs))
        for student in STUDENTS
        for mine, theirs in COMPARED
    ]
    print_gains(__doc__, "augment-sst2", pairs)


if __name__ == "__main__":
    main()
