"""Statistics of a leaderboard: t intervals over seeds, the crossed seeds + examples interval,
exact McNemar and permutation p-values, Pareto frontiers. Coverage: test_stats_coverage.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from distill_bench.plugin_api.metrics import METRICS, inscope_accuracy, oos_recall
from distill_bench.report.stats import (
    CROSSED,
    EXAMPLES,
    Predictions,
    batch_metric,
    crossed,
    estimate,
    gain,
    mcnemar_exact,
    paired_p_value,
    pareto_front,
    t_interval,
)
from distill_bench.report.student_t import t_cdf, t_quantile

# Student-t 0.975 quantiles (any statistics table)
T_975 = {1: 12.706205, 2: 4.302653, 4: 2.776445, 9: 2.262157, 29: 2.045230, math.inf: 1.959964}


@pytest.mark.parametrize("df", list(T_975))
def test_t_quantile_matches_the_tables(df):
    assert t_quantile(0.975, df) == pytest.approx(T_975[df], abs=1e-5)
    assert t_quantile(0.025, df) == pytest.approx(-T_975[df], abs=1e-5)
    assert t_cdf(T_975[df], df) == pytest.approx(0.975, abs=1e-6)


def test_estimate_is_a_t_interval_not_min_max():
    """Three seeds: mean +- 4.30 * s / sqrt(3), wider than [min, max] (a percentile
    bootstrap over 3 values is [min, max]: about 75% coverage)."""
    e = estimate([70.0, 72.0, 74.0])
    assert e.mean == pytest.approx(72.0) and e.std == pytest.approx(2.0) and e.n == 3
    half = 4.302653 * 2.0 / math.sqrt(3)
    assert (e.low, e.high) == pytest.approx((72.0 - half, 72.0 + half), abs=1e-4)
    assert e.low < 70.0 and e.high > 74.0


def test_one_seed_has_no_spread():
    e = estimate([80.0])
    assert e.std is None and e.low is None and not e.excludes_zero
    assert t_interval([1.0]) is None


def test_the_issue_example_is_not_significant_under_t():
    """tang-sst2's mse-logits + tang gain: three paired differences whose percentile
    bootstrap printed [+0.5, +5.0] *; their t interval includes 0."""
    g = gain({0: 2.6 + 2.1, 1: 2.6 - 2.1, 2: 2.6 + 0.0}, {0: 0.0, 1: 0.0, 2: 0.0})
    assert g.paired and g.low < 0 < g.high and not g.excludes_zero


def test_paired_gain_cancels_shared_seed_noise():
    """Seed effects shared by cell and baseline cancel when paired: a constant +1 gain
    is certain although the scores themselves vary by 10 points across seeds."""
    baseline = {0: 60.0, 1: 70.0, 2: 65.0}
    cell = {s: v + 1.0 for s, v in baseline.items()}
    g = gain(cell, baseline)
    assert g.paired and g.mean == pytest.approx(1.0)
    assert g.low == pytest.approx(1.0) and g.high == pytest.approx(1.0) and g.excludes_zero


def test_unpaired_gain_when_seeds_differ_is_welch():
    g = gain({0: 71.0, 1: 73.0}, {5: 70.0, 6: 72.0})
    assert not g.paired and g.mean == pytest.approx(1.0)
    # Welch: se = sqrt(2/2 + 2/2) = 1.414, df = 2
    assert g.high - g.mean == pytest.approx(4.302653 * math.sqrt(2), abs=1e-4)


def test_gain_with_one_seed_has_no_interval():
    g = gain({0: 75.0}, {0: 72.0})
    assert g.mean == pytest.approx(3.0) and g.low is None and not g.excludes_zero
    assert gain({}, {0: 1.0}) is None


@pytest.mark.parametrize("metric", ["accuracy", "mcc", "macro_f1"])
def test_batch_metrics_equal_the_task_metrics(metric):
    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 3, size=(4, 50)), rng.integers(0, 3, size=(4, 50))
    got = batch_metric(metric)(gold, pred)
    assert got == pytest.approx([METRICS[metric](g, p) for g, p in zip(gold, pred, strict=True)])


def test_batch_oos_metrics_equal_the_task_metrics():
    rng = np.random.default_rng(1)
    gold, pred = rng.integers(0, 4, size=(3, 60)), rng.integers(0, 4, size=(3, 60))
    assert batch_metric("inscope_accuracy", 3)(gold, pred) == pytest.approx(
        [inscope_accuracy(g, p, 3) for g, p in zip(gold, pred, strict=True)]
    )
    assert batch_metric("oos_recall", 3)(gold, pred) == pytest.approx(
        [oos_recall(g, p, 3) for g, p in zip(gold, pred, strict=True)]
    )


def _cell(rng, gold, p_right: float, units) -> Predictions:
    by_unit = {u: np.where(rng.random(len(gold)) < p_right, gold, 1 - gold) for u in units}
    return Predictions(gold, by_unit, "accuracy")


def test_one_seed_gets_the_evaluation_sets_interval():
    """One seed, 872 examples at 80%: the binomial half-width 1.96 * sqrt(.8 * .2 / 872)."""
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 2, 872)
    e = crossed(_cell(rng, gold, 0.8, [(0, 0)]))
    p = e.mean / 100
    half = 100 * 1.959964 * math.sqrt(p * (1 - p) / 871)  # ddof 1
    assert e.method == EXAMPLES and e.n == 1 and e.examples == 872
    assert e.high - e.mean == pytest.approx(half, rel=1e-6)
    assert e.covers == "1 seed x 872 examples"


def test_crossed_gain_pairs_by_unit_and_example():
    """A cell that is its baseline with 30 extra examples right, on every seed: a gain of
    30 / 1000 = 3 points whose interval excludes 0, McNemar p tiny."""
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 1000)
    units = [(0, s) for s in range(5)]
    base = _cell(rng, gold, 0.7, units)
    better = {}
    for u, pred in base.by_unit.items():
        fixed = pred.copy()
        wrong = np.flatnonzero(fixed != gold)[:30]
        fixed[wrong] = gold[wrong]
        better[u] = fixed
    g = crossed(Predictions(gold, better, "accuracy"), base)
    assert g.method == CROSSED and g.paired and g.n == 5 and g.examples == 1000
    assert g.mean == pytest.approx(3.0) and g.excludes_zero
    assert g.p_value < 1e-10 and g.test == "exact McNemar"
    # a unit only one side has is left out; different labels cannot be paired
    assert crossed(Predictions(gold, {(0, 9): gold}, "accuracy"), base) is None
    assert crossed(Predictions(1 - gold, better, "accuracy"), base) is None


def test_closed_form_equals_the_bootstrap_it_replaces():
    """For accuracy the interval uses the bootstrap's limit in closed form: resampling
    gives the same half-width within Monte Carlo error."""
    rng = np.random.default_rng(4)
    gold = rng.integers(0, 2, 400)
    units = [(0, s) for s in range(4)]
    a, b = _cell(rng, gold, 0.8, units), _cell(rng, gold, 0.75, units)
    exact = crossed(a, b)
    resampled = crossed(a, b, closed_form=False, samples=4000)
    assert resampled.high - resampled.mean == pytest.approx(exact.high - exact.mean, rel=0.1)


def test_several_teachers_make_the_teacher_the_unit():
    rng = np.random.default_rng(5)
    gold = rng.integers(0, 2, 500)
    units = [(t, s) for t in range(3) for s in range(4)]
    e = crossed(_cell(rng, gold, 0.8, units))
    assert e.teachers == 3 and e.n == 12 and e.covers == "12 seeds (3 teachers) x 500 examples"


def test_mcnemar_exact():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    # 10 vs 0 discordant: 2 * 0.5**10
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(3, 12) == pytest.approx(mcnemar_exact(12, 3))
    # binomial(15, 1/2): P(X <= 3) = (1 + 15 + 105 + 455) / 2**15
    assert mcnemar_exact(3, 12) == pytest.approx(2 * 576 / 2**15)


def test_permutation_p_value_for_mcc():
    rng = np.random.default_rng(6)
    gold = rng.integers(0, 2, 300)
    units = [(0, s) for s in range(2)]
    same = _cell(rng, gold, 0.7, units)
    noise = Predictions(gold, {u: same.by_unit[u][rng.permutation(300)] for u in units}, "mcc")
    good = Predictions(gold, same.by_unit, "mcc")
    p, test = paired_p_value(good, noise)
    assert test == "paired permutation" and p < 0.01
    p_null, _ = paired_p_value(good, Predictions(gold, dict(same.by_unit), "mcc"))
    assert p_null == 1.0  # identical predictions: every permutation is as extreme


def test_pareto_front():
    """(cost, score): smaller cost and larger score are better."""
    points = [(1, 70), (2, 80), (3, 75), (4, 90), (2, 80), (5, 90)]
    assert pareto_front(points) == [True, True, False, True, True, False]
