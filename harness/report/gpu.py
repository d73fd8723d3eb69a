"""The GPU table of a leaderboard: pure functions, no torch.

Rows measured on a machine with CUDA carry ``measurements["gpu"]`` (``measure_gpu``):
throughput at the configured batch and at one batch holding every sentence, batch-1
latency, peak allocation. Like the CPU figures they are an architecture's, so an entry
takes the median over its seeds; the speed-up divides by the teacher's figure measured the
same way on the same device."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from distill_bench.report.entries import TEACHER_MARK, seed_groups
from distill_bench.store.results import ResultRow


@dataclass(frozen=True)
class GpuLine:
    """One leaderboard line's GPU figures (medians over its seed rows)."""

    teacher: str
    student: str
    loss: str
    augmenter: str
    device: str
    throughput: float  # sentences/s at the matrix's [measure] batch size
    throughput_spread: float  # relative range of the timed passes (largest over seeds)
    saturated: float  # sentences/s with every evaluation sentence in one batch
    speedup: float | None  # throughput / the teacher's
    latency_p50_ms: float
    latency_p90_ms: float
    peak_mb: float  # torch.cuda.max_memory_allocated during the timing


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def gpu_boards(rows: Iterable[ResultRow]) -> dict[str, list[GpuLine]]:
    """Per dataset, a line for every entry whose rows were measured on a GPU, the teacher
    first, then students by throughput (ties by name); empty when no row was."""
    groups = {k: [r for r in g if r.measurements.get("gpu")] for k, g in seed_groups(rows).items()}
    groups = {k: g for k, g in groups.items() if g}
    teacher_speed = {
        (k[0], k[2]): _median(r.measurements["gpu"]["throughput"]["median"] for r in g)
        for k, g in groups.items()
        if k[1] == "teacher"
    }
    boards: dict[str, list[GpuLine]] = defaultdict(list)
    for (dataset, role, teacher, student, loss, augmenter), g in groups.items():
        gpu = [r.measurements["gpu"] for r in g]
        speed = _median(f["throughput"]["median"] for f in gpu)
        t_speed = teacher_speed.get((dataset, teacher))
        boards[dataset].append(
            GpuLine(
                teacher=teacher,
                student=TEACHER_MARK if role == "teacher" else student,
                loss=loss,
                augmenter=augmenter,
                device=gpu[0]["name"],
                throughput=speed,
                throughput_spread=max(f["throughput"]["spread"] for f in gpu),
                saturated=_median(f["throughput_saturated"]["median"] for f in gpu),
                speedup=speed / t_speed if t_speed else None,
                latency_p50_ms=_median(f["latency_ms"]["p50"] for f in gpu),
                latency_p90_ms=_median(f["latency_ms"]["p90"] for f in gpu),
                peak_mb=_median(f["peak_allocated_mb"] for f in gpu),
            )
        )
    return {
        d: sorted(
            lines,
            key=lambda x: (
                x.student != TEACHER_MARK,
                -x.throughput,
                x.student,
                x.loss,
                x.augmenter,
            ),
        )
        for d, lines in boards.items()
    }


GPU_HEADERS = ("teacher", "student", "loss", "augmenter", "GPU sent/s", "all in one batch (sent/s)",
               "GPU speed-up", "GPU latency p50 (ms)", "GPU latency p90 (ms)",
               "GPU peak alloc. (MB)")  # fmt: skip


def gpu_cells(line: GpuLine) -> list[str]:
    return [
        line.teacher,
        line.student,
        line.loss,
        line.augmenter,
        f"{line.throughput:,.0f} ±{100 * line.throughput_spread:.0f}%",
        f"{line.saturated:,.0f}",
        "" if line.speedup is None else f"{line.speedup:.1f}x",
        f"{line.latency_p50_ms:.2f}",
        f"{line.latency_p90_ms:.2f}",
        f"{line.peak_mb:,.0f}",
    ]


def gpu_table(lines: Sequence[GpuLine]) -> str:
    from tabulate import tabulate

    return tabulate(
        [gpu_cells(x) for x in lines],
        headers=GPU_HEADERS,
        tablefmt="github",
        disable_numparse=True,
    )
