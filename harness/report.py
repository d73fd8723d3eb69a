"""Leaderboards from result rows: pure functions, no torch. Markdown for the repo,
rich tables for the terminal; every figure is relative to the row's own teacher."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .metrics import METRIC_LABELS
from .store import ResultRow

TEACHER_MARK = "(teacher)"


@dataclass(frozen=True)
class Entry:
    """One leaderboard line: a group of rows that differ only by seed."""

    dataset: str
    role: str
    teacher: str
    student: str
    loss: str
    augmenter: str
    seeds: int
    metric: str
    eval_split: str
    score: float  # primary metric x 100, mean over seeds
    score_std: float | None
    pct_teacher: float | None
    params_total: int
    params_no_embedding: int
    compression: float | None
    throughput: float  # CPU sentences/s, median over seeds of each row's median
    throughput_spread: float
    speedup: float | None
    latency_p50_ms: float
    peak_mb: float | None
    noisy: bool
    train_seconds: float | None  # teacher: fine-tuning; student: distillation (median over seeds)
    transfer: str = ""  # the transfer set's composition, e.g. "5,000 labelled + 45,000 tang"


def _group_key(row: ResultRow) -> tuple:
    return (row.dataset, row.role, row.teacher, row.student, row.loss, row.augmenter)


def leaderboards(rows: Iterable[ResultRow]) -> dict[str, list[Entry]]:
    """Entries per dataset: the teacher first, then students by score."""
    groups: dict[tuple, list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.status == "ok":
            groups[_group_key(row)].append(row)
    teachers = {(k[0], k[2]): g for k, g in groups.items() if k[1] == "teacher"}
    boards: dict[str, list[Entry]] = defaultdict(list)
    for key, group in groups.items():
        dataset, role, teacher, student, loss, augmenter = key
        scores = [100 * r.metrics["primary"] for r in group]
        teacher_group = teachers.get((dataset, teacher))
        t_score = (
            statistics.mean(100 * r.metrics["primary"] for r in teacher_group)
            if teacher_group
            else None
        )
        t_params = teacher_group[0].measurements["params_total"] if teacher_group else None
        t_speed = (
            statistics.median(r.measurements["cpu_throughput"]["median"] for r in teacher_group)
            if teacher_group
            else None
        )
        m = group[0].measurements
        speed = statistics.median(r.measurements["cpu_throughput"]["median"] for r in group)
        peaks = [
            r.measurements.get("peak_rss_mb")
            for r in group
            if r.measurements.get("peak_rss_mb") is not None
        ]
        score = statistics.mean(scores)
        boards[dataset].append(
            Entry(
                dataset=dataset,
                role=role,
                teacher=teacher,
                student=TEACHER_MARK if role == "teacher" else student,
                loss=loss,
                augmenter=augmenter,
                seeds=len(group),
                metric=group[0].metrics["primary_metric"],
                eval_split=group[0].metrics["eval_split"],
                score=score,
                score_std=statistics.stdev(scores) if len(scores) > 1 else None,
                pct_teacher=100 * score / t_score if t_score else None,
                params_total=m["params_total"],
                params_no_embedding=m["params_no_embedding"],
                compression=t_params / m["params_total"] if t_params else None,
                throughput=speed,
                throughput_spread=max(r.measurements["cpu_throughput"]["spread"] for r in group),
                speedup=speed / t_speed if t_speed else None,
                latency_p50_ms=statistics.median(
                    r.measurements["cpu_latency_ms"]["p50"] for r in group
                ),
                peak_mb=statistics.median(peaks) if peaks else None,
                noisy=any(r.measurements.get("noisy") for r in group),
                train_seconds=_median_or_none(_train_seconds(r) for r in group),
                transfer=group[0].metrics.get("transfer_composition", ""),
            )
        )
    for entries in boards.values():
        entries.sort(key=lambda e: (e.role != "teacher", e.teacher, -e.score))
    return dict(sorted(boards.items()))


def _train_seconds(row: ResultRow) -> float | None:
    if row.role == "teacher":
        return (row.timings.get("teacher") or {}).get("finetune_seconds")
    return row.measurements.get("train_seconds")


def _median_or_none(values) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _params(n: int) -> str:
    if n < 100_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.2f}M" if n < 1e8 else f"{n / 1e6:.0f}M"


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}x"


def columns(entry: Entry) -> list[str]:
    score = f"{entry.score:.1f}" + (
        f" ± {entry.score_std:.1f}" if entry.score_std is not None else ""
    )
    return [
        entry.teacher,
        entry.student,
        entry.loss,
        entry.augmenter + (f" ({entry.transfer})" if entry.transfer else ""),
        score,
        "" if entry.pct_teacher is None else f"{entry.pct_teacher:.1f}",
        _params(entry.params_total),
        _params(entry.params_no_embedding),
        _x(entry.compression),
        f"{entry.throughput:,.0f} ±{100 * entry.throughput_spread:.0f}%"
        + (" (noisy)" if entry.noisy else ""),
        _x(entry.speedup),
        f"{entry.latency_p50_ms:.2f}",
        "" if entry.peak_mb is None else f"{entry.peak_mb:.0f}",
        "" if entry.train_seconds is None else f"{entry.train_seconds:.0f}",
        str(entry.seeds),
    ]


def headers(entries: Sequence[Entry]) -> list[str]:
    first = entries[0]
    metric = f"{METRIC_LABELS.get(first.metric, first.metric)} ({first.eval_split})"
    return [
        "teacher",
        "student",
        "loss",
        "augmenter",
        metric,
        "% of teacher",
        "params",
        "params w/o emb.",
        "compression",
        "CPU sent/s",
        "speed-up",
        "latency p50 (ms)",
        "peak RSS (MB)",
        "train (s)",
        "seeds",
    ]


def row_label(row: ResultRow) -> str:
    if row.role == "teacher":
        return f"{row.dataset} | {row.teacher} (teacher, seed {row.seed})"
    return f"{row.dataset} | {row.teacher} -> {row.student} [{row.loss}, {row.augmenter}, seed {row.seed}]"


def failures(rows: Iterable[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if r.status != "ok"]


def render_markdown(
    title: str,
    rows: Sequence[ResultRow],
    dropped: Sequence[tuple[str, str]] = (),
    preamble: str = "",
) -> str:
    from tabulate import tabulate

    out = [f"# {title}", ""]
    if preamble:
        out += [preamble.rstrip(), ""]
    for dataset, entries in leaderboards(rows).items():
        out += [f"## {dataset}", ""]
        out.append(
            tabulate(
                [columns(e) for e in entries],
                headers=headers(entries),
                tablefmt="github",
                disable_numparse=True,
            )
        )
        out.append("")
    failed = failures(rows)
    if failed:
        out += ["## Failed cells", ""]
        out += [f"- {row_label(r)}: {r.stage}: {r.error}" for r in failed]
        out.append("")
    if dropped:
        out += ["## Cells not run (incompatible)", ""]
        out += [f"- {label}: {reason}" for label, reason in dropped]
        out.append("")
    out += [
        "Columns: the score is the dataset's primary metric x 100 on the named split (mean ± std over seeds); "
        "% of teacher divides by the teacher's score on the same split; compression and speed-up are "
        "relative to the teacher; CPU sent/s is the median of timed passes at a large batch "
        "(± its relative range); latency is batch-1 median over real sentences; peak RSS is the "
        "inference peak resident memory above the measuring process's baseline; train is the teacher's fine-tuning or the student's distillation wall time (selection included).",
        "",
    ]
    return "\n".join(out)


def rich_tables(rows: Sequence[ResultRow]):
    from rich.table import Table

    tables = []
    for dataset, entries in leaderboards(rows).items():
        table = Table(title=f"{dataset}", title_justify="left")
        for i, h in enumerate(headers(entries)):
            table.add_column(h, justify="left" if i < 4 else "right")
        for e in entries:
            table.add_row(*columns(e), style="bold" if e.role == "teacher" else None)
        tables.append(table)
    return tables


def total_compute_seconds(rows: Iterable[ResultRow]) -> float:
    """Each stage counted once, however many rows share it."""
    seen: dict[tuple[str, str], float] = {}
    for row in rows:
        for stage, t in row.timings.items():
            if isinstance(t, dict) and t.get("seconds") is not None:
                seen[(stage, t["key"])] = t["seconds"]
    return sum(seen.values())
