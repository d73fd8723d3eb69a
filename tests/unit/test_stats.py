"""Statistics over seeds: bootstrap intervals, paired gains, Pareto frontiers."""

from __future__ import annotations

import numpy as np
import pytest
from distill_bench.report.stats import bootstrap_interval, estimate, gain, pareto_front


def test_estimate_mean_std_and_interval_contain_the_mean():
    e = estimate([70.0, 72.0, 74.0])
    assert e.mean == pytest.approx(72.0) and e.std == pytest.approx(2.0) and e.n == 3
    assert 70.0 <= e.low < 72.0 < e.high <= 74.0


def test_one_seed_has_no_spread():
    e = estimate([80.0])
    assert e.std is None and e.low is None and not e.excludes_zero


def test_bootstrap_interval_is_seeded_and_narrows_with_more_values():
    rng = np.random.default_rng(1)
    few, many = rng.normal(0, 1, 5), rng.normal(0, 1, 200)
    assert bootstrap_interval(few) == bootstrap_interval(few)
    (a, b), (c, d) = bootstrap_interval(few), bootstrap_interval(many)
    assert d - c < b - a
    # about 95% coverage: the interval of 200 N(0, 1) draws is about +-1.96/sqrt(200)
    assert d - c == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.2)


def test_paired_gain_cancels_shared_seed_noise():
    """Seed effects shared by cell and baseline cancel when paired: a constant +1 gain
    is certain although the scores themselves vary by 10 points across seeds."""
    baseline = {0: 60.0, 1: 70.0, 2: 65.0}
    cell = {s: v + 1.0 for s, v in baseline.items()}
    g = gain(cell, baseline)
    assert g.paired and g.mean == pytest.approx(1.0)
    assert g.low == pytest.approx(1.0) and g.high == pytest.approx(1.0) and g.excludes_zero


def test_unpaired_gain_when_seeds_differ():
    g = gain({0: 71.0, 1: 73.0}, {5: 70.0, 6: 72.0})
    assert not g.paired and g.mean == pytest.approx(1.0)
    assert g.low < 1.0 < g.high and not g.excludes_zero


def test_gain_with_one_seed_has_no_interval():
    g = gain({0: 75.0}, {0: 72.0})
    assert g.mean == pytest.approx(3.0) and g.low is None and not g.excludes_zero
    assert gain({}, {0: 1.0}) is None


def test_pareto_front():
    """(cost, score): smaller cost and larger score are better."""
    points = [(1, 70), (2, 80), (3, 75), (4, 90), (2, 80), (5, 90)]
    assert pareto_front(points) == [True, True, False, True, True, False]
