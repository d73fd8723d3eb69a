"""What unlabelled text is worth against more labels, from scarce-sst2's committed rows:
the BiLSTM distilled on N labels + the rest of train against the same BiLSTM trained on
twice the labels, and each part of the distilled student's gain on its own N labels, paired
by seed and by dev sentence (the leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.scarce_gains [--rows results/leaderboards/scarce-sst2.rows.json]

The leaderboard sets every cell against ce-hard on its own labels; the arms of N and 2N
labels are different datasets to it, so the report's question (N labels + unlabelled text
against 2N labels) is printed here, and results/studies/scarce-labels.md reads it. Every arm
is scored on the same 872 dev sentences, so the pairing by sentence holds across arms; by
seed it pairs student seed i of one arm with seed i of the other, which are independent."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

STUDENT, TEACHER = "bilstm", "minilm-l6"
UNLABELLED = "rest-of-train"
TWICE = (("sst2-1k", "sst2-2k"), ("sst2-5k", "sst2-10k"))
ARMS = ("sst2-1k", "sst2-2k", "sst2-5k", "sst2-10k")


def pairs() -> list[tuple[Cell, Cell]]:
    def distilled(arm: str, augmenter: str = UNLABELLED) -> Cell:
        return Cell(arm, TEACHER, STUDENT, "kd-soft", augmenter)

    def gold(arm: str) -> Cell:
        return Cell(arm, TEACHER, STUDENT, "ce-hard", "none")

    against_twice = [(distilled(n), gold(twice)) for n, twice in TWICE]
    unlabelled_part = [(distilled(arm), distilled(arm, "none")) for arm in ARMS]
    return against_twice + unlabelled_part


def main() -> None:
    print_gains(__doc__, "scarce-sst2", pairs())


if __name__ == "__main__":
    main()
