"""One cell by conditions: ``bench export --cell "dataset = sst2 and student = bilstm and
loss = kd-soft and seed = 0"``. Pure, no torch.

The language is ``bench report --where``'s (``pick``: conditions joined by ``and``, the same
operators and k/M/G suffixes, the leaderboard's numeric columns, which hold for a cell when
they hold for its leaderboard line), plus what names one cell: ``dataset``, ``teacher``,
``student``, ``loss`` and ``augmenter`` compared as text (``=``, ``==``, ``!=``; quotes
optional) and ``seed`` and ``teacher_seed`` as integers. A selector must name exactly one
cell: none, several, or the seeds of one line without ``seed`` (which seed to ship is the
user's choice, not a default) are one-line errors that list what matched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from distill_bench.matrix.plan import Cell
from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.columns import COLUMNS
from distill_bench.report.entries import Entry
from distill_bench.report.pick import OPERATORS, SUFFIXES, Condition
from distill_bench.store.results import ResultRow

TEXT_FIELDS = ("dataset", "teacher", "student", "loss", "augmenter")
SEED_FIELDS = ("seed", "teacher_seed")
_PART = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|==|!=|=|<|>)\s*(.*?)\s*$")
_NAME = re.compile(r"^(?:'([^']*)'|\"([^\"]*)\"|([^\s'\"]+))$")  # quoted, or one word
_NUMBER = re.compile(r"^([-+]?[0-9.]+(?:e[-+]?\d+)?)([kKMG]?)$")
SHOWN = 8  # matches listed in an error before "and N more"


@dataclass(frozen=True)
class Candidate:
    """A planned cell, its stored row (None: never run) and its leaderboard line (None:
    not finished)."""

    cell: Cell
    row: ResultRow | None
    entry: Entry | None

    def field(self, name: str):
        c = self.cell
        names = {
            "dataset": c.dataset.name, "teacher": c.teacher.name, "student": c.student.name,
            "loss": c.loss.name, "augmenter": c.augmenter.name,
            "seed": c.seed, "teacher_seed": c.data_seed,
        }  # fmt: skip
        return names[name]

    @property
    def finished(self) -> bool:
        return self.row is not None and self.row.status == "ok"


@dataclass(frozen=True)
class FieldCondition:
    """``student = bilstm``, ``seed = 0``: a condition on what names a cell."""

    name: str
    op: str
    value: str | int
    text: str

    def holds(self, candidate: Candidate) -> bool:
        return OPERATORS[self.op](candidate.field(self.name), self.value)


def _fail(option: str, message: str) -> BenchError:
    return BenchError(f"{option}: {message}")


def parse_selector(text: str, option: str = "--cell") -> tuple:
    """``"student = bilstm and seed = 0"`` as conditions; a one-line error naming ``option``
    and what is wrong (an unknown column lists the fields and columns)."""
    conditions: list = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _PART.match(part)
        if match is None or not match.group(3):
            raise _fail(
                option,
                f"{part.strip()!r} is not a condition; expected NAME OP VALUE joined by 'and' "
                "(e.g. 'dataset = sst2 and student = bilstm and loss = kd-soft and seed = 0')",
            )
        name, op, value = match.groups()
        op = "==" if op == "=" else op
        if name in TEXT_FIELDS:
            if op not in ("==", "!="):
                raise _fail(option, f"{part.strip()!r}: {name} is a name; compare it with = or !=")
            word = _NAME.match(value)
            if word is None:
                raise _fail(option, f"{part.strip()!r}: {name} takes one name, got {value!r}")
            text_value = next(g for g in word.groups() if g is not None)
            conditions.append(FieldCondition(name, op, text_value, part.strip()))
        elif name in SEED_FIELDS:
            if not re.fullmatch(r"[-+]?\d+", value):
                raise _fail(option, f"{part.strip()!r}: {name} is an integer, got {value!r}")
            conditions.append(FieldCondition(name, op, int(value), part.strip()))
        elif name in COLUMNS:
            number = _NUMBER.match(value)
            if number is None:
                raise _fail(
                    option, f"{part.strip()!r}: column {name} takes a number, got {value!r}"
                )
            amount = float(number.group(1)) * SUFFIXES[number.group(2)]
            conditions.append(Condition(name, op, amount, part.strip()))
        else:
            numeric = [c for c in COLUMNS if c not in (*TEXT_FIELDS, "variant", "unavailable")]
            raise _fail(
                option,
                f"unknown column {name!r} (cell fields: {', '.join(TEXT_FIELDS + SEED_FIELDS)}; "
                f"leaderboard columns: {', '.join(numeric)})",
            )
    return tuple(conditions)


def _holds(condition, candidate: Candidate) -> bool:
    if isinstance(condition, FieldCondition):
        return condition.holds(candidate)
    return candidate.entry is not None and condition.holds(candidate.entry)


def _score(c: Candidate) -> str:
    if not c.finished:
        return "not finished"
    m = c.row.metrics
    return f"{m['primary_metric']} {100 * m['primary']:.1f}"


def _listed(matches: Sequence[Candidate], show) -> str:
    shown = "; ".join(show(c) for c in matches[:SHOWN])
    more = len(matches) - SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def select_cell(
    candidates: Sequence[Candidate], conditions: Sequence, text: str, option: str = "--cell"
) -> Candidate:
    """The one finished cell the conditions name, or a one-line error: nothing matches
    (with the names there are), several do (listed; seeds of one line need ``seed``), or
    the one that matches has no ok row in the store."""
    matches = [c for c in candidates if all(_holds(x, c) for x in conditions)]
    if not matches:
        there = "; ".join(
            f"{name}: {', '.join(sorted({str(c.field(name)) for c in candidates}))}"
            for name in (*TEXT_FIELDS, "seed")
        )
        raise _fail(option, f"{text!r} matches no cell of the matrix ({there})")
    if len(matches) > 1:
        lines = {(c.cell.dataset.name, c.cell.teacher.name, c.cell.student.name,
                  c.cell.loss.name, c.cell.augmenter.name) for c in matches}  # fmt: skip
        if len(lines) == 1 and not any(getattr(x, "name", "") == "seed" for x in conditions):
            seeds = _listed(matches, lambda c: f"seed {c.cell.seed}: {_score(c)}")
            dataset, teacher, student, loss, augmenter = lines.pop()
            raise _fail(
                option,
                f"{text!r} matches {len(matches)} seeds of {dataset} | {teacher} -> {student} "
                f"[{loss}, {augmenter}] ({seeds}); say which to export: add 'and seed = N'",
            )
        listed = _listed(matches, lambda c: f"{c.cell.label} ({_score(c)})")
        raise _fail(option, f"{text!r} matches {len(matches)} cells, expected one: {listed}")
    (found,) = matches
    if not found.finished:
        why = (
            "never run"
            if found.row is None
            else f"failed in stage {found.row.stage}: {found.row.error[:120]}"
        )
        raise _fail(
            option,
            f"cell {found.cell.label} has not finished (no ok row in the store: {why}); "
            "bench run the matrix first",
        )
    return found
