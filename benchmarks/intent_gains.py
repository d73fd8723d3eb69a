"""Does the strong teacher make a better BiLSTM on the intent sets, and through which loss?
From intent-mpnet's and intent's committed rows: the BiLSTM distilled from mpnet-base against
the same BiLSTM distilled from MiniLM-L6; as the control, the two BiLSTMs on gold labels
alone (which differ only in the teacher's WordPiece vocabulary they read); and, under
mpnet-base, mse-logits against kd-soft, and kd-soft against the BiLSTM on gold labels
smoothed by 0.1 and by 0.5 (whether near-uniform soft targets add more than smoothing).
Paired by student seed and by test example (the leaderboard's own interval,
`report.stats.crossed`; seeds 0-2, the ones both matrices ran).

    python -m benchmarks.intent_gains [--rows results/leaderboards/intent-mpnet.rows.json \\
        results/leaderboards/intent.rows.json]

Each leaderboard sets kd-soft against ce-hard under its own teacher; the teachers are in
different matrices, so this prints the comparisons across them, which
results/studies/intent-study.md reads."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

DATASETS = ("clinc150", "banking77", "trec")
STRONG, WEAK = "mpnet-base", "minilm-l6"


def pairs() -> list[tuple[Cell, Cell]]:
    def bilstm(dataset: str, teacher: str, loss: str) -> Cell:
        return Cell(dataset, teacher, "bilstm", loss, "none")

    distilled = [(bilstm(d, STRONG, "kd-soft"), bilstm(d, WEAK, "kd-soft")) for d in DATASETS]
    control = [(bilstm(d, STRONG, "ce-hard"), bilstm(d, WEAK, "ce-hard")) for d in DATASETS]
    losses = [(bilstm(d, STRONG, "mse-logits"), bilstm(d, STRONG, "kd-soft")) for d in DATASETS]
    smoothing = [
        (bilstm(d, STRONG, "kd-soft"), bilstm(d, STRONG, f"ce-smooth-{share}"))
        for share in ("0.1", "0.5")
        for d in DATASETS
    ]
    return distilled + control + losses + smoothing


def main() -> None:
    print_gains(__doc__, ("intent-mpnet", "intent"), pairs())


if __name__ == "__main__":
    main()
