"""XtremeDistil's stage-wise schedule against the one-stage losses, from xtremedistil-clinc's
committed rows: at each label budget, the stage-wise BiLSTM against the same BiLSTM distilled
in one stage (mse-logits, kd-soft) on the same labels + unlabelled text, and against the
BiLSTM trained on the labels alone (ce-hard), paired by seed and by test example (the
leaderboard's own interval, `report.stats.crossed`).

    python -m benchmarks.xtremedistil_gains [--rows results/leaderboards/xtremedistil-clinc.rows.json]

The leaderboard sets every cell against ce-hard on the labels; the stage-wise-vs-one-stage
questions are printed here, and results/studies/xtremedistil.md reads them."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

STUDENT, TEACHER = "bilstm-xtremedistil", "minilm-l6"
UNLABELLED = "plus-unlabelled"
BUDGETS = ("clinc150-10pc", "clinc150-30pc")


def pairs() -> list[tuple[Cell, Cell]]:
    def cell(budget: str, loss: str, augmenter: str = UNLABELLED) -> Cell:
        return Cell(budget, TEACHER, STUDENT, loss, augmenter)

    return [
        (cell(budget, "stagewise"), other)
        for budget in BUDGETS
        for other in (
            cell(budget, "mse-logits"),
            cell(budget, "kd-soft"),
            cell(budget, "ce-hard", "none"),
        )
    ]


def main() -> None:
    print_gains(__doc__, "xtremedistil-clinc", pairs())


if __name__ == "__main__":
    main()
