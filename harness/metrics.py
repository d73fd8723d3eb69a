"""Task metrics from predicted and gold label ids. numpy only."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    g, p = np.asarray(gold), np.asarray(pred)
    return float((g == p).mean()) if len(g) else 0.0


def _confusion(gold, pred) -> np.ndarray:
    g, p = np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    k = int(max(g.max(initial=0), p.max(initial=0))) + 1
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k).astype(np.float64)


def mcc(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Matthews correlation, multi-class (Gorodkin's R_K); 0 when undefined, as sklearn."""
    c = _confusion(gold, pred)
    t, p = c.sum(1), c.sum(0)
    n, correct = c.sum(), np.trace(c)
    cov_yp = correct * n - t @ p
    cov_yy, cov_pp = n * n - t @ t, n * n - p @ p
    denom = np.sqrt(cov_yy * cov_pp)
    return float(cov_yp / denom) if denom > 0 else 0.0


def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Unweighted mean of per-class F1 over the classes present in gold or pred."""
    c = _confusion(gold, pred)
    tp = np.diag(c)
    support, predicted = c.sum(1), c.sum(0)
    present = (support + predicted) > 0
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros_like(tp), where=present)
    return float(f1[present].mean()) if present.any() else 0.0


METRICS: dict[str, Callable[[Sequence[int], Sequence[int]], float]] = {
    "accuracy": accuracy,
    "mcc": mcc,
    "macro_f1": macro_f1,
}
# How a metric is shown: the literature reports both as percentages / x100.
METRIC_LABELS = {"accuracy": "acc", "mcc": "MCC", "macro_f1": "macro-F1"}


def score_all(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    return {name: fn(gold, pred) for name, fn in METRICS.items()}
