"""The probing section of an analysis page: what each entry's layers encode (Conneau et al.
2018's probes, ``stages.probe``), beside the teacher's, with intervals over runs. Pure.

Each entry's score on a probe is its best layer's test accuracy, the layer picked by mean
dev accuracy over the entry's probed runs. A student's difference from its teacher pairs
each student run with the probed teacher of the same teacher seed (or the one probed
teacher), so the interval covers both models' seed noise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from distill_bench.analysis.page import entry_label
from distill_bench.report.entries import BASELINE_LOSS, VIA
from distill_bench.report.stats import CROSSED, EXAMPLES, Estimate, Unit, satterthwaite

INTERVALS = (
    "95% intervals cover the runs and the probe's test examples (the runs' spread and the "
    "test set's binomial noise, added once as every run reads the same test set; t with "
    "Satterthwaite's degrees of freedom)"
)

# what each probe asks, for the page (stages.probe.tasks documents the constructions)
QUESTIONS = {
    "sentence_length": "how many words (6 equal-count bins)",
    "word_content": "which of 30 mid-frequency words it holds",
    "bigram_shift": "were two adjacent words swapped?",
    "tree_depth": "depth of the dependency tree",
    "top_constituents": "the root's dependents in order",
    "tense": "past or present main verb",
    "subject_number": "singular or plural subject",
    "object_number": "singular or plural direct object",
    "odd_man_out": "was a noun or verb replaced?",
    "coordination_inversion": "were two coordinated clauses swapped?",
}


@dataclass(frozen=True)
class ProbeSetInfo:
    name: str
    classes: tuple[str, ...]
    sizes: tuple[int, int, int]  # train, dev, test
    note: str = ""  # why the set is empty


@dataclass(frozen=True)
class ProbeRuns:
    """One page entry's probe results: per run (teacher seed, seed), the probe stage's
    ``{"scores": {probe: {layer: {"dev", "test", "n_test"}}}, "majority": {...}}``."""

    entry: str
    runs: Mapping[Unit, Mapping]

    def majority(self, probe: str) -> float:
        return float(np.mean([r["majority"][probe] for r in self.runs.values()]))

    def layers(self) -> list[str]:
        return list(next(iter(self.runs.values()))["layers"])

    def best_layer(self, probe: str) -> str:
        return max(self.layers(), key=lambda layer: (self._mean(probe, layer, "dev"), layer))

    def _mean(self, probe: str, layer: str, part: str) -> float:
        return float(np.mean([r["scores"][probe][layer][part] for r in self.runs.values()]))

    def score(self, probe: str, layer: str | None = None) -> Estimate:
        """Test accuracy at ``layer`` (default: the best on dev), over the runs."""
        layer = layer or self.best_layer(probe)
        found = [r["scores"][probe][layer] for r in self.runs.values()]
        accs, n_test = [f["test"] for f in found], found[0]["n_test"]
        e = _crossed(accs, _binomial(float(np.mean(accs)), n_test), n_test)
        return replace(e, low=max(e.low, 0.0), high=min(e.high, 100.0))  # an accuracy

    def top(self) -> str:
        return self.layers()[-1]

    def tests(self, probe: str, layer: str) -> dict[Unit, tuple[float, int]]:
        return {
            u: (r["scores"][probe][layer]["test"], r["scores"][probe][layer]["n_test"])
            for u, r in self.runs.items()
        }


def _binomial(accuracy: float, n: int) -> float:
    """The variance of an accuracy (x 100) measured on ``n`` test examples."""
    return (accuracy / 100) * (1 - accuracy / 100) / n * 100**2


def _crossed(values: Sequence[float], test_var: float, examples: int, paired=False) -> Estimate:
    """The mean over runs, its 95% interval covering the runs' spread and the probe's test
    examples (one draw every run shares, so its variance adds once; ``report.stats``'s
    Satterthwaite interval, as the leaderboards' cells)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    mean = float(x.mean())
    spread = x.var(ddof=1) / n if n > 1 else 0.0
    low, high = satterthwaite(mean, spread, n - 1, test_var)
    return Estimate(
        mean, float(x.std(ddof=1)) if n > 1 else None, low, high, n, paired,
        CROSSED if n > 1 else EXAMPLES, examples=examples,
    )  # fmt: skip


def _difference(mine: dict, theirs: dict, match) -> Estimate | None:
    """``mine`` minus ``theirs`` (``{unit: (accuracy, n_test)}``), each of my runs paired
    with ``match(unit)`` of theirs; both sides' test noise added."""
    matched = {unit: match(unit, theirs) for unit in mine}
    pairs = [(a, theirs[matched[u]]) for u, a in sorted(mine.items()) if matched[u] is not None]
    if not pairs:
        return None
    diffs = [a[0] - b[0] for a, b in pairs]
    n = pairs[0][0][1]
    test_var = _binomial(float(np.mean([a[0] for a, _ in pairs])), n) + _binomial(
        float(np.mean([b[0] for _, b in pairs])), pairs[0][1][1]
    )
    return _crossed(diffs, test_var, n, paired=True)


def versus_teacher(student: ProbeRuns, teacher: ProbeRuns, probe: str) -> Estimate | None:
    """The student's top layer's accuracy minus its teacher's top layer's (the vectors each
    classifies from), each student run paired with the teacher run of its teacher seed (or
    the one teacher run there is)."""

    def same_teacher(unit, theirs):
        found = [u for u in theirs if u[0] == unit[0]]
        return found[0] if found else (next(iter(theirs)) if len(theirs) == 1 else None)

    mine, theirs = student.tests(probe, student.top()), teacher.tests(probe, teacher.top())
    return _difference(mine, theirs, same_teacher)


def verdict(student: Estimate, delta: Estimate | None, teacher: Estimate, chance: float) -> str:
    """In words, from the intervals: what the student did with what its teacher encodes."""
    if teacher.low is not None and teacher.low <= chance:
        return "teacher at chance"
    if delta is None or delta.low is None:
        return ""
    at_chance = student.low is not None and student.low <= chance
    if delta.high < 0:
        return "lost (at chance)" if at_chance else "less"
    if delta.low > 0:
        return "more"
    return "undecided" if at_chance else "kept"


def built(sets: Mapping[str, ProbeSetInfo]) -> list[str]:
    """The probes whose sets could be built, in the paper's order."""
    return [name for name in _ordered(sets) if sets[name].classes]


def _ordered(sets: Mapping[str, ProbeSetInfo]) -> list[str]:
    """The paper's order (``QUESTIONS``'), then any other probe by name."""
    order = list(QUESTIONS)
    return sorted(sets, key=lambda p: (order.index(p) if p in order else len(order), p))


def _cell(e: Estimate) -> str:
    if e.low is None:
        return f"{e.mean:.1f}"
    return f"{e.mean:.1f} [{e.low:.1f}, {e.high:.1f}]"


def _signed(e: Estimate | None) -> str:
    if e is None:
        return ""
    if e.low is None:
        return f"{e.mean:+.1f}"
    star = " *" if e.excludes_zero else ""
    return f"{e.mean:+.1f} [{e.low:+.1f}, {e.high:+.1f}]{star}"


def _runs_said(entry: ProbeRuns) -> str:
    units = sorted(entry.runs)
    teachers = len({u[0] for u in units})
    return f"{len(units)} run{'s' if len(units) != 1 else ''}" + (
        f" ({teachers} teacher seeds)" if teachers > 1 else ""
    )


def probe_section(
    dataset: str,
    sets: Mapping[str, ProbeSetInfo],
    entries: Sequence[ProbeRuns],
    plot: str | None = None,
) -> list[str]:
    """Markdown for one dataset: the sets, each entry's best-layer accuracy, each student
    against its teacher, and the teacher's accuracy by layer. ``entries``: teacher first."""
    out = [f"### {dataset}: probing", ""]
    empty = [sets[name] for name in _ordered(sets) if not sets[name].classes]
    probes = [name for name in built(sets) if all(
        name in r["scores"] for e in entries for r in e.runs.values())]  # fmt: skip
    if not entries or not probes:
        return [*out, "No probe results: no probed model, or no probe set could be built.", ""]
    teacher, students = entries[0], entries[1:]
    chance = {p: teacher.majority(p) for p in probes}
    out += [
        "Probe sets built from the dataset's training text (train / dev / test examples); "
        "majority: always answering train's most frequent class. Runs probed: "
        + "; ".join(f"{e.entry} {_runs_said(e)}" for e in entries)
        + ".",
        "",
        "| probe | asks | classes | examples | majority |",
        "|---|---|---|---|---|",
        *(
            f"| {p} | {QUESTIONS.get(p, '')} | {len(sets[p].classes)} | "
            f"{' / '.join(str(n) for n in sets[p].sizes)} | {chance[p]:.1f} |"
            for p in probes
        ),
        "",
    ]
    out += [f"Not built: {s.name}: {s.note}." for s in empty] + ([""] if empty else [])
    out += _probe_table(
        "Test accuracy of each entry's best layer (picked on dev; the layer after the "
        f"figure), mean over its runs; {INTERVALS}:",
        [e.entry for e in entries],
        {p: [f"{_cell(e.score(p))} ({e.best_layer(p)})" for e in entries] for p in probes},
    )
    if students:
        out += _versus_section(teacher, students, probes, chance)
        out += _distillation_section(students, probes)
    if len(teacher.layers()) > 1:
        out += _layer_table(teacher, probes)
    if plot:
        out += [f"![Probe accuracy by layer, {dataset}]({plot})", ""]
    return out


def _versus_section(teacher, students, probes, chance) -> list[str]:
    found = verdicts(teacher, students, probes, chance)
    cells = {
        p: [
            f"{_signed(versus_teacher(s, teacher, p))} "
            f"{next(w for w, ps in found[s.entry].items() if p in ps)}".strip()
            for s in students
        ]
        for p in probes
    }
    out = _probe_table(
        "Each student's top layer minus its teacher's top layer (the vectors each classifies "
        "from, so what the training kept, not what the teacher's middle layers hold), each "
        f"student run paired with the teacher run of its teacher seed ({INTERVALS}; * excludes "
        "0) and, in words: *kept* (within noise of the teacher, and above the majority "
        "baseline), *less* or *more* (the interval excludes 0), *lost (at chance)* (less, and "
        "the student's own interval reaches the majority baseline), *undecided* (within noise "
        "of both the teacher and the baseline: too few test examples), *teacher at chance* "
        "(the teacher's top layer holds nothing to keep):",
        [s.entry for s in students],
        cells,
    )
    for entry, words in found.items():
        said = "; ".join(f"{w}: {', '.join(ps)}" for w, ps in sorted(words.items()) if w)
        out.append(f"- {entry}: {said}.")
    return [*out, ""]


def baseline_of(entry: str, entries: Sequence[str]) -> str | None:
    """The same student (without its assistant) and augmenter trained on gold labels:
    ``mlp via minilm-3l / kd-soft / none`` -> ``mlp / ce-hard / none``, if it is there."""
    parts = entry.split(" / ")  # entry_label's "student / loss / augmenter"
    if len(parts) != 3 or parts[1] == BASELINE_LOSS:
        return None
    found = entry_label("student", parts[0].split(VIA)[0], BASELINE_LOSS, parts[2])
    return found if found in entries else None


def versus_baseline(entry: ProbeRuns, baseline: ProbeRuns, probe: str) -> Estimate | None:
    """Top layer minus top layer, paired by run (same teacher seed and seed): what the
    distillation changed in what the student encodes."""
    mine, theirs = entry.tests(probe, entry.top()), baseline.tests(probe, baseline.top())
    return _difference(mine, theirs, _same_run)


def _same_run(unit: Unit, theirs: Mapping[Unit, Any]) -> Unit | None:
    """The baseline's run of ``unit``; for a baseline probed under one teacher seed (a
    teacher-blind one, the same run under each), its run of the same student seed."""
    if unit in theirs:
        return unit
    if len({t for t, _ in theirs}) == 1:
        return next((u for u in theirs if u[1] == unit[1]), None)
    return None


def _distillation_section(students: Sequence[ProbeRuns], probes) -> list[str]:
    names = [s.entry for s in students]
    pairs = [(s, b) for s in students if (b := baseline_of(s.entry, names))]
    if not pairs:
        return []
    by_name = {s.entry: s for s in students}
    return _probe_table(
        "What distillation changed: each distilled entry's top layer minus the same student's "
        f"trained on gold labels ({BASELINE_LOSS}), paired by run ({INTERVALS}; * excludes 0):",
        [f"{s.entry} - {b}" for s, b in pairs],
        {p: [_signed(versus_baseline(s, by_name[b], p)) for s, b in pairs] for p in probes},
    )


def _probe_table(
    caption: str, columns: Sequence[str], cells: Mapping[str, Sequence[str]]
) -> list[str]:
    """A caption, then one row per probe under a header of ``columns``."""
    header = ["probe", *columns]
    return [
        caption,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *(f"| {p} | " + " | ".join(row) + " |" for p, row in cells.items()),
        "",
    ]


def verdicts(
    teacher: ProbeRuns, students: Sequence[ProbeRuns], probes: Sequence[str], chance: Mapping
) -> dict[str, dict[str, list[str]]]:
    """Per student entry: each verdict and the probes it was given on (``bench analyze``
    prints these; the page lists them under its table)."""
    out: dict[str, dict[str, list[str]]] = {s.entry: {} for s in students}
    for p in probes:
        for s in students:
            delta = versus_teacher(s, teacher, p)
            word = verdict(s.score(p, s.top()), delta, teacher.score(p, teacher.top()), chance[p])
            out[s.entry].setdefault(word, []).append(p)
    return out


def _layer_table(teacher: ProbeRuns, probes) -> list[str]:
    layers = teacher.layers()
    return [
        "The teacher's test accuracy by layer (mean over its runs):",
        "",
        "| probe | " + " | ".join(layers) + " |",
        "|" + "|".join("---" for _ in ["", *layers]) + "|",
        *(
            f"| {p} | "
            + " | ".join(f"{teacher.score(p, layer).mean:.1f}" for layer in layers)
            + " |"
            for p in probes
        ),
        "",
    ]
