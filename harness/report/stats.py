"""Statistics of a leaderboard: intervals with the coverage they claim. numpy only.

Two sources of noise move a cell's score, and a leaderboard shows both:

- **seeds**: another student seed (or another teacher seed) gives another score. Over the
  seeds of one cell: the mean, the sample standard deviation and a Student-t interval
  (``estimate``; a gain paired by seed: ``gain``). Never a percentile bootstrap over a
  handful of seeds: with 3 seeds that interval is [min, max], about 75% coverage.
- **the evaluation set**: 872 sentences are a sample of the sentences a model will meet.
  ``crossed`` combines both for a cell's score or for a gain between two cells paired by
  (teacher seed, student seed) and by evaluation example. The evaluation examples are the
  same for every seed, so their noise does not average out over seeds: the variance of the
  mean is the seed part (the sample variance of per-seed scores over the seeds, or of
  per-teacher means over the teachers when there are several, divided by their number) plus
  the example part shared by all seeds. The example part is estimated by a paired bootstrap
  over the evaluation examples (each example's two predictions kept together): A resamples
  the same examples for every seed, C independent ones per seed; with m seeds,
  m / (m - 1) * (A - C) is the shared part alone (the seed x example part is already in
  the per-seed variance). For accuracy the bootstrap variances are computed exactly (the
  bootstrap's limit); other metrics resample. The interval is the mean +- a Student-t
  quantile with Satterthwaite's degrees of freedom times the standard error, so with few
  seeds it widens as a t interval does, and with one seed it is the evaluation set's.
  ``tests/unit/test_stats_coverage.py`` simulates its coverage.

``paired_p_value`` adds an exact McNemar test (accuracy: the discordant examples pooled over
the paired seeds) or a paired permutation test (other metrics), from the same per-example
predictions: it asks whether the two cells' predictions on these examples are exchangeable,
so it ignores seed-to-seed variation; the ``*`` of a gain comes from the interval.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from distill_bench.report.student_t import t_quantile

CONFIDENCE = 0.95
# resamples of the evaluation examples (metrics other than accuracy): the half-width's Monte
# Carlo error is about 2%, and a page of 60 cells renders in seconds
BOOTSTRAP_SAMPLES = 1000
PERMUTATIONS = 1000  # paired permutation test (metrics other than accuracy): p to 0.001
Unit = tuple[int, int]  # (teacher seed, student seed): one trained student

SEEDS = "t over seeds"
CROSSED = "seeds + examples"
EXAMPLES = "examples"


@dataclass(frozen=True)
class Estimate:
    """A mean with its spread and a 95% interval, and what the interval covers.

    ``method``: ``SEEDS`` (Student-t over ``n`` seeds, or over ``teachers`` teacher means),
    ``CROSSED`` (seeds and ``examples`` evaluation examples) or ``EXAMPLES`` (one seed: the
    evaluation set's noise only). No interval (``low`` None) with one seed and no examples."""

    mean: float
    std: float | None  # sample standard deviation over seeds (n - 1)
    low: float | None
    high: float | None
    n: int  # seeds (units: one per teacher seed x student seed)
    paired: bool = False  # a difference computed seed by seed
    method: str = SEEDS
    teachers: int = 1
    examples: int = 0  # evaluation examples the interval resamples (0: seeds only)
    p_value: float | None = None  # exact McNemar / paired permutation (see paired_p_value)
    test: str = ""  # which test gave p_value

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below 0: the effect is beyond the noise it covers."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    @property
    def covers(self) -> str:
        """What the interval rests on, for a reader: "5 seeds x 872 examples"."""
        seeds = f"{self.n} seed{'s' if self.n != 1 else ''}"
        if self.teachers > 1:
            seeds += f" ({self.teachers} teachers)"
        if self.method == SEEDS:
            return seeds
        return f"{seeds} x {self.examples} examples"


def t_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Student-t interval of the mean; None for fewer than two values."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return None
    half = t_quantile(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


# -- over seeds -------------------------------------------------------------------------


def estimate(values: Sequence[float], paired: bool = False) -> Estimate:
    """Mean, sample standard deviation and Student-t interval over seeds."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("no values to estimate from")
    interval = t_interval(x)
    return Estimate(
        mean=float(x.mean()),
        std=float(x.std(ddof=1)) if len(x) > 1 else None,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        n=len(x),
        paired=paired,
    )


def gain(cell: Mapping, baseline: Mapping) -> Estimate | None:
    """The cell's score minus the baseline's, over seeds (keys: seeds or ``Unit`` pairs).

    Paired when both share at least two seeds: the t interval of the per-seed differences.
    Otherwise the difference of means with Welch's interval (None if either side has one
    seed): an unpaired comparison, noisier and said so (``paired`` False)."""
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
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else math.inf
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * se
    return Estimate(diff, se, diff - half, diff + half, min(len(a), len(b)))


# -- over seeds and evaluation examples -------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """One cell's predictions on its evaluation split, one row per trained student."""

    labels: np.ndarray  # (examples,) gold label ids
    by_unit: Mapping[Unit, np.ndarray]  # (teacher seed, student seed) -> (examples,) label ids
    metric: str  # the primary metric's name (plugin_api.metrics)
    oos_label: int | None = None


def batch_metric(metric: str, oos_label: int | None = None) -> Callable:
    """``(gold, pred) -> scores``: the metric of each row of two (batch, examples) arrays."""

    def confusion(gold: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
        rows = np.arange(len(gold))[:, None] * (k * k)
        codes = (rows + gold * k + pred).ravel()
        return np.bincount(codes, minlength=len(gold) * k * k).reshape(len(gold), k, k)

    def accuracy(gold, pred):
        return (gold == pred).mean(axis=1)

    def mcc(gold, pred):
        k = int(max(gold.max(), pred.max())) + 1
        c = confusion(gold, pred, k).astype(np.float64)
        t, p, n = c.sum(2), c.sum(1), c.sum((1, 2))
        correct = np.trace(c, axis1=1, axis2=2)
        cov_yp = correct * n - (t * p).sum(1)
        denom = np.sqrt((n * n - (t * t).sum(1)) * (n * n - (p * p).sum(1)))
        return np.divide(cov_yp, denom, out=np.zeros_like(cov_yp), where=denom > 0)

    def macro_f1(gold, pred):
        k = int(max(gold.max(), pred.max())) + 1
        c = confusion(gold, pred, k).astype(np.float64)
        tp = np.diagonal(c, axis1=1, axis2=2)
        both = c.sum(2) + c.sum(1)
        f1 = np.divide(2 * tp, both, out=np.zeros_like(tp), where=both > 0)
        present = both > 0
        return (f1 * present).sum(1) / np.maximum(present.sum(1), 1)

    def inscope_accuracy(gold, pred):
        keep = gold != oos_label if oos_label is not None else np.ones_like(gold, dtype=bool)
        return ((gold == pred) & keep).sum(1) / np.maximum(keep.sum(1), 1)

    def oos_recall(gold, pred):
        if oos_label is None:
            return np.zeros(len(gold))
        keep = gold == oos_label
        return ((pred == oos_label) & keep).sum(1) / np.maximum(keep.sum(1), 1)

    functions = {"accuracy": accuracy, "mcc": mcc, "macro_f1": macro_f1,
                 "inscope_accuracy": inscope_accuracy, "oos_recall": oos_recall}  # fmt: skip
    if metric not in functions:
        raise KeyError(f"no per-example statistics for metric {metric!r}")
    return functions[metric]


def _units(a: Predictions, b: Predictions | None) -> list[Unit]:
    return sorted(set(a.by_unit) & set(b.by_unit)) if b is not None else sorted(a.by_unit)


def _scores(score, gold: np.ndarray, preds: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Scores of each unit's predictions on each resample: (units, resamples)."""
    return np.stack([score(gold[idx], p[idx]) for p in preds])


def teacher_blind(
    by_unit: Mapping[Unit, Any], same: Callable[[Any, Any], bool] = operator.eq
) -> bool:
    """Whether runs under several teacher seeds never depended on their teacher: for every
    student seed, the same result under each teacher seed (a ce-hard student from random
    init on data every teacher seed shares). They are then one run per student seed, not a
    teachers x seeds design, and an interval over three identical teacher means would be
    a point."""
    teachers = {t for t, _ in by_unit}
    by_seed: dict[int, list] = {}
    for (_, s), v in sorted(by_unit.items()):
        by_seed.setdefault(s, []).append(v)
    return len(teachers) >= 2 and all(
        len(v) == len(teachers) and all(same(x, v[0]) for x in v[1:]) for v in by_seed.values()
    )


def one_per_seed(by_unit: Mapping[Unit, Any]) -> dict[Unit, Any]:
    """The first teacher seed's runs (for ``teacher_blind`` runs: each student seed once)."""
    first = min(t for t, _ in by_unit)
    return {u: v for u, v in by_unit.items() if u[0] == first}


def crossed(
    a: Predictions,
    b: Predictions | None = None,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    scale: float = 100.0,
    confidence: float = CONFIDENCE,
    closed_form: bool = True,
) -> Estimate | None:
    """The mean score of ``a`` (or ``a`` minus ``b``, paired by unit and by example) with an
    interval over its seeds and its evaluation examples (see the module docstring). None
    when ``b`` shares no unit with ``a`` or their evaluation labels differ. ``scale``: 100
    prints scores as percentages. Seeded: the same predictions give the same interval.
    ``closed_form`` False resamples accuracy too (the tests compare the two)."""
    if b is None and teacher_blind(a.by_unit, np.array_equal):
        a = replace(a, by_unit=one_per_seed(a.by_unit))
    units = _units(a, b)
    if not units or (b is not None and not np.array_equal(a.labels, b.labels)):
        return None
    gold = np.asarray(a.labels, dtype=np.int64)
    n_ex = len(gold)
    pa = np.stack([np.asarray(a.by_unit[u], dtype=np.int64) for u in units])
    pb = np.stack([np.asarray(b.by_unit[u], dtype=np.int64) for u in units]) if b else None
    score = batch_metric(a.metric, a.oos_label)
    m = len(units)
    full = np.arange(n_ex)[None, :]
    per_unit = _scores(score, gold, pa, full)[:, 0]
    if pb is not None:
        per_unit = per_unit - _scores(score, gold, pb, full)[:, 0]
    per_unit = scale * per_unit
    mean = float(per_unit.mean())

    # seed part: per-teacher means when there are several teachers, else per-seed values
    teachers = sorted({u[0] for u in units})
    if len(teachers) >= 2:
        groups = [per_unit[[i for i, u in enumerate(units) if u[0] == t]].mean() for t in teachers]
        v_seed, df_seed = float(np.var(groups, ddof=1)) / len(groups), len(groups) - 1
    elif m >= 2:
        v_seed, df_seed = float(per_unit.var(ddof=1)) / m, m - 1
    else:
        v_seed, df_seed = 0.0, math.inf

    # example part: A (same examples for every unit) and C (independent per unit)
    if a.metric == "accuracy" and closed_form:  # linear: the bootstrap's limit in closed form
        d = (pa == gold).astype(np.float64) - ((pb == gold) if pb is not None else 0.0)
        d *= scale
        shared = float(d.mean(0).var(ddof=1)) / n_ex if n_ex > 1 else 0.0
        independent = float(d.var(axis=1, ddof=1).sum()) / (m * m * n_ex) if n_ex > 1 else 0.0
    else:
        rng = np.random.default_rng(seed)
        chunk = max(1, 200_000 // max(n_ex, 1))
        same, apart = [], []
        for start in range(0, samples, chunk):
            size = min(chunk, samples - start)
            idx = rng.integers(0, n_ex, size=(size, n_ex))
            one = _scores(score, gold, pa, idx)
            if pb is not None:
                one = one - _scores(score, gold, pb, idx)
            same.append(scale * one.mean(0))
            each = [rng.integers(0, n_ex, size=(size, n_ex)) for _ in range(m)]
            own = np.stack([score(gold[i], p[i]) for p, i in zip(pa, each, strict=True)])
            if pb is not None:
                own = own - np.stack([score(gold[i], p[i]) for p, i in zip(pb, each, strict=True)])
            apart.append(scale * own.mean(0))
        shared = float(np.concatenate(same).var(ddof=1))
        independent = float(np.concatenate(apart).var(ddof=1))
    v_examples = shared if m == 1 else max(0.0, (shared - independent) * m / (m - 1))

    low, high = satterthwaite(mean, v_seed, df_seed, v_examples, confidence)
    p_value, test = paired_p_value(a, b, units) if b is not None else (None, "")
    return Estimate(
        mean=mean,
        std=float(per_unit.std(ddof=1)) if m > 1 else None,
        low=low,
        high=high,
        n=m,
        paired=b is not None,
        method=CROSSED if m > 1 else EXAMPLES,
        teachers=len(teachers),
        examples=n_ex,
        p_value=p_value,
        test=test,
    )


def satterthwaite(
    mean: float, v_seed: float, df_seed: float, v_known: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """``mean`` -+ t * sqrt(v_seed + v_known): a variance estimated from seeds (``df_seed``
    degrees of freedom) plus one known (the evaluation examples': infinitely many), t on
    Satterthwaite's degrees of freedom. No variance at all: the point."""
    variance = v_seed + v_known
    if variance <= 0:
        return mean, mean
    df = variance**2 / (v_seed**2 / df_seed) if v_seed > 0 else math.inf
    half = t_quantile(0.5 + confidence / 2, df) * math.sqrt(variance)
    return mean - half, mean + half


def paired_p_value(
    a: Predictions, b: Predictions, units: Sequence[Unit] | None = None, seed: int = 0
) -> tuple[float, str]:
    """Two-sided p-value that ``a`` and ``b`` predict equally well on these examples.

    Accuracy: exact McNemar, the examples one gets right and the other wrong pooled over
    the paired units (each such example is +1 or -1 with probability 1/2 under the null).
    Other metrics: a paired permutation test swapping the two predictions of each example of
    each unit at random (``PERMUTATIONS`` draws, seeded)."""
    units = list(units if units is not None else _units(a, b))
    gold = np.asarray(a.labels, dtype=np.int64)
    pa = np.stack([np.asarray(a.by_unit[u], dtype=np.int64) for u in units])
    pb = np.stack([np.asarray(b.by_unit[u], dtype=np.int64) for u in units])
    if a.metric == "accuracy":
        ra, rb = pa == gold, pb == gold
        return mcnemar_exact(int((ra & ~rb).sum()), int((~ra & rb).sum())), "exact McNemar"
    score = batch_metric(a.metric, a.oos_label)
    full = np.arange(len(gold))[None, :]

    def statistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # (units, draws, examples)
        return np.mean(
            [score(np.broadcast_to(gold, xi.shape), xi) - score(np.broadcast_to(gold, yi.shape), yi)
             for xi, yi in zip(x, y, strict=True)], axis=0,
        )  # fmt: skip

    observed = statistic(pa[:, full[0]][:, None, :], pb[:, full[0]][:, None, :])[0]
    rng = np.random.default_rng(seed)
    hits, chunk = 0, max(1, 100_000 // max(len(gold), 1))
    for start in range(0, PERMUTATIONS, chunk):
        size = min(chunk, PERMUTATIONS - start)
        swap = rng.random((len(units), size, len(gold))) < 0.5
        x = np.where(swap, pb[:, None, :], pa[:, None, :])
        y = np.where(swap, pa[:, None, :], pb[:, None, :])
        hits += int((np.abs(statistic(x, y)) >= abs(observed) - 1e-12).sum())
    return (hits + 1) / (PERMUTATIONS + 1), "paired permutation"


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: ``only_a`` examples right by the first model alone,
    ``only_b`` by the second alone; binomial(only_a + only_b, 1/2), doubled smaller tail."""
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    log_half = n * math.log(0.5)
    tail = sum(
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half)
        for i in range(k + 1)
    )
    return min(1.0, 2.0 * tail)


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
