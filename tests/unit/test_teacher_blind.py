"""Runs that never read their teacher (ce-hard from random init on data every teacher seed
shares) are one run per student seed: their interval is over the student seeds, not a point
made of three identical teacher means."""

from __future__ import annotations

import numpy as np
from distill_bench.report.seeds import seed_estimate
from distill_bench.report.stats import Predictions, crossed, teacher_blind

SEEDS = {0: 70.0, 1: 72.0, 2: 69.0, 3: 74.0, 4: 71.0}


def test_the_same_run_under_every_teacher_counts_once_per_student_seed():
    blind = {(t, s): v for t in range(3) for s, v in SEEDS.items()}
    assert teacher_blind(blind)
    e = seed_estimate(blind)
    assert e.n == 5 and e.teachers == 1 and e.low < 71.2 < e.high and e.high - e.low > 1
    # the old reading: three identical teacher means, an interval of width 0
    assert seed_estimate({(t, 0): 71.2 + 0.1 * t for t in range(3)}).high > 71.2


def test_runs_that_differ_by_teacher_keep_the_teacher_as_the_unit():
    sighted = {(t, s): v + t for t in range(3) for s, v in SEEDS.items()}
    assert not teacher_blind(sighted)
    assert seed_estimate(sighted).teachers == 3
    assert not teacher_blind({(0, s): v for s, v in SEEDS.items()})  # one teacher: nothing to fold


def test_crossed_folds_identical_predictions_too():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 200)
    runs = {s: np.where(rng.random(200) < 0.8, gold, 1 - gold) for s in range(5)}
    blind = Predictions(gold, {(t, s): p for t in range(3) for s, p in runs.items()}, "accuracy")
    one = Predictions(gold, {(0, s): p for s, p in runs.items()}, "accuracy")
    assert crossed(blind) == crossed(one) and crossed(blind).n == 5
