"""The analysis page of a matrix: its rows' per-example predictions read against their
teachers and the gold labels (``errors``), one section per dataset. Pure, no torch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from distill_bench.analysis.errors import (
    PHENOMENA,
    Group,
    Runs,
    confidence_groups,
    confusion_changes,
    disagreements,
    group_scores,
    label_groups,
    length_groups,
    phenomenon_groups,
    teacher_errors,
)
from distill_bench.plugin_api.metrics import METRICS, accuracy
from distill_bench.plugin_api.pairs import shown
from distill_bench.report.entries import BASELINE_LOSS, TEACHER_MARK
from distill_bench.report.seeds import unit_of
from distill_bench.report.stats import Estimate, one_per_seed, teacher_blind
from distill_bench.store.results import ResultRow

# CoLA's dev.tsv is in_domain_dev.tsv (527 sentences) followed by out_of_domain_dev.tsv (516)
COLA_IN_DOMAIN, COLA_OUT_OF_DOMAIN = 527, 516


@dataclass(frozen=True)
class Evaluation:
    """A dataset's evaluation split as the rows were scored on it."""

    dataset: str
    texts: tuple[str, ...]
    label_names: tuple[str, ...]
    metric: str  # the primary metric's name
    plugin: str = ""  # the dataset plugin ("cola" gets its domain and phenomenon slices)


def entry_label(role: str, student: str, loss: str, augmenter: str) -> str:
    """How a page names an entry: the teacher's mark, or "student / loss / augmenter"."""
    return TEACHER_MARK if role == "teacher" else f"{student} / {loss} / {augmenter}"


def entry_runs(rows: Sequence[ResultRow]) -> dict[str, list[Runs]]:
    """Per dataset: the teacher's runs first, then each student entry's, from the rows that
    kept their per-example predictions."""
    grouped: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        if r.status == "ok" and "eval_predictions" in r.metrics:
            key = (r.dataset, r.role, r.student, r.loss, r.augmenter)
            grouped[key][unit_of(r)] = np.asarray(r.metrics["eval_predictions"], dtype=np.int64)
    out: dict[str, list[Runs]] = defaultdict(list)
    for (dataset, role, student, loss, augmenter), by_unit in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], kv[0][1] != "teacher", kv[0][2:])
    ):
        label = entry_label(role, student, loss, augmenter)
        if teacher_blind(by_unit, np.array_equal):  # the same run under each teacher: once
            by_unit = one_per_seed(by_unit)
        out[dataset].append(Runs(label, by_unit))
    return out


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(line) + " |" for line in lines),
        "",
    ]


def _group_table(gold, teacher, students, groups: Sequence[Group], metric, title: str) -> list[str]:
    header = ["", *(f"{g.name} (n={len(g.index)})" for g in groups)]
    lines = []
    for runs in [teacher, *students]:
        cells = group_scores(gold, teacher, runs, groups, metric)
        lines.append(
            [runs.label]
            + [
                _with_interval(score, 0.0 if metric is accuracy else -100.0)
                + ("" if agree is None else f" / {agree:.1f}")
                for score, agree in cells
            ]
        )
    what = (
        f"{_metric_text(metric)} against the gold labels [95% interval over seeds, with 2 or "
        "more; cut to the metric's range], then / % agreeing with the own teacher"
    )
    return [title, "", what[0].upper() + what[1:] + ".", ""] + _table(header, lines)


def _with_interval(e: Estimate, floor: float) -> str:
    """Mean [low, high], the interval cut to the metric's range (few examples and seeds
    give t intervals past 100)."""
    if e.low is None:
        return f"{e.mean:.1f}"
    return f"{e.mean:.1f} [{max(e.low, floor):.1f}, {min(e.high, 100.0):.1f}]"


def _in_range(e: Estimate | None) -> str:
    return "" if e is None else _with_interval(e, 0.0)


def _metric_text(metric: Callable) -> str:
    return "accuracy" if metric is accuracy else f"{metric.__name__.upper()} x 100"


def _show(text: str) -> str:
    return shown(text).replace("|", "\\|")[:160]


