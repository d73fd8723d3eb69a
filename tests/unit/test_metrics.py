"""Task metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest
from distill_bench.plugin_api.metrics import METRICS, accuracy, macro_f1, mcc, score_all


def test_accuracy_is_share_of_matches():
    """Accuracy counts exact matches over all examples."""
    assert accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert accuracy([2, 2, 2], [2, 2, 2]) == 1.0
    assert accuracy([0, 1, 2, 0], [1, 2, 0, 0]) == 0.25


def test_accuracy_of_nothing_is_zero():
    """An empty evaluation set scores 0.0 instead of NaN."""
    assert accuracy([], []) == 0.0


def test_binary_mcc_matches_confusion_formula():
    """Binary MCC equals (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))."""
    gold = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pred = [1, 1, 1, 0, 0, 0, 0, 1, 1, 0]
    tp, fn, fp, tn = 3, 1, 2, 4
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc(gold, pred) == pytest.approx(expected)
    assert mcc(gold, pred) == pytest.approx(0.408248, abs=1e-6)


def test_binary_mcc_extremes():
    """Perfect predictions give 1, inverted ones -1, constant ones 0 (undefined, as sklearn)."""
    gold = [0, 1, 1, 0, 1, 0, 0]
    assert mcc(gold, gold) == pytest.approx(1.0)
    assert mcc(gold, [1 - y for y in gold]) == pytest.approx(-1.0)
    assert mcc(gold, [1] * len(gold)) == 0.0
    assert mcc(gold, [0] * len(gold)) == 0.0
    assert mcc([1, 1, 1], [1, 0, 1]) == 0.0  # constant gold: undefined as well


def test_multiclass_mcc_matches_gorodkin_by_hand():
    """Three-class MCC follows Gorodkin's R_K from the confusion matrix."""
    gold = [0, 0, 1, 1, 2, 2]
    pred = [0, 1, 1, 1, 2, 0]
    # confusion (rows gold, columns pred): [[1,1,0],[0,2,0],[1,0,1]]
    # t = [2,2,2], p = [2,3,1], n = 6, correct = 4
    cov_yp = 4 * 6 - (2 * 2 + 2 * 3 + 2 * 1)  # 12
    cov_yy = 36 - (4 + 4 + 4)  # 24
    cov_pp = 36 - (4 + 9 + 1)  # 22
    assert mcc(gold, pred) == pytest.approx(cov_yp / math.sqrt(cov_yy * cov_pp))
    assert mcc(pred, gold) == pytest.approx(mcc(gold, pred))  # symmetric


def test_multiclass_mcc_extremes():
    """Multi-class: perfect gives 1, a constant prediction gives 0."""
    gold = [0, 1, 2, 2, 1, 0, 3]
    assert mcc(gold, gold) == pytest.approx(1.0)
    assert mcc(gold, [2] * len(gold)) == 0.0


def test_macro_f1_by_hand():
    """Macro-F1 is the plain mean of per-class F1 = 2TP / (support + predicted)."""
    gold = [0, 0, 1, 1, 2, 2]
    pred = [0, 1, 1, 1, 2, 0]
    f1 = [2 * 1 / (2 + 2), 2 * 2 / (2 + 3), 2 * 1 / (2 + 1)]  # 0.5, 0.8, 0.667
    assert macro_f1(gold, pred) == pytest.approx(sum(f1) / 3)


def test_macro_f1_counts_a_class_seen_only_in_predictions():
    """A class predicted but never gold contributes an F1 of 0 to the mean."""
    gold = [0, 0, 1, 1]
    pred = [0, 0, 1, 2]
    # class 0: F1 1; class 1: 2*1/(2+1); class 2: 0 (predicted once, never gold)
    assert macro_f1(gold, pred) == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_macro_f1_ignores_a_class_absent_from_both():
    """A label id that appears in neither gold nor predictions is not averaged in."""
    assert macro_f1([0, 2, 2], [0, 2, 2]) == pytest.approx(1.0)


def test_score_all_reports_every_metric():
    """score_all returns one value per registered metric, the same as calling each."""
    gold, pred = [0, 1, 1, 0, 1], [0, 1, 0, 0, 1]
    scores = score_all(gold, pred)
    assert set(scores) == set(METRICS) == {"accuracy", "mcc", "macro_f1"}
    for name, fn in METRICS.items():
        assert scores[name] == fn(gold, pred)


# -- diagnostics -------------------------------------------------------------------------

import numpy as np  # noqa: E402
from distill_bench.plugin_api.metrics import (  # noqa: E402
    agreement_rate,
    diagnostics,
    expected_calibration_error,
    repeated_teacher_errors,
)


def logits_for(labels, confidence):
    """Two-class logits whose softmax gives ``confidence`` to ``labels``."""
    z = np.log(confidence / (1 - confidence))
    out = np.zeros((len(labels), 2))
    out[np.arange(len(labels)), labels] = z
    return out


def test_ece_is_zero_when_confidence_matches_accuracy():
    """80% confident everywhere and right on 8 of 10: perfectly calibrated."""
    gold = [0] * 10
    pred = [0] * 8 + [1] * 2
    assert expected_calibration_error(logits_for(pred, 0.8), gold) == pytest.approx(0.0, abs=1e-9)


def test_ece_of_overconfident_predictions():
    """99% confident and right half the time: ECE = |0.5 - 0.99|."""
    gold = [0, 0, 0, 0]
    pred = [0, 1, 0, 1]
    assert expected_calibration_error(logits_for(pred, 0.99), gold) == pytest.approx(0.49)


def test_ece_weights_bins_by_size():
    """Two bins: 3 examples at 0.95 all right (gap 0.05), 1 at 0.65 wrong (gap 0.65)."""
    gold = [0, 0, 0, 0]
    logits = np.vstack([logits_for([0, 0, 0], 0.95), logits_for([1], 0.65)])
    assert expected_calibration_error(logits, gold) == pytest.approx(0.75 * 0.05 + 0.25 * 0.65)


def test_repeated_teacher_errors():
    """Teacher wrong on 3 (3-class); the student is wrong on 2 of them, copying 1."""
    gold = [0, 0, 0, 1, 2]
    teacher = np.eye(3)[[1, 2, 0, 0, 2]]  # wrong on examples 0, 1, 3
    student = np.eye(3)[[1, 0, 0, 2, 2]]  # 0: same mistake, 1: right, 3: another mistake
    out = repeated_teacher_errors(student, teacher, gold)
    assert out == {"teacher_errors": 3, "repeated": pytest.approx(2 / 3), "copied": 1 / 3}
    assert agreement_rate(student, teacher) == pytest.approx(3 / 5)


def test_repeated_errors_undefined_without_teacher_errors():
    gold = [0, 1]
    perfect = np.eye(2)[[0, 1]]
    out = repeated_teacher_errors(perfect, perfect, gold)
    assert out["teacher_errors"] == 0 and out["repeated"] is None


def test_diagnostics_keys():
    gold = [0, 1, 1]
    s, t = np.eye(2)[[0, 1, 0]], np.eye(2)[[0, 0, 1]]
    d = diagnostics(s, t, gold)
    assert set(d) == {
        "ece", "teacher_agreement", "teacher_errors", "teacher_errors_repeated",
        "teacher_errors_copied",
    }  # fmt: skip
    assert set(diagnostics(s, None, gold)) == {"ece"}
