"""What the word vectors and the augmentation each add to the Intel study's BiLSTM on SST-2,
from intel-sst2-aug's committed rows: the BiLSTM from GloVe 50-d against the same BiLSTM from
random vectors (on gold labels; distilled over labelled + augmented text), and each BiLSTM
distilled over labelled + augmented text against it distilled over the labelled set alone,
paired by seed and by dev sentence (the leaderboard's own interval, `report.stats.crossed`);
and on Emotion, from intel-emotion-aug's rows (its labelled-set cells are intel-emotion-mpnet's,
from the cache), the BiLSTM from GloVe against it from random vectors, on gold labels and
distilled on the labelled set, and each student distilled over labelled + augmented text
against it distilled over the labelled set alone (paired by test tweet); and the same
augmentation pairs on CoLA, from intel-cola-aug's rows (paired by dev sentence).

    python -m benchmarks.intel_aug_gains [--rows results/leaderboards/intel-sst2-aug.rows.json \
        results/leaderboards/intel-emotion-aug.rows.json \
        results/leaderboards/intel-cola-aug.rows.json]

The leaderboard sets every distilled cell against ce-hard of the same student (the study's
quantity: distillation and augmentation together); this prints the parts, which
results/studies/intel-study.md reads."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

GLOVE, RANDOM = "bilstm-intel-glove", "bilstm-intel"
# each dataset's teacher as its matrix names it (CoLA's for its bf16 fine-tuning)
TEACHER = {"sst2": "mpnet-base", "emotion": "mpnet-base", "cola": "mpnet-base-bf16"}


def cell(student: str, loss: str, augmenter: str, dataset: str = "sst2") -> Cell:
    return Cell(dataset, TEACHER[dataset], student, loss, augmenter)


def augmentation(student: str, dataset: str) -> tuple[Cell, Cell]:
    """The student distilled over labelled + tang text against it over the labelled set."""
    return cell(student, "kd-soft", "tang", dataset), cell(student, "kd-soft", "none", dataset)


def pairs() -> list[tuple[Cell, Cell]]:
    sst2 = [
        (cell(GLOVE, "ce-hard", "none"), cell(RANDOM, "ce-hard", "none")),
        (cell(GLOVE, "kd-soft", "tang"), cell(RANDOM, "kd-soft", "tang")),
        augmentation(GLOVE, "sst2"),
        augmentation(RANDOM, "sst2"),
    ]
    emotion = [
        (cell(GLOVE, loss, "none", "emotion"), cell(RANDOM, loss, "none", "emotion"))
        for loss in ("ce-hard", "kd-soft")
    ] + [augmentation(student, "emotion") for student in ("mlp", RANDOM, GLOVE)]
    cola = [augmentation(student, "cola") for student in ("mlp", RANDOM)]
    return sst2 + emotion + cola


def main() -> None:
    print_gains(__doc__, ("intel-sst2-aug", "intel-emotion-aug", "intel-cola-aug"), pairs())


if __name__ == "__main__":
    main()
