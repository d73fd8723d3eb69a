"""Leaderboards from result rows: pure functions, no torch. Markdown for the repo,
rich tables for the terminal; every figure is relative to the row's own teacher."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from distill_bench.plugin_api.metrics import METRIC_LABELS
from distill_bench.report.stats import Estimate, estimate, gain, pareto_front
from distill_bench.store.results import ResultRow

TEACHER_MARK = "(teacher)"


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
    score_ci: tuple[float, float] | None = None  # 95% bootstrap interval of the mean
    scores_by_seed: tuple[tuple[int, float], ...] = ()
    gain: Estimate | None = None  # score minus the same student's ce-hard score
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


def _group_key(row: ResultRow) -> tuple:
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
            dataset, role, teacher, TEACHER_MARK if role == "teacher" else student, loss,
            augmenter, len(group), group[0].metrics["primary_metric"],
            group[0].metrics["eval_split"], float("nan"), None, None,
            group[0].measurements["params_total"], group[0].measurements["params_no_embedding"],
            None, float("nan"), 0.0, None, float("nan"), None, False, None,
            variant=variant, unavailable="; ".join(sorted(reasons)),
        )  # fmt: skip
    by_seed = {r.seed: score_of(r) for r in usable}
    scores = list(by_seed.values())
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
    m = usable[0].measurements
    speed = statistics.median(figures(r)["cpu_throughput"]["median"] for r in usable)
    fp32_speed = statistics.median(r.measurements["cpu_throughput"]["median"] for r in usable)
    score = statistics.mean(scores)
    est = estimate(scores)
    disk = _median_or_none(figures(r).get("disk_bytes") for r in usable)
    peak_key = "peak_rss_mb"
    variant_metrics = [figures(r).get("metrics", {}) for r in usable] if variant != "fp32" else []
    return Entry(
        dataset=dataset,
        role=role,
        teacher=teacher,
        student=TEACHER_MARK if role == "teacher" else student,
        loss=loss,
        augmenter=augmenter,
        seeds=len(usable),
        metric=usable[0].metrics["primary_metric"],
        eval_split=usable[0].metrics["eval_split"],
        score=score,
        score_std=est.std,
        pct_teacher=100 * score / t_score if t_score else None,
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
        transfer=group[0].metrics.get("transfer_composition", ""),
        variant=variant,
        score_ci=(est.low, est.high) if est.low is not None else None,
        scores_by_seed=tuple(sorted(by_seed.items())),
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


def _groups(rows: Iterable[ResultRow]) -> dict[tuple, list[ResultRow]]:
    groups: dict[tuple, list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.status == "ok":
            groups[_group_key(row)].append(row)
    return groups


def leaderboards(rows: Iterable[ResultRow]) -> dict[str, list[Entry]]:
    """Entries per dataset: the teacher first, then students by score; each student's
    gain over its ce-hard baseline and the Pareto frontiers of the board filled in."""
    groups = _groups(rows)
    teachers = {(k[0], k[2]): g for k, g in groups.items() if k[1] == "teacher"}
    baselines = {
        (k[0], k[2], k[3], k[5]): g
        for k, g in groups.items()
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
        if entry.role == "student" and base is not None and base is not group:
            baseline_scores = {r.seed: 100 * r.metrics["primary"] for r in base}
            entry = replace(entry, gain=gain(dict(entry.scores_by_seed), baseline_scores))
        boards[entry.dataset].append(entry)
    for dataset, entries in boards.items():
        boards[dataset] = _with_pareto(entries)
        boards[dataset].sort(key=lambda e: (e.role != "teacher", e.teacher, -e.score))
    return dict(sorted(boards.items()))


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
    groups = _groups(rows)
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


def _params(n: int) -> str:
    if n < 100_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.2f}M" if n < 1e8 else f"{n / 1e6:.0f}M"


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}x"


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def gain_text(g: Estimate | None) -> str:
    """ "+1.2 [-0.3, +2.6]"; a "*" when the 95% interval excludes 0 (beyond seed noise)."""
    if g is None:
        return ""
    if g.low is None:
        return _signed(g.mean)
    return f"{_signed(g.mean)} [{_signed(g.low)}, {_signed(g.high)}]" + (
        " *" if g.excludes_zero else ""
    )


def _score_text(e: Entry) -> str:
    if e.unavailable:
        return "n/a"
    return f"{e.score:.1f}" + (f" ± {e.score_std:.1f}" if e.score_std is not None else "")


def _throughput_text(e: Entry) -> str:
    if e.unavailable:
        return ""
    return f"{e.throughput:,.0f} ±{100 * e.throughput_spread:.0f}%" + (
        " (noisy)" if e.noisy else ""
    )


def _pareto_text(e: Entry) -> str:
    return ", ".join(
        name for name, on in (("size", e.pareto_size), ("latency", e.pareto_latency)) if on
    )


@dataclass(frozen=True)
class Column:
    """A report column: ``value`` for sorting and CSV/JSON, ``text`` for tables."""

    name: str
    header: str
    value: Callable[[Entry], object]
    text: Callable[[Entry], str]
    lower_is_better: bool = False  # sorting puts the best first


def _col(name, header, value, text=None, lower=False) -> Column:
    return Column(name, header, value, text or (lambda e: _num(value(e))), lower)


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        _col("dataset", "dataset", lambda e: e.dataset, lambda e: e.dataset),
        _col("teacher", "teacher", lambda e: e.teacher, lambda e: e.teacher),
        _col("student", "student", lambda e: e.student, lambda e: e.student),
        _col("loss", "loss", lambda e: e.loss, lambda e: e.loss),
        _col(
            "augmenter",
            "augmenter",
            lambda e: e.augmenter,
            lambda e: e.augmenter + (f" ({e.transfer})" if e.transfer else ""),
        ),  # fmt: skip
        _col("variant", "variant", lambda e: e.variant, lambda e: e.variant),
        _col("score", "{metric}", lambda e: e.score, _score_text),
        _col("score_std", "std", lambda e: e.score_std),
        _col(
            "score_ci",
            "95% CI",
            lambda e: list(e.score_ci) if e.score_ci else None,
            lambda e: f"[{e.score_ci[0]:.1f}, {e.score_ci[1]:.1f}]" if e.score_ci else "",
        ),
        _col(
            "gain",
            "gain vs ce-hard [95% CI]",
            lambda e: e.gain.mean if e.gain else None,
            lambda e: gain_text(e.gain) + (f" vs {e.gain_vs}" if e.gain and e.gain_vs else ""),
        ),
        _col(
            "gain_ci",
            "gain 95% CI",
            lambda e: [e.gain.low, e.gain.high] if e.gain and e.gain.low is not None else None,
            lambda e: gain_text(e.gain),
        ),
        _col("pct_teacher", "% of teacher", lambda e: e.pct_teacher),
        _col("params", "params", lambda e: e.params_total, lambda e: _params(e.params_total), True),
        _col(
            "params_emb",
            "params in emb.",
            lambda e: e.params_embedding,
            lambda e: _params(e.params_embedding),
            True,
        ),
        _col(
            "params_no_emb",
            "params w/o emb.",
            lambda e: e.params_no_embedding,
            lambda e: _params(e.params_no_embedding),
            True,
        ),
        _col("disk_mb", "disk (MB)", lambda e: e.disk_mb, lower=True),
        _col("compression", "compression", lambda e: e.compression, lambda e: _x(e.compression)),
        _col("throughput", "CPU sent/s", lambda e: e.throughput, _throughput_text),
        _col("speedup", "speed-up", lambda e: e.speedup, lambda e: _x(e.speedup)),
        _col(
            "latency_p50",
            "latency p50 (ms)",
            lambda e: e.latency_p50_ms,
            lambda e: _num(e.latency_p50_ms, 2),
            True,
        ),
        _col(
            "latency_p90",
            "latency p90 (ms)",
            lambda e: e.latency_p90_ms,
            lambda e: _num(e.latency_p90_ms, 2),
            True,
        ),
        _col("peak_mb", "peak RSS (MB)", lambda e: e.peak_mb, lambda e: _num(e.peak_mb, 0), True),
        _col(
            "train_peak_mb",
            "train peak RSS (MB)",
            lambda e: e.train_peak_mb,
            lambda e: _num(e.train_peak_mb, 0),
            True,
        ),
        _col("train_s", "train (s)", lambda e: e.train_seconds, lambda e: _num(e.train_seconds, 0)),
        _col("ece", "ECE", lambda e: e.ece, lower=True),
        _col("agreement", "agrees w/ teacher %", lambda e: e.agreement),
        _col(
            "repeated_errors", "teacher errors repeated %", lambda e: e.repeated_errors, lower=True
        ),
        _col(
            "vs_fp32_score",
            "score vs fp32",
            lambda e: e.vs_fp32_score,
            lambda e: "" if e.vs_fp32_score is None else _signed(e.vs_fp32_score),
        ),
        _col(
            "vs_fp32_speed",
            "speed vs fp32",
            lambda e: e.vs_fp32_speed,
            lambda e: _x(e.vs_fp32_speed),
        ),
        _col("vs_fp32_agreement", "agrees w/ fp32 %", lambda e: e.vs_fp32_agreement),
        _col(
            "unavailable",
            "unavailable because",
            lambda e: e.unavailable,
            lambda e: e.unavailable or "",
        ),
        _col("pareto", "Pareto (size, latency)", lambda e: _pareto_text(e), _pareto_text),
        _col("noisy", "noisy", lambda e: e.noisy, lambda e: "noisy" if e.noisy else ""),
        _col("seeds", "seeds", lambda e: e.seeds, lambda e: str(e.seeds)),
    )
}
COMPACT = ("teacher", "student", "loss", "augmenter", "score", "gain", "pct_teacher", "params",
           "compression", "throughput", "speedup", "latency_p50", "pareto", "seeds")  # fmt: skip
DETAILS = ("teacher", "student", "loss", "params", "params_emb", "params_no_emb", "disk_mb",
           "score_ci", "latency_p90", "peak_mb", "train_peak_mb", "train_s", "ece", "agreement",
           "repeated_errors")  # fmt: skip
VARIANTS = ("teacher", "student", "loss", "variant", "score", "vs_fp32_score", "vs_fp32_agreement",
            "throughput", "vs_fp32_speed", "latency_p50", "disk_mb", "unavailable")  # fmt: skip


def check_columns(names: Sequence[str]) -> list[str]:
    """The named columns, or a ValueError naming the unknown one and the choices."""
    for name in names:
        if name not in COLUMNS:
            raise ValueError(f"unknown column {name!r} (columns: {', '.join(COLUMNS)})")
    return list(names)


def sort_entries(entries: Sequence[Entry], column: str) -> list[Entry]:
    """Best first by ``column`` (smallest first where lower is better); the teacher rows
    stay on top as the reference; entries without a value go last."""
    col = COLUMNS[check_columns([column])[0]]

    def key(e: Entry):
        v = col.value(e)
        missing = v is None or v == "" or (isinstance(v, float) and v != v)
        if missing:
            return (e.role != "teacher", 1, 0)
        if isinstance(v, str):
            return (e.role != "teacher", 0, v)
        return (e.role != "teacher", 0, v if col.lower_is_better else -float(v))

    return sorted(entries, key=key)


def headers(entries: Sequence[Entry], names: Sequence[str] = COMPACT) -> list[str]:
    first = entries[0]
    metric = f"{METRIC_LABELS.get(first.metric, first.metric)} ({first.eval_split})"
    return [COLUMNS[n].header.format(metric=metric) for n in names]


def columns(entry: Entry, names: Sequence[str] = COMPACT) -> list[str]:
    return [COLUMNS[n].text(entry) for n in names]


def records(
    rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort: str | None = None
) -> list[dict]:
    """Every entry (fp32 and variants) as a flat dict of raw values, for CSV and JSON;
    per dataset, fp32 entries first (sorted by ``sort`` if given), then variants."""
    names = list(names or COLUMNS)
    if "dataset" not in names:
        names = ["dataset", *names]
    if "variant" not in names:
        names.insert(names.index("dataset") + 1, "variant")
    out = []
    for boards in (leaderboards(rows), variant_boards(rows)):
        for entries in boards.values():
            for e in sort_entries(entries, sort) if sort else entries:
                record = {}
                for n in names:
                    v = COLUMNS[n].value(e)
                    record[n] = None if isinstance(v, float) and v != v else v
                out.append(record)
    return out


def render_csv(
    rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort: str | None = None
) -> str:
    import csv
    import io
    import json

    table = records(rows, names, sort)
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        for record in table:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, list) else v for k, v in record.items()}
            )
    return buffer.getvalue()


def render_json(
    rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort: str | None = None
) -> str:
    import json

    return json.dumps(records(rows, names, sort), indent=1, sort_keys=False) + "\n"


def row_label(row: ResultRow) -> str:
    if row.role == "teacher":
        return f"{row.dataset} | {row.teacher} (teacher, seed {row.seed})"
    return f"{row.dataset} | {row.teacher} -> {row.student} [{row.loss}, {row.augmenter}, seed {row.seed}]"


def failures(rows: Iterable[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if r.status != "ok"]


def _table(entries: Sequence[Entry], names: Sequence[str]) -> str:
    from tabulate import tabulate

    return tabulate(
        [columns(e, names) for e in entries],
        headers=headers(entries, names),
        tablefmt="github",
        disable_numparse=True,
    )


LEGEND = (
    "Columns: the score is the dataset's primary metric x 100 on the named split (mean ± sample "
    "std over seeds; 95% CI: percentile bootstrap of the mean over seeds). Gain vs ce-hard: the "
    "score minus the same student's ce-hard score (same data, teacher, augmenter; for an "
    "augmenter of unlabelled text, which has no ce-hard cell, the ce-hard cell on the labelled "
    "set alone, marked 'vs none'), paired by seed, "
    "with its 95% bootstrap interval; * marks an interval that excludes 0, a gain beyond seed "
    "noise. % of teacher divides by the teacher's score on the same split; compression and "
    "speed-up are relative to the teacher. CPU sent/s: median of timed passes at a large batch "
    "over real evaluation sentences (± relative range of the passes; passes disturbed by other "
    "processes are re-run, and a figure that could not be measured quietly is marked noisy). "
    "Latency: batch-1 over real sentences. Pareto: the entry is on the board's frontier of score "
    "vs parameters (size) or vs batch-1 latency (no other entry is both smaller/faster and better). "
    "Peak RSS: inference (train: a few training steps) peak resident memory above the measuring "
    "process's baseline, in a fresh process. ECE: expected calibration error x 100 (15 bins); "
    "teacher errors repeated: of the evaluation examples the teacher gets wrong, the share the "
    "student gets wrong too. Variants: torch dynamic int8 and ONNX Runtime fp32/int8 builds of the "
    "same weights, re-scored on the evaluation split and re-timed the same way. Train: the "
    "teacher's fine-tuning or the student's distillation wall time (selection included)."
)


def render_markdown(
    title: str,
    rows: Sequence[ResultRow],
    dropped: Sequence[tuple[str, str]] = (),
    preamble: str = "",
    names: Sequence[str] | None = None,
    sort: str | None = None,
    plots: Sequence[tuple[str, str]] = (),
) -> str:
    """The leaderboard page. Default view: per dataset a compact table, a details table
    (size, memory, diagnostics) and a deployment-variants table; ``names`` picks the
    main table's columns instead (and leaves out the others); ``plots``: (caption, path)."""
    out = [f"# {title}", ""]
    if preamble:
        out += [preamble.rstrip(), ""]
    variants = variant_boards(rows)
    for dataset, entries in leaderboards(rows).items():
        if sort:
            entries = sort_entries(entries, sort)
        out += [f"## {dataset}", "", _table(entries, names or COMPACT), ""]
        if names is None:
            out += [f"### {dataset}: size, memory, diagnostics", "", _table(entries, DETAILS), ""]
            if variants.get(dataset):
                out += [
                    f"### {dataset}: deployment variants",
                    "",
                    _table(variants[dataset], VARIANTS),
                    "",
                ]
    if plots:
        out += ["## Plots", ""]
        for caption, path in plots:
            out += [f"![{caption}]({path})", ""]
    failed = failures(rows)
    if failed:
        out += ["## Failed cells", ""]
        out += [f"- {row_label(r)}: {r.stage}: {r.error}" for r in failed]
        out.append("")
    if dropped:
        out += ["## Cells not run (incompatible)", ""]
        out += [f"- {label}: {reason}" for label, reason in dropped]
        out.append("")
    out += [LEGEND, ""]
    return "\n".join(out)


def rich_tables(rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort=None):
    from rich.table import Table

    names = names or COMPACT
    tables = []
    for dataset, entries in leaderboards(rows).items():
        if sort:
            entries = sort_entries(entries, sort)
        table = Table(title=f"{dataset}", title_justify="left")
        text_columns = {"dataset", "teacher", "student", "loss", "augmenter", "variant", "pareto"}
        for n, h in zip(names, headers(entries, names), strict=True):
            table.add_column(h, justify="left" if n in text_columns else "right")
        for e in entries:
            table.add_row(*columns(e, names), style="bold" if e.role == "teacher" else None)
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
