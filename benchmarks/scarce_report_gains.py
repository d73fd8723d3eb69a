"""The scarce-label report's question, from scarce-sst2-report's committed rows: the
pretrained MiniLM-L6 distilled from mpnet-base on N labels + the rest of train as unlabelled
text, against the same student fine-tuned on twice the labels and on its own N labels,
paired by seed and by dev sentence (the leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.scarce_report_gains [--rows results/leaderboards/scarce-sst2-report.rows.json]

The leaderboard sets a cell against ce-hard of the same student entry on its own labels; here
the distilled entries (minilm-l6-1ep: one epoch over the transfer set; minilm-l6-2ep: two,
on the 1k arm) and the fine-tuned one (minilm-l6: three over the labels) are the same
pretrained checkpoint with their own epoch counts, and the arms of N and 2N labels are
different datasets, so the comparisons are printed here and results/studies/scarce-labels.md
reads them. Every arm is scored on the same 872 dev sentences; seed i of one arm is paired
with seed i of the other (independent runs)."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

TEACHER = "mpnet-base"
TWICE = (("sst2-1k", "sst2-2k"), ("sst2-5k", "sst2-10k"))


def pairs() -> list[tuple[Cell, Cell]]:
    def distilled(arm: str, student: str = "minilm-l6-1ep") -> Cell:
        return Cell(arm, TEACHER, student, "kd-soft", "rest-of-train")

    def fine_tuned(arm: str) -> Cell:
        return Cell(arm, TEACHER, "minilm-l6", "ce-hard", "none")

    against_twice = [(distilled(n), fine_tuned(twice)) for n, twice in TWICE]
    against_own = [(distilled(n), fine_tuned(n)) for n, _ in TWICE]
    # the 1k arm distilled for 2 epochs, added when one epoch left N = 1k unsettled
    two_epochs = [
        (distilled("sst2-1k", "minilm-l6-2ep"), fine_tuned("sst2-2k")),
        (distilled("sst2-1k", "minilm-l6-2ep"), fine_tuned("sst2-1k")),
    ]
    return against_twice + against_own + two_epochs


def main() -> None:
    print_gains(__doc__, "scarce-sst2-report", pairs())


if __name__ == "__main__":
    main()
