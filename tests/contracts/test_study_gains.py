"""A study page quotes the gains its script prints from the committed rows: every gain and
interval `benchmarks.augment_gains` / `intel_aug_gains` / `intel_tinybert_gains` /
`intent_gains` / `scarce_gains` / `scarce_report_gains` / `tang_gains` /
`xtremedistil_gains` print appears on the page that reads them, as the page says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from benchmarks import (
    augment_gains,
    intel_aug_gains,
    intel_tinybert_gains,
    intent_gains,
    scarce_gains,
    scarce_report_gains,
    tang_gains,
    xtremedistil_gains,
)

ROOT = Path(__file__).resolve().parents[2]
# a gain as the leaderboard writes it (columns.gain_text), its star left out: the pages
# quote the gain and its interval
GAIN = re.compile(r"\| ([+-]\d+\.\d \[[+-]\d+\.\d+, [+-]\d+\.\d+\])(?: \*)? \|")

STUDIES = [
    (augment_gains, "augment-sst2", "augment.md", 6),  # 2 students x 3 comparisons
    # SST-2: GloVe vs random, augmentation, x 2; Emotion: GloVe vs random x 2, augmentation x 3;
    # CoLA: augmentation x 2
    (
        intel_aug_gains,
        ("intel-sst2-aug", "intel-emotion-aug", "intel-cola-aug"),
        "intel-study.md",
        11,
    ),
    # CoLA's 6-layer student from mpnet's layers: tinybert vs kd-soft; against MiniLM-L6 x 2
    (intel_tinybert_gains, ("intel-cola-tinybert", "intel-cola-mpnet"), "intel-study.md", 3),
    # the BiLSTM from mpnet-base against it from MiniLM-L6 (distilled, on labels), and under
    # mpnet-base mse-logits against kd-soft, kd-soft against smoothed labels (0.1, 0.5), x 3 sets
    (intent_gains, ("intent-mpnet", "intent"), "intent-study.md", 15),
    (scarce_gains, "scarce-sst2", "scarce-labels.md", 6),  # 2 against twice the labels + 4 arms
    # against 2N and N labels at 1k and 5k, and the 1k arm distilled for 2 epochs against both
    (scarce_report_gains, "scarce-sst2-report", "scarce-labels.md", 6),
    (tang_gains, "tang-sst2", "tang.md", 4),  # GloVe vs random x 2, augmentation x 2
    (xtremedistil_gains, "xtremedistil-clinc", "xtremedistil.md", 6),  # 2 budgets x 3 comparisons
]


@pytest.mark.parametrize(
    ("script", "matrix", "page", "n_gains"), STUDIES, ids=[s[2] for s in STUDIES]
)
def test_study_page_quotes_its_gains(script, matrix, page, n_gains, monkeypatch, capsys):
    matrices = (matrix,) if isinstance(matrix, str) else matrix
    rows = [str(ROOT / "results" / "leaderboards" / f"{m}.rows.json") for m in matrices]
    monkeypatch.setattr(sys, "argv", [script.__name__, "--rows", *rows])
    script.main()
    gains = GAIN.findall(capsys.readouterr().out)
    assert len(gains) == n_gains, gains
    text = (ROOT / "results" / "studies" / page).read_text()
    missing = [g for g in gains if g not in text]
    assert not missing, f"{page} does not quote {missing}"
