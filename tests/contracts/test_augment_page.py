"""augment.md quotes the transfer-set gains `benchmarks.augment_gains` prints from the
committed rows: each printed gain and interval appears on the page, as the page says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from benchmarks import augment_gains

ROOT = Path(__file__).resolve().parents[2]
GAIN = re.compile(r"\| ([+-]\d+\.\d \[[+-]\d+\.\d, [+-]\d+\.\d\]) \|")


def test_augment_page_quotes_the_rows(monkeypatch, capsys):
    rows = ROOT / "results" / "leaderboards" / "augment-sst2.rows.json"
    monkeypatch.setattr(sys, "argv", ["augment_gains", "--rows", str(rows)])
    augment_gains.main()
    gains = GAIN.findall(capsys.readouterr().out)
    assert len(gains) == 6, gains  # 2 students x 3 comparisons
    page = (ROOT / "results" / "studies" / "augment.md").read_text()
    missing = [g for g in gains if g not in page]
    assert not missing, f"augment.md does not quote {missing}"
