"""Where a run's time went: stage seconds by kind, shared stages once, variants apart."""

from __future__ import annotations

from dataclasses import replace

import pytest
from distill_bench.report.timing import breakdown_text, compute_seconds, slowest_rows

from tests.helpers import measurements, row


def _timed(r, **stages):
    return replace(
        r, timings={k: {"key": f"{k}-{key}", "seconds": s} for k, (key, s) in stages.items()}
    )


def test_shared_stages_count_once_and_variants_come_out_of_measurement():
    teacher = _timed(
        row("teacher", "", 0.9, measurements(4000, 10.0)),
        teacher=("t", 120.0),
        measure=("m0", 20.0),
    )
    a = _timed(row("student", "mlp", 0.8, measurements(100, 100.0)), teacher=("t", 120.0),
               student=("s1", 30.0), measure=("m1", 10.0))  # fmt: skip
    b = _timed(row("student", "mlp", 0.8, measurements(100, 100.0), seed=1), teacher=("t", 120.0),
               student=("s2", 50.0), measure=("m2", 10.0))  # fmt: skip
    b = replace(b, measurements=b.measurements | {"variants": {"int8": {"seconds": 2.0}}})
    seconds = compute_seconds([teacher, a, b])
    assert seconds == pytest.approx(
        {"teacher": 120.0, "student": 80.0, "measure": 38.0, "variants": 2.0}
    )
    assert list(seconds) == ["teacher", "student", "measure", "variants"]  # pipeline order
    assert breakdown_text([teacher, a, b]) == (
        "teacher fine-tuning 2.0 min, student training 1.3 min, measurement 0.6 min"
    )  # the variants' 2 s round to nothing and are left out
    assert [r.key for r, _ in slowest_rows([teacher, a, b], 2)] == [teacher.key, b.key]
