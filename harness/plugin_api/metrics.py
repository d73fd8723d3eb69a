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
METRIC_LABELS = {
    "accuracy": "acc",
    "mcc": "MCC",
    "macro_f1": "macro-F1",
    "inscope_accuracy": "in-scope acc",
    "oos_recall": "OOS recall",
}


def score_all(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    return {name: fn(gold, pred) for name, fn in METRICS.items()}


# -- metrics that need to know the task's out-of-scope class (CLINC150 with oos) --------


def inscope_accuracy(gold: Sequence[int], pred: Sequence[int], oos_label: int | None) -> float:
    """Accuracy over the examples whose gold label is in scope (Larson et al., 2019).

    A prediction of the oos class on an in-scope example counts as wrong. Without an oos
    class every example is in scope and this is plain accuracy."""
    g, p = np.asarray(gold), np.asarray(pred)
    if oos_label is None:
        return accuracy(g, p)
    keep = g != oos_label
    return float((g[keep] == p[keep]).mean()) if keep.any() else 0.0


def oos_recall(gold: Sequence[int], pred: Sequence[int], oos_label: int | None) -> float:
    """The share of gold out-of-scope examples predicted out-of-scope; 0 when there are none."""
    if oos_label is None:
        return 0.0
    g, p = np.asarray(gold), np.asarray(pred)
    oos = g == oos_label
    return float((p[oos] == oos_label).mean()) if oos.any() else 0.0


OOS_METRICS: dict[str, Callable[[Sequence[int], Sequence[int], int | None], float]] = {
    "inscope_accuracy": inscope_accuracy,
    "oos_recall": oos_recall,
}


def metric_fn(
    name: str, oos_label: int | None = None
) -> Callable[[Sequence[int], Sequence[int]], float]:
    """A metric by name as ``(gold, pred) -> float``, with the oos class bound in."""
    if name in METRICS:
        return METRICS[name]
    if name in OOS_METRICS:
        fn = OOS_METRICS[name]
        return lambda gold, pred: fn(gold, pred, oos_label)
    known = ", ".join([*METRICS, *OOS_METRICS])
    raise KeyError(f"unknown metric {name!r} (metrics: {known})")


def task_metric(task) -> Callable[[Sequence[int], Sequence[int]], float]:
    """The task's primary metric as ``(gold, pred) -> float`` (model selection uses it)."""
    return metric_fn(task.primary_metric, getattr(task, "oos_label", None))


def score_task(task, pred: Sequence[int], split=None) -> dict[str, float]:
    """Every metric of ``pred`` on ``split`` (default: the task's evaluation split).

    ``score_all`` plus, when the task has an oos class, ``inscope_accuracy`` and
    ``oos_recall``; the task's primary metric is always among the keys."""
    gold = (split if split is not None else task.evaluation).labels
    scores = score_all(gold, pred)
    oos_label = getattr(task, "oos_label", None)
    if oos_label is not None:
        scores.update({name: fn(gold, pred, oos_label) for name, fn in OOS_METRICS.items()})
    if task.primary_metric not in scores:
        scores[task.primary_metric] = metric_fn(task.primary_metric, oos_label)(gold, pred)
    return scores


# -- diagnostics of a student against its teacher, from saved evaluation logits -----------


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def expected_calibration_error(logits: np.ndarray, gold: Sequence[int], bins: int = 15) -> float:
    """ECE (Guo et al., 2017): predictions binned by confidence (equal-width bins over
    [0, 1]); the mean over bins of |accuracy - mean confidence|, weighted by bin size."""
    probs = softmax(logits)
    if len(probs) == 0:
        return 0.0
    confidence = probs.max(-1)
    correct = probs.argmax(-1) == np.asarray(gold)
    # bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 goes to bin 0
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def agreement_rate(student_logits: np.ndarray, teacher_logits: np.ndarray) -> float:
    """Share of examples where student and teacher predict the same label."""
    s, t = np.asarray(student_logits).argmax(-1), np.asarray(teacher_logits).argmax(-1)
    return float((s == t).mean()) if len(s) else 0.0


def repeated_teacher_errors(
    student_logits: np.ndarray, teacher_logits: np.ndarray, gold: Sequence[int]
) -> dict[str, float | int]:
    """Of the examples the teacher gets wrong, the share where the student is wrong too
    (``repeated``), and where it makes the very same wrong prediction (``copied``).
    ``None`` shares when the teacher makes no error."""
    s, t = np.asarray(student_logits).argmax(-1), np.asarray(teacher_logits).argmax(-1)
    g = np.asarray(gold)
    wrong = t != g
    n = int(wrong.sum())
    return {
        "teacher_errors": n,
        "repeated": float((s[wrong] != g[wrong]).mean()) if n else None,
        "copied": float((s[wrong] == t[wrong]).mean()) if n else None,
    }


def diagnostics(
    student_logits: np.ndarray, teacher_logits: np.ndarray | None, gold: Sequence[int]
) -> dict:
    """Per-cell diagnostics on the evaluation split: calibration, and against the teacher
    (when its logits are given) label agreement and the teacher's errors repeated."""
    out: dict = {"ece": expected_calibration_error(student_logits, gold)}
    if teacher_logits is not None:
        errors = repeated_teacher_errors(student_logits, teacher_logits, gold)
        out |= {
            "teacher_agreement": agreement_rate(student_logits, teacher_logits),
            "teacher_errors": errors["teacher_errors"],
            "teacher_errors_repeated": errors["repeated"],
            "teacher_errors_copied": errors["copied"],
        }
    return out
