"""Report columns: what each column shows of an ``Entry``, and the tables built from them.

A ``Column`` has a raw ``value`` (for sorting, CSV and JSON) and a ``text`` (for tables);
``COLUMNS`` names them all, ``COMPACT``/``DETAILS``/``VARIANTS`` are the default views.
``check_columns`` and ``sort_entries`` serve ``--columns`` and ``--sort``; ``headers``,
``columns`` and ``records`` lay entries out as table rows or flat records. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from distill_bench.plugin_api.metrics import METRIC_LABELS
from distill_bench.report.entries import Entry, leaderboards, variant_boards
from distill_bench.report.stats import Estimate
from distill_bench.store.results import ResultRow


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
    """ "+1.2 [-0.3, +2.6]"; a "*" when the 95% interval excludes 0 (beyond the noise of
    the seeds and examples it covers)."""
    if g is None:
        return ""
    if g.low is None:
        return _signed(g.mean)
    return f"{_signed(g.mean)} [{_bound(g.low)}, {_bound(g.high)}]" + (
        " *" if g.excludes_zero else ""
    )


def _bound(value: float) -> str:
    """An interval end to 0.1, or to the first digit that is not 0 (up to 0.001): a bound of
    +0.02 must not read as +0.0 beside a star that says the interval excludes 0."""
    for digits in (1, 2, 3):
        text = f"{value:+.{digits}f}"
        if float(text) != 0:
            return text
    return text


def _interval(e: Estimate | None) -> str:
    return "" if e is None or e.low is None else f"[{e.low:.1f}, {e.high:.1f}]"


def p_text(g: Estimate | None) -> str:
    if g is None or g.p_value is None:
        return ""
    return f"{g.p_value:.2g}" if g.p_value >= 1e-4 else "<1e-4"


def _n_text(e: Entry) -> str:
    """What the entry's intervals rest on: "5 × 3; 872" (student seeds per teacher x
    teacher seeds; evaluation examples). A teacher entry is "1 × 3"."""
    per_teacher = e.seeds / max(e.teachers, 1)
    return f"{per_teacher:g} × {e.teachers}; {e.examples or '-'}"


def _spread_text(e: Entry) -> str:
    if e.teacher_spread is None and e.student_spread is None:
        return ""
    return f"{_num(e.teacher_spread) or '-'} / {_num(e.student_spread) or '-'}"


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
        ),
        _col("variant", "variant", lambda e: e.variant, lambda e: e.variant),
        _col("score", "{metric}", lambda e: e.score, _score_text),
        _col("score_std", "std", lambda e: e.score_std),
        _col(
            "score_ci",
            "95% CI (seeds)",
            lambda e: list(e.score_ci) if e.score_ci else None,
            lambda e: f"[{e.score_ci[0]:.1f}, {e.score_ci[1]:.1f}]" if e.score_ci else "",
        ),
        _col(
            "score_crossed",
            "95% CI (seeds + examples)",
            lambda e: [e.score_crossed.low, e.score_crossed.high] if e.score_crossed else None,
            lambda e: _interval(e.score_crossed),
        ),
        _col(
            "spread",
            "std teacher / student",
            lambda e: [e.teacher_spread, e.student_spread],
            _spread_text,
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
        _col(
            "gain_covers",
            "gain CI covers",
            lambda e: e.gain.covers if e.gain and e.gain.low is not None else None,
            lambda e: e.gain.covers if e.gain and e.gain.low is not None else "",
        ),
        _col(
            "gain_p",
            "gain p",
            lambda e: e.gain.p_value if e.gain else None,
            lambda e: p_text(e.gain),
        ),
        _col("pct_teacher", "% of teacher", lambda e: e.pct_teacher),
        _col("retention", "% of teacher above chance", lambda e: e.retention),
        _col("chance", "chance", lambda e: e.chance),
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
        _col("teachers", "teachers", lambda e: e.teachers, lambda e: str(e.teachers)),
        _col("examples", "eval examples", lambda e: e.examples, lambda e: str(e.examples)),
        _col(
            "n", "seeds × teachers; examples", lambda e: [e.seeds, e.teachers, e.examples], _n_text
        ),
    )
}
COMPACT = ("teacher", "student", "loss", "augmenter", "score", "gain", "pct_teacher",
           "retention", "params", "compression", "throughput", "speedup", "latency_p50", "pareto",
           "n")  # fmt: skip
DETAILS = ("teacher", "student", "loss", "score_ci", "score_crossed", "spread", "gain_covers",
           "gain_p", "params", "params_emb", "params_no_emb", "disk_mb", "latency_p90", "peak_mb",
           "train_peak_mb", "train_s", "ece", "agreement", "repeated_errors")  # fmt: skip
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
