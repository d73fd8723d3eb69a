"""The probing section of an analysis page: what each entry's layers encode (Conneau et al.
2018's probes, ``stages.probe``), beside the teacher's, with intervals over runs. Pure.

Each entry's score on a probe is its best layer's test accuracy, the layer picked by mean
dev accuracy over the entry's probed runs. A student's difference from its teacher pairs
each student run with the probed teacher of the same teacher seed (or the one probed
teacher), so the interval covers both models' seed noise."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from distill_bench.report.stats import CROSSED, EXAMPLES, Estimate, Unit, estimate
from distill_bench.report.student_t import t_quantile

Z95 = 1.959964  # one run: a normal interval over the test examples

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
        if len(found) > 1:
            e = estimate([f["test"] for f in found])
            return replace(e, low=max(e.low, 0.0), high=min(e.high, 100.0))
        return _one_run([found[0]["test"]], [found[0]["n_test"]])

    def top(self) -> str:
        return self.layers()[-1]

    def tests(self, probe: str, layer: str) -> dict[Unit, tuple[float, int]]:
        return {
            u: (r["scores"][probe][layer]["test"], r["scores"][probe][layer]["n_test"])
            for u, r in self.runs.items()
        }


def _one_run(accuracies: Sequence[float], counts: Sequence[int], sign=(1,)) -> Estimate:
    """One run (or one paired difference): the test examples' binomial noise only."""
    mean = sum(s * a for s, a in zip(sign, accuracies, strict=False))
    var = sum(a / 100 * (1 - a / 100) / n for a, n in zip(accuracies, counts, strict=True))
    half = 100 * Z95 * math.sqrt(var)
    low, high = mean - half, mean + half
    if len(accuracies) == 1:  # an accuracy: the interval stays within [0, 100]
        low, high = max(low, 0.0), min(high, 100.0)
    return Estimate(mean, None, low, high, 1, method=EXAMPLES, examples=counts[0])


def versus_teacher(student: ProbeRuns, teacher: ProbeRuns, probe: str) -> Estimate | None:
    """The student's top layer's accuracy minus its teacher's top layer's (the vectors each
    classifies from), paired by teacher seed."""
    mine, theirs = student.tests(probe, student.top()), teacher.tests(probe, teacher.top())
    by_seed = {u[0]: v for u, v in theirs.items()}
    diffs, pairs = [], []
    for unit, (acc, n) in sorted(mine.items()):
        other = by_seed.get(unit[0]) or (next(iter(theirs.values())) if len(theirs) == 1 else None)
        if other is not None:
            diffs.append(acc - other[0])
            pairs.append(((acc, n), other))
    if not diffs:
        return None
    if len(diffs) == 1:
        (a, n), (b, m) = pairs[0]
        return _one_run([a, b], [n, m], sign=(1, -1))
    if len({u[0] for u in mine}) > 1 or len(theirs) > 1:  # several teachers: their noise varies
        return estimate(diffs, paired=True)
    # one teacher run for every pair: its test-set noise is one draw the pairs share, so it
    # joins the students' spread (t on the student runs' degrees of freedom)
    (b, m) = next(iter(theirs.values()))
    x = np.asarray(diffs)
    se = math.sqrt(x.var(ddof=1) / len(x) + (b / 100) * (1 - b / 100) / m * 100**2)
    half = t_quantile(0.975, len(x) - 1) * se
    mean = float(x.mean())
    return Estimate(mean, float(x.std(ddof=1)), mean - half, mean + half, len(x), True,
                    CROSSED, examples=m)  # fmt: skip


def verdict(student: Estimate, delta: Estimate | None, teacher: Estimate, chance: float) -> str:
    """In words, from the intervals: what the student did with what its teacher encodes."""
    if teacher.low is not None and teacher.low <= chance:
        return "teacher at chance"
    if student.low is not None and student.low <= chance:
        return "lost (at chance)"
    if delta is None or delta.low is None:
        return ""
    if delta.high < 0:
        return "less"
    return "more" if delta.low > 0 else "kept"


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
    probes = [name for name in _ordered(sets) if sets[name].classes and all(
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
    header = ["probe", *(e.entry for e in entries)]
    out += [
        "Test accuracy of each entry's best layer (picked on dev; the layer after the "
        "figure), mean and 95% interval over its runs (one run: over the test examples):",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for p in probes:
        cells = [f"{_cell(e.score(p))} ({e.best_layer(p)})" for e in entries]
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    out.append("")
    if students:
        out += _versus_section(teacher, students, probes, chance)
    if len(teacher.layers()) > 1:
        out += _layer_table(teacher, probes)
    if plot:
        out += [f"![Probe accuracy by layer, {dataset}]({plot})", ""]
    return out


def _versus_section(teacher, students, probes, chance) -> list[str]:
    header = ["probe", *(s.entry for s in students)]
    out = [
        "Each student's top layer minus its teacher's top layer (the vectors each classifies "
        "from, so what the training kept, not what the teacher's middle layers hold; paired "
        "by teacher seed, 95% t interval over the pairs, with one teacher run widened by its "
        "test-set noise, or over the test examples for one pair; * excludes 0) and, in words: *kept* (within noise of the teacher), *less* or "
        "*more* (the interval excludes 0), *lost (at chance)* (the student's interval reaches "
        "the majority baseline), *teacher at chance* (the teacher's top layer holds nothing "
        "to keep):",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    found = verdicts(teacher, students, probes, chance)
    for p in probes:
        cells = [
            f"{_signed(versus_teacher(s, teacher, p))} "
            f"{next(w for w, ps in found[s.entry].items() if p in ps)}".strip()
            for s in students
        ]
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    out.append("")
    for entry, words in found.items():
        said = "; ".join(f"{w}: {', '.join(ps)}" for w, ps in sorted(words.items()) if w)
        out.append(f"- {entry}: {said}.")
    return [*out, ""]


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
