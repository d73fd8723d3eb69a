"""What the word vectors and the augmentation each add in Tang et al.'s setup, from
tang-sst2's committed rows: the BiLSTM from GloVe against the same BiLSTM from random
vectors (on gold labels; distilled with augmentation), and each BiLSTM distilled with
augmentation against it distilled on the labelled set alone (from either start), paired by
seed and by dev sentence (the leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.tang_gains [--rows results/leaderboards/tang-sst2.rows.json]

The leaderboard sets every distilled cell against ce-hard of the same student (Tang et al.'s
Table 1 quantity: distillation and augmentation together); this prints the parts, which
results/studies/tang.md reads."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

TEACHER = "mpnet-base"
GLOVE, RANDOM = "bilstm-tang-glove", "bilstm-tang"


def cell(student: str, loss: str, augmenter: str) -> Cell:
    return Cell("sst2", TEACHER, student, loss, augmenter)


def pairs() -> list[tuple[Cell, Cell]]:
    return [
        (cell(GLOVE, "ce-hard", "none"), cell(RANDOM, "ce-hard", "none")),
        (cell(GLOVE, "mse-logits", "tang"), cell(RANDOM, "mse-logits", "tang")),
        (cell(GLOVE, "mse-logits", "tang"), cell(GLOVE, "mse-logits", "none")),
        (cell(RANDOM, "mse-logits", "tang"), cell(RANDOM, "mse-logits", "none")),
    ]


def main() -> None:
    print_gains(__doc__, "tang-sst2", pairs())


if __name__ == "__main__":
    main()
