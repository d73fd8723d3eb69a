"""Runs that never read their teacher (ce-hard from random init on data every teacher seed
shares) are one run per student seed: their interval is over the student seeds, not a point
made of three identical teacher means. Told apart by their per-example predictions, never
by a coincidence of scores."""

from __future__ import annotations

import numpy as np
from distill_bench.report.entries import leaderboards
from distill_bench.report.stats import Predictions, crossed, teacher_blind

from tests.helpers import measurements, row


def _runs(blind: bool):
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 200)
    runs = {s: np.where(rng.random(200) < 0.7 + 0.02 * s, gold, 1 - gold) for s in range(5)}
    by_unit = {
        (t, s): p if blind else np.where(rng.random(200) < 0.1, 1 - p, p)
        for t in range(3)
        for s, p in runs.items()
    }
    return gold, by_unit


def test_identical_predictions_under_every_teacher_are_teacher_blind():
    _, blind = _runs(True)
    _, sighted = _runs(False)
    assert teacher_blind(blind, np.array_equal) and not teacher_blind(sighted, np.array_equal)
    assert not teacher_blind({(0, s): p for (t, s), p in blind.items() if t == 0}, np.array_equal)


def test_crossed_folds_identical_predictions():
    gold, blind = _runs(True)
    one = {(t, s): p for (t, s), p in blind.items() if t == 0}
    assert crossed(Predictions(gold, blind, "accuracy")) == crossed(
        Predictions(gold, one, "accuracy")
    )
    assert crossed(Predictions(gold, blind, "accuracy")).n == 5


def test_a_teacher_blind_entry_is_five_runs_with_an_interval_not_three_equal_teacher_means():
    gold, blind = _runs(True)
    m = measurements(1000, 100.0)
    rows = []
    for (t, s), p in blind.items():
        r = row("student", "mlp", float((p == gold).mean()), m, loss="ce-hard", seed=s)
        r.config["teacher_seed"] = t
        r.metrics.update(eval_predictions=p.tolist(), eval_labels=gold.tolist())
        rows.append(r)
    (entry,) = leaderboards(rows)["sst2"]
    assert entry.seeds == 5 and entry.teachers == 1
    low, high = entry.score_ci
    assert high - low > 0.5  # three identical teacher means made it a point
