"""Leaderboard entries from result rows: pure functions, no torch.

An ``Entry`` is one leaderboard line: the rows of one (dataset, teacher, student, loss,
augmenter) that differ only by seed, summarised, every figure relative to the row's own
teacher (``seeds`` keys rows by teacher and student seed). ``leaderboards`` builds the
per-dataset boards (gain over the ce-hard baseline, Pareto marks); ``variant_boards`` the
deployment variants' boards. How entries become text is ``columns``' job; pages and tables
are ``render``'s."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from distill_bench.report.seeds import predictions_of, seed_estimate, spreads, unit_of
from distill_bench.report.stats import (
    Estimate,
    Unit,
    crossed,
    gain,
    one_per_seed,
    pareto_front,
    teacher_blind,
)
from distill_bench.store.results import ResultRow

TEACHER_MARK = "(teacher)"
TEACHER_AS_GIVEN = "(teacher, as given)"  # hf with finetune = false: the user's checkpoint


BASELINE_LOSS = "ce-hard"  # the gain of a loss is measured against this one


@dataclass(frozen=True)
class Entry:
    """One leaderboard line: a group of rows that differ only by seed (and, for a
    deployment variant, the variant's figures in place of the fp32 model's)."""

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
    variant: str = "fp32"
    score_ci: tuple[float, float] | None = None  # 95% Student-t interval over seeds
    # (teacher seed, student seed) -> score: % of teacher and gains pair by it
    scores_by_unit: tuple[tuple[Unit, float], ...] = ()
    # score over seeds and evaluation examples (one seed: the evaluation set's interval)
    score_crossed: Estimate | None = None
    # score minus the same student's ce-hard score: over seeds and examples when the rows
    # hold per-example predictions, else over seeds (Estimate.method says which)
    gain: Estimate | None = None
    gain_vs: str = ""  # the baseline's augmenter when it is not this entry's own (see leaderboards)
    params_embedding: int = 0
    disk_mb: float | None = None
    latency_p90_ms: float | None = None
    train_peak_mb: float | None = None
    ece: float | None = None  # x 100
    agreement: float | None = None  # % of labels equal to the teacher's
    repeated_errors: float | None = None  # % of the teacher's errors the student also makes
    vs_fp32_score: float | None = None  # variant: score minus the fp32 model's
    vs_fp32_speed: float | None = None  # variant: throughput / the fp32 model's
    vs_fp32_agreement: float | None = None  # variant: % labels equal to the fp32 model's
    unavailable: str | None = None  # variant: why it could not be built
    pareto_size: bool = False  # on the score-vs-parameters frontier of its board
    pareto_latency: bool = False  # on the score-vs-latency frontier of its board
    transfer: str = ""  # the transfer set's composition, e.g. "5,000 labelled + 45,000 tang"
    teachers: int = 1  # teacher seeds the entry's students learnt from
    examples: int = 0  # evaluation examples (0: rows without per-example predictions)
    chance: float | None = None  # x 100: the majority-class score of the evaluation split
    # (student - chance) / (teacher - chance) x 100, against each student's own teacher
    retention: float | None = None
    teacher_spread: float | None = None  # std of per-teacher means (2+ teachers)
    student_spread: float | None = None  # pooled std over student seeds within a teacher


def _teacher_mark(row: ResultRow) -> str:
    """ "(teacher)", or "(teacher, as given)" for a checkpoint scored without fine-tuning."""
    options = (row.config.get("teacher") or {}).get("options") or {}
    return TEACHER_AS_GIVEN if options.get("finetune") is False else TEACHER_MARK


def _group_key(row: ResultRow) -> tuple:
    # teacher and student seeds are what vary inside an entry
    return (row.dataset, row.role, row.teacher, row.student, row.loss, row.augmenter)


def _loss_plugin(row: ResultRow) -> str:
    return (row.config.get("loss") or {}).get("plugin") or row.loss


def _augmenter_plugin(row: ResultRow) -> str:
    return (row.config.get("augmenter") or {}).get("plugin") or row.augmenter


def _mean_or_none(values) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.mean(present) if present else None


def _entry(key, group, teacher_group, variant: str = "fp32") -> Entry | None:
    """The entry of a group of seed rows, from the fp32 figures or a variant's."""
    dataset, role, teacher, student, loss, augmenter = key

    def figures(r: ResultRow) -> dict | None:
        if variant == "fp32":
            return r.measurements
        v = (r.measurements.get("variants") or {}).get(variant)
        return v if v and v.get("available") else None

    def score_of(r: ResultRow) -> float:
        if variant == "fp32":
            return 100 * r.metrics["primary"]
        return 100 * figures(r)["metrics"]["primary"]

    usable = [r for r in group if figures(r) is not None]
    if not usable:
        reasons = {
            ((r.measurements.get("variants") or {}).get(variant) or {}).get("reason") for r in group
        } - {None}
        if not reasons:
            return None  # this variant was not asked for
        return Entry(
            dataset=dataset,
            role=role,
            teacher=teacher,
            student=_teacher_mark(group[0]) if role == "teacher" else student,
            loss=loss,
            augmenter=augmenter,
            seeds=len(group),
            metric=group[0].metrics["primary_metric"],
            eval_split=group[0].metrics["eval_split"],
            score=float("nan"),
            score_std=None,
            pct_teacher=None,
            params_total=group[0].measurements["params_total"],
            params_no_embedding=group[0].measurements["params_no_embedding"],
            compression=None,
            throughput=float("nan"),
            throughput_spread=0.0,
            speedup=None,
            latency_p50_ms=float("nan"),
            peak_mb=None,
            noisy=False,
            train_seconds=None,
            variant=variant,
            unavailable="; ".join(sorted(reasons)),
        )
    by_unit = {unit_of(r): score_of(r) for r in usable}
    scores = list(by_unit.values())
    teacher_by_seed = {r.seed: 100 * r.metrics["primary"] for r in teacher_group or ()}
    t_score = statistics.mean(teacher_by_seed.values()) if teacher_by_seed else None
    chance = _pct(usable[0].metrics.get("chance"))

    def own_teacher(unit: Unit) -> float | None:
        # a student is compared with the teacher it learnt from, else the teachers' mean
        return teacher_by_seed.get(unit[0], t_score)

    t_params = teacher_group[0].measurements["params_total"] if teacher_group else None
    t_speed = (
        statistics.median(r.measurements["cpu_throughput"]["median"] for r in teacher_group)
        if teacher_group
        else None
    )
    m = usable[0].measurements
    speed = statistics.median(figures(r)["cpu_throughput"]["median"] for r in usable)
    fp32_speed = statistics.median(r.measurements["cpu_throughput"]["median"] for r in usable)
    score = statistics.mean(scores)
    per_example = predictions_of(usable) if variant == "fp32" else None
    # the same predictions under every teacher seed (ce-hard on data all teacher seeds
    # share): one run per student seed, so its interval is over student seeds
    blind = per_example is not None and teacher_blind(per_example.by_unit, np.array_equal)
    est = seed_estimate(one_per_seed(by_unit) if blind else by_unit)
    teacher_spread, student_spread = spreads(by_unit)
    pct = [100 * v / own_teacher(u) for u, v in by_unit.items() if own_teacher(u)]
    retention = [
        100 * (v - chance) / (own_teacher(u) - chance)
        for u, v in by_unit.items()
        if chance is not None and own_teacher(u) is not None and own_teacher(u) != chance
    ]
    disk = _median_or_none(figures(r).get("disk_bytes") for r in usable)
    peak_key = "peak_rss_mb"
    variant_metrics = [figures(r).get("metrics", {}) for r in usable] if variant != "fp32" else []
    return Entry(
        dataset=dataset,
        role=role,
        teacher=teacher,
        student=_teacher_mark(group[0]) if role == "teacher" else student,
        loss=loss,
        augmenter=augmenter,
        seeds=est.n,  # distinct runs: a teacher-blind cell's copies under each teacher count once
        metric=usable[0].metrics["primary_metric"],
        eval_split=usable[0].metrics["eval_split"],
        score=score,
        score_std=est.std,
        pct_teacher=statistics.mean(pct) if pct else None,
        retention=statistics.mean(retention) if retention else None,
        chance=chance,
        teachers=est.teachers,
        examples=len(per_example.labels) if per_example is not None else 0,
        teacher_spread=teacher_spread,
        student_spread=student_spread,
        score_crossed=crossed(per_example) if per_example is not None else None,
        params_total=m["params_total"],
        params_no_embedding=m["params_no_embedding"],
        compression=t_params / m["params_total"] if t_params else None,
        throughput=speed,
        throughput_spread=max(figures(r)["cpu_throughput"]["spread"] for r in usable),
        speedup=speed / t_speed if t_speed else None,
        latency_p50_ms=statistics.median(figures(r)["cpu_latency_ms"]["p50"] for r in usable),
        peak_mb=_median_or_none(figures(r).get(peak_key) for r in usable),
        noisy=any(
            figures(r).get("noisy")
            or figures(r)["cpu_throughput"].get("noisy")
            or figures(r)["cpu_latency_ms"].get("noisy")
            for r in usable
        ),
        train_seconds=_median_or_none(_train_seconds(r) for r in usable),
        # each teacher seed subsamples its own data: "4,997 labelled / 4,998 labelled"
        transfer=" / ".join(
            sorted({r.metrics.get("transfer_composition", "") for r in group} - {""})
        ),
        variant=variant,
        score_ci=(est.low, est.high) if est.low is not None else None,
        scores_by_unit=tuple(sorted(by_unit.items())),
        params_embedding=m.get("params_embedding", m["params_total"] - m["params_no_embedding"]),
        disk_mb=disk / 2**20 if disk is not None else None,
        latency_p90_ms=_median_or_none(figures(r)["cpu_latency_ms"].get("p90") for r in usable),
        train_peak_mb=_median_or_none(
            (r.measurements.get("training") or {}).get("peak_rss_mb") for r in usable
        ),
        ece=_pct(_mean_or_none(r.metrics.get("ece") for r in usable))
        if variant == "fp32"
        else None,
        agreement=_pct(_mean_or_none(r.metrics.get("teacher_agreement") for r in usable))
        if variant == "fp32"
        else None,
        repeated_errors=_pct(
            _mean_or_none(r.metrics.get("teacher_errors_repeated") for r in usable)
        )
        if variant == "fp32"
        else None,
        vs_fp32_score=score - statistics.mean(100 * r.metrics["primary"] for r in usable)
        if variant != "fp32"
        else None,
        vs_fp32_speed=speed / fp32_speed if variant != "fp32" and fp32_speed else None,
        vs_fp32_agreement=_pct(_mean_or_none(v.get("agreement_with_fp32") for v in variant_metrics))
        if variant != "fp32"
        else None,
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def seed_groups(rows: Iterable[ResultRow]) -> dict[tuple, list[ResultRow]]:
    groups: dict[tuple, list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.status == "ok":
            groups[_group_key(row)].append(row)
    return groups


def leaderboards(rows: Iterable[ResultRow]) -> dict[str, list[Entry]]:
    """Entries per dataset: the teacher first, then students by score; each student's
    gain over its ce-hard baseline and the Pareto frontiers of the board filled in."""
    groups = seed_groups(rows)
    teachers = {(k[0], k[2]): g for k, g in groups.items() if k[1] == "teacher"}
    baselines = {  # the cell named ce-hard last, so it wins over variants (label smoothing)
        (k[0], k[2], k[3], k[5]): g
        for k, g in sorted(groups.items(), key=lambda kg: kg[0][4] == BASELINE_LOSS)
        if k[1] == "student" and _loss_plugin(g[0]) == BASELINE_LOSS
    }
    # ce-hard learns from gold labels only, so an augmenter of unlabelled text has no ce-hard
    # cell: its baseline is the student on the labelled set alone (augmenter "none"), which
    # augmentation and distillation together have to beat
    labelled_only: dict[tuple, list[ResultRow]] = {}
    for (dataset, teacher, student, augmenter), g in baselines.items():
        mine = (dataset, teacher, student)
        if _augmenter_plugin(g[0]) == "none" and (augmenter == "none" or mine not in labelled_only):
            labelled_only[mine] = g
    boards: dict[str, list[Entry]] = defaultdict(list)
    for key, group in groups.items():
        entry = _entry(key, group, teachers.get((key[0], key[2])))
        base = baselines.get((key[0], key[2], key[3], key[5]))
        if base is None and entry.role == "student" and _augmenter_plugin(group[0]) != "none":
            base = labelled_only.get((key[0], key[2], key[3]))
            if base is not None:
                entry = replace(entry, gain_vs=base[0].augmenter)
        direct = _taught_directly(groups, key) if entry.role == "student" else None
        if direct is not None:  # through an assistant: against the teacher's own lesson
            base, entry = direct, replace(entry, gain_vs=DIRECT)
        if entry.role == "student" and base is not None and base is not group:
            entry = replace(entry, gain=_gain(entry, group, base))
        boards[entry.dataset].append(entry)
    for dataset, entries in boards.items():
        boards[dataset] = _with_pareto(entries)
        # ties broken by name: the same rows in any order give the same page
        boards[dataset].sort(
            key=lambda e: (e.role != "teacher", e.teacher, -e.score, e.student, e.loss, e.augmenter)
        )
    return dict(sorted(boards.items()))


VIA, DIRECT = " via ", "direct"  # matrix.plan names a chained student "<student> via <assistant>"


def _taught_directly(groups: dict[tuple, list[ResultRow]], key: tuple) -> list[ResultRow] | None:
    """For a student taught through an assistant, the same student and loss taught by the
    teacher itself (same data, teacher, augmenter): what the assistant must beat."""
    dataset, role, teacher, student, loss, augmenter = key
    if VIA not in student:
        return None
    return groups.get((dataset, role, teacher, student.split(VIA)[0], loss, augmenter))


def _gain(entry: Entry, group: list[ResultRow], base: list[ResultRow]) -> Estimate | None:
    """The entry's score minus its baseline's: paired by (teacher seed, student seed) and
    by evaluation example when both sides hold per-example predictions, else by seed."""
    mine, theirs = predictions_of(group), predictions_of(base)
    if mine is not None and theirs is not None:
        both = crossed(mine, theirs)
        if both is not None:
            return both
    baseline_scores = {unit_of(r): 100 * r.metrics["primary"] for r in base}
    return gain(dict(entry.scores_by_unit), baseline_scores)


def _with_pareto(entries: list[Entry]) -> list[Entry]:
    size = pareto_front([(e.params_total, e.score) for e in entries])
    latency = pareto_front([(e.latency_p50_ms, e.score) for e in entries])
    return [
        replace(e, pareto_size=s, pareto_latency=t)
        for e, s, t in zip(entries, size, latency, strict=True)
    ]


def variant_boards(rows: Iterable[ResultRow]) -> dict[str, list[Entry]]:
    """Per dataset, every model's deployment variants (those the matrix asked for):
    score and speed beside the fp32 model's; unavailable ones with their reason."""
    groups = seed_groups(rows)
    teachers = {(k[0], k[2]): g for k, g in groups.items() if k[1] == "teacher"}
    names: list[str] = []
    for group in groups.values():
        for r in group:
            for name in r.measurements.get("variants") or {}:
                if name not in names:
                    names.append(name)
    boards: dict[str, list[Entry]] = defaultdict(list)
    for key, group in groups.items():
        for name in names:
            entry = _entry(key, group, teachers.get((key[0], key[2])), name)
            if entry is not None:
                boards[entry.dataset].append(entry)
    for entries in boards.values():
        entries.sort(
            key=lambda e: (
                e.role != "teacher",
                e.teacher,
                e.student,
                e.loss,
                names.index(e.variant),
            )
        )
    return dict(sorted(boards.items()))


def _train_seconds(row: ResultRow) -> float | None:
    if row.role == "teacher":
        return (row.timings.get("teacher") or {}).get("finetune_seconds")
    return row.measurements.get("train_seconds")


def _median_or_none(values) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
