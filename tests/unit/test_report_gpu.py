"""The GPU table: figures from rows measured on CUDA, relative to the teacher on the same GPU;
pages of CPU-only rows are unchanged."""

from __future__ import annotations

from distill_bench.report.entries import TEACHER_MARK
from distill_bench.report.gpu import gpu_boards
from distill_bench.report.render import render_markdown

from tests.helpers import measurements, row


def _gpu(throughput: float, p50: float, spread: float = 0.02) -> dict:
    return {
        "name": "NVIDIA H200",
        "throughput": {"median": throughput, "spread": spread},
        "throughput_saturated": {"median": 3 * throughput, "spread": 0.01},
        "saturating_batch": 872,
        "latency_ms": {"p50": p50, "p90": 1.5 * p50},
        "peak_allocated_mb": throughput / 100,
    }


def _with_gpu(meas: dict, throughput: float, p50: float, spread: float = 0.02) -> dict:
    return {**meas, "gpu": _gpu(throughput, p50, spread)}


def test_gpu_lines_take_medians_over_seeds_and_divide_by_the_teacher():
    rows = [
        row("teacher", "", 0.9, _with_gpu(measurements(4_000_000, 100.0), 10_000.0, 4.0)),
        row("student", "mlp", 0.8, _with_gpu(measurements(10, 9.0), 200_000.0, 0.1), seed=0),
        row("student", "mlp", 0.8, _with_gpu(measurements(10, 9.0), 300_000.0, 0.3), seed=1),
        row("student", "mlp", 0.8, _with_gpu(measurements(10, 9.0), 400_000.0, 0.2, 0.1), seed=2),
    ]
    [teacher, mlp] = gpu_boards(rows)["sst2"]
    assert teacher.student == TEACHER_MARK and teacher.speedup == 1.0
    assert mlp.throughput == 300_000.0 and mlp.speedup == 30.0
    assert mlp.latency_p50_ms == 0.2 and mlp.throughput_spread == 0.1  # the widest seed's
    assert mlp.saturated == 900_000.0 and mlp.device == "NVIDIA H200"


def test_page_has_a_gpu_section_only_for_rows_measured_on_a_gpu():
    cpu_only = [
        row("teacher", "", 0.9, measurements(4_000_000, 100.0)),
        row("student", "mlp", 0.8, measurements(10, 9.0)),
    ]
    assert gpu_boards(cpu_only) == {}
    assert "GPU sent/s" not in render_markdown("t", cpu_only)
    with_gpu = [
        row("teacher", "", 0.9, _with_gpu(measurements(4_000_000, 100.0), 10_000.0, 4.0)),
        row("student", "mlp", 0.8, _with_gpu(measurements(10, 9.0), 250_000.0, 0.1)),
    ]
    page = render_markdown("t", with_gpu)
    assert "### sst2: GPU" in page
    gpu_section = page.split("### sst2: GPU")[1]
    line = next(x for x in gpu_section.splitlines() if x.startswith("| tiny-bert | mlp"))
    assert "250,000 ±2%" in line and "25.0x" in line and "0.10" in line