def dataset_section(
    evaluation: Evaluation,
    gold: np.ndarray,
    runs: list[Runs],
    confidence: np.ndarray | None = None,
) -> list[str]:
    out = [f"## {evaluation.dataset}", ""]
    if not runs or runs[0].label != TEACHER_MARK:
        return out + ["No teacher row with per-example predictions: nothing to compare with.", ""]
    teacher, students = runs[0], runs[1:]
    if not students:
        return out + ["No student row with per-example predictions.", ""]
    metric = METRICS.get(evaluation.metric, accuracy)
    out += _group_table(gold, teacher, students, length_groups(evaluation.texts), accuracy,
                        "### By length (quartiles of words)")  # fmt: skip
    if confidence is not None and len(confidence) == len(gold):
        out += _group_table(gold, teacher, students, confidence_groups(confidence), accuracy,
                            "### By the teacher's confidence (quartiles of its top probability, "
                            "teacher seed of the first teacher row)")  # fmt: skip
    if len(evaluation.label_names) <= 10:
        groups = label_groups(gold, evaluation.label_names)
        out += _group_table(gold, teacher, students, groups, accuracy,
                            "### By gold label (accuracy within a label: its recall)")  # fmt: skip
    cola = (evaluation.plugin or evaluation.dataset) == "cola"
    if cola and len(gold) == COLA_IN_DOMAIN + COLA_OUT_OF_DOMAIN:
        domains = [
            Group("in-domain", np.arange(COLA_IN_DOMAIN)),
            Group("out-of-domain", np.arange(COLA_IN_DOMAIN, len(gold))),
        ]
        out += _group_table(gold, teacher, students, domains, metric,
                            "### In-domain and out-of-domain dev")  # fmt: skip
    if cola:
        out += _phenomena(evaluation, gold, teacher, students)
    out += ["### The teacher's errors", ""]
    lines = []
    for runs in students:
        e = teacher_errors(gold, teacher, runs)
        lines.append([runs.label, f"{e.teacher_errors:.0f}", _in_range(e.repeated),
                      _pct(e.fixed), _in_range(e.new_errors)])  # fmt: skip
    out += ["Repeated and new errors with their 95% interval over seeds (2 or more).", ""]
    out += _table(["student", "teacher errors", "repeated %", "fixed %",
                   "new errors % (of the teacher's right answers)"], lines)  # fmt: skip
    if len(evaluation.label_names) > 2:
        out += _confusions(gold, students, evaluation.label_names)
    out += _examples(evaluation, gold, teacher, students)
    return out


def _phenomena(evaluation: Evaluation, gold, teacher: Runs, students: list[Runs]) -> list[str]:
    """CoLA by phenomenon: ``errors.PHENOMENA``'s word patterns, a sentence in each it matches."""
    groups = phenomenon_groups(evaluation.texts)
    found = {g.name for g in groups}
    missing = [name for name in PHENOMENA if name not in found]
    title = (
        "### By phenomenon (word patterns, not a parse: `distill_bench.analysis.errors.PHENOMENA`)"
    )
    out = _group_table(gold, teacher, students, groups, accuracy, title) if groups else [title, ""]
    if missing:
        out += [f"No evaluation sentence matches the rules for: {', '.join(missing)}.", ""]
    return out


def _confusions(gold, students: list[Runs], names) -> list[str]:
    by_label = {r.label: r for r in students}
    out = []
    for runs in students:
        student, loss, augmenter = runs.label.split(" / ")
        base = by_label.get(entry_label("student", student, BASELINE_LOSS, augmenter))
        if base is None or loss == BASELINE_LOSS:
            continue
        changes = confusion_changes(gold, base, runs, names)
        if changes:
            out += [f"#### {runs.label} against {BASELINE_LOSS}", ""]
            out += _table(["confusion (gold -> predicted)", BASELINE_LOSS, loss],
                          [[c, f"{b:.1f}", f"{a:.1f}"] for c, b, a in changes])  # fmt: skip
    return (
        ["### Confusions distillation fixes and adds (mean count per run)", ""] + out if out else []
    )


def _examples(evaluation: Evaluation, gold, teacher: Runs, students: list[Runs]) -> list[str]:
    out = ["### Examples (each entry's first run)", ""]
    names = evaluation.label_names
    for runs in students:
        lost, won = disagreements(gold, teacher, runs)
        if not lost and not won:
            continue
        out += [f"**{runs.label}**", ""]
        for kind, idx in (
            ("teacher right, student wrong", lost),
            ("student right, teacher wrong", won),
        ):
            out += [f"- {kind}: " + "; ".join(
                f"\"{_show(evaluation.texts[i])}\" ({names[gold[i]]})" for i in idx
            )] if idx else []  # fmt: skip
        out.append("")
    return out


def analysis_markdown(
    matrix: str,
    path: str,
    evaluations: dict[str, Evaluation],
    rows: Sequence[ResultRow],
    confidence: dict[str, np.ndarray] | None = None,
    probes: dict[str, list[str]] | None = None,
) -> str:
    """The page; ``confidence``: per dataset, the teacher's top probability per evaluation
    example (from its stage-cache predictions; absent: no confidence section); ``probes``:
    per dataset, its probing section (``analysis.probes``; absent: none)."""
    by_dataset = entry_runs(rows)
    out = [
        f"# What students learn: {matrix}",
        "",
        f"Reproduce: `bench analyze --matrix {path}{'' if probes else ' --no-probes'}` "
        "(after `bench run` of the same matrix). "
        "Read from the per-example predictions the run stored; every figure compares a "
        "student run with the teacher it learnt from and is the mean over the entry's runs "
        "(teacher seeds x student seeds)."
        + (
            " Probing (Conneau et al. 2018) follows each dataset's error analysis."
            if probes
            else " Probing was left out (`--no-probes`)."
        ),
        "",
    ]
    for dataset, evaluation in evaluations.items():
        first = next(r for r in rows if r.dataset == dataset and "eval_labels" in r.metrics)
        gold = np.asarray(first.metrics["eval_labels"], dtype=np.int64)
        out += dataset_section(
            evaluation, gold, by_dataset.get(dataset, []), (confidence or {}).get(dataset)
        )
        out += (probes or {}).get(dataset, [])
    return "\n".join(out).rstrip() + "\n"
