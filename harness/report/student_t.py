"""Student's t distribution without scipy: its CDF (the regularised incomplete beta by
continued fraction, Numerical Recipes 6.4) and its quantiles (Newton's method from the normal
quantile). Pure Python; ``report.stats`` builds its intervals on it.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (Numerical Recipes, 6.4)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (``math.inf``: normal)."""
    if df > 1e7:  # the normal, to print precision (and the beta fraction's range ends)
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def _t_pdf(t: float, df: float) -> float:
    log = (
        math.lgamma((df + 1) / 2)
        - math.lgamma(df / 2)
        - 0.5 * math.log(df * math.pi)
        - (df + 1) / 2 * math.log1p(t * t / df)
    )
    return math.exp(log)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t: Newton's method on ``t_cdf`` from the normal
    quantile, bisection where a step would leave the bracket (1e-10 is ample for print)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    z = NormalDist().inv_cdf(p)
    if df > 1e7:
        return z
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, max(1.0, z)
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    x = min(max(z, low), high)
    for _ in range(100):
        error = t_cdf(x, df) - p
        if abs(error) < 1e-12:
            break
        if error < 0:
            low = x
        else:
            high = x
        step = x - error / _t_pdf(x, df)
        x = step if low < step < high else (low + high) / 2.0
        if high - low < 1e-10:
            break
    return x
