"""The TinyBERT6 row on CoLA, in parts, from intel-cola-tinybert's and intel-cola-mpnet's
committed rows: TinyBERT's intermediate terms (hidden states and attention maps added to soft
targets) against soft targets alone, for the student built from half of mpnet's pre-trained
layers; and that student against the pretrained MiniLM-L6 of intel-cola-mpnet, on gold labels
(which pre-trained start serves CoLA, no teacher read) and distilled (the two teachers are
mpnet-base fine-tuned with one budget and seed, under bf16 and in fp32 on two machines).
Paired by student seed and by dev sentence (the leaderboard's own interval,
`report.stats.crossed`).

    python -m benchmarks.intel_tinybert_gains [--rows \
        results/leaderboards/intel-cola-tinybert.rows.json \
        results/leaderboards/intel-cola-mpnet.rows.json]

The leaderboard sets each distilled cell against ce-hard of the same student; this prints
the comparisons results/studies/intel-study.md reads."""

from __future__ import annotations

from benchmarks.gains import Cell, print_gains

HALF_MPNET = "mpnet-6l"  # teacher-layers, init = "pretrained": 6 of mpnet's 12 layers


def pairs() -> list[tuple[Cell, Cell]]:
    def half(loss: str) -> Cell:
        return Cell("cola", "mpnet-base-bf16", HALF_MPNET, loss, "none")

    def minilm(loss: str) -> Cell:
        return Cell("cola", "mpnet-base", "minilm-l6", loss, "none")

    return [
        (half("tinybert"), half("kd-soft")),
        (half("ce-hard"), minilm("ce-hard")),
        (half("kd-soft"), minilm("kd-soft")),
    ]


def main() -> None:
    print_gains(__doc__, ("intel-cola-tinybert", "intel-cola-mpnet"), pairs())


if __name__ == "__main__":
    main()
