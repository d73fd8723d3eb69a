"""Statistics over seeds: mean, standard deviation, bootstrap intervals. numpy only.

A leaderboard cell run with several seeds gives one score per seed. The 95% interval is
a percentile bootstrap of the mean over those scores; "distillation gain" compares a
cell with the same student trained on gold labels only (``ce-hard``), paired by seed
where both have it, so seed-to-seed variation shared by the two cancels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 10_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its spread and a 95% bootstrap interval (None with 1 seed)."""

    mean: float
    std: float | None  # sample standard deviation (n - 1)
    low: float | None
    high: float | None
    n: int
    paired: bool = False  # a difference computed seed by seed

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below 0: the effect is beyond seed noise."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def bootstrap_interval(
    values: Sequence[float],
    confidence: float = CONFIDENCE,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None for fewer than two values.

    Seeded, so a report rewritten from the same rows prints the same interval."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(samples, len(x)))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def estimate(values: Sequence[float], paired: bool = False) -> Estimate:
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("no values to estimate from")
    interval = bootstrap_interval(x)
    return Estimate(
        mean=float(x.mean()),
        std=float(x.std(ddof=1)) if len(x) > 1 else None,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        n=len(x),
        paired=paired,
    )


def gain(cell: Mapping[int, float], baseline: Mapping[int, float]) -> Estimate | None:
    """The cell's score minus the baseline's, over seeds.

    Paired when both were run with at least two common seeds: the interval is the
    bootstrap of the per-seed differences. Otherwise the difference of means, with an
    interval from resampling each side independently (None if either side has 1 seed)."""
    if not cell or not baseline:
        return None
    common = sorted(set(cell) & set(baseline))
    if len(common) >= 2:
        return estimate([cell[s] - baseline[s] for s in common], paired=True)
    a = np.asarray(list(cell.values()), dtype=np.float64)
    b = np.asarray(list(baseline.values()), dtype=np.float64)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Estimate(diff, None, None, None, min(len(a), len(b)))
    rng = np.random.default_rng(0)
    boot = a[rng.integers(0, len(a), size=(BOOTSTRAP_SAMPLES, len(a)))].mean(1) - b[
        rng.integers(0, len(b), size=(BOOTSTRAP_SAMPLES, len(b)))
    ].mean(1)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    std = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))  # of the difference
    return Estimate(diff, std, float(low), float(high), min(len(a), len(b)))


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (cost, score) points, whether each is on the Pareto frontier: no other point
    has cost <= and score >= with one of them strictly better."""
    marks = []
    for i, (cost, score) in enumerate(points):
        dominated = any(
            c <= cost and s >= score and (c < cost or s > score)
            for j, (c, s) in enumerate(points)
            if j != i
        )
        marks.append(not dominated)
    return marks
