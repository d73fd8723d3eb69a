"""Gains between any two cells of a committed rows file, paired by seed and by evaluation
example: the leaderboard's own interval (`report.stats.crossed`) and p-value.

A leaderboard's gain column sets each cell against ce-hard on the same dataset and transfer
set. A study page that compares other pairs (one transfer set against another, a student
distilled on N labels against one trained on 2N) prints them with `gain_table` from a
small script beside its matrix (augment_gains, scarce_gains), and its contract test checks
the page quotes what the script prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from distill_bench.report.seeds import predictions_of
from distill_bench.report.stats import crossed
from distill_bench.store.results import ResultRow


@dataclass(frozen=True)
class Cell:
    """One cell of a matrix, every seed of it."""

    dataset: str
    student: str
    loss: str
    augmenter: str

    def label(self) -> str:
        return f"{self.dataset} {self.student} {self.loss} on {self.augmenter}"


def cells_of(rows: Iterable[ResultRow]) -> dict[Cell, list[ResultRow]]:
    """The rows of every student cell that ran, by cell."""
    cells: dict[Cell, list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.role == "student" and row.status == "ok":
            cells[Cell(row.dataset, row.student, row.loss, row.augmenter)].append(row)
    return cells


def gain_table(rows: Iterable[ResultRow], pairs: Sequence[tuple[Cell, Cell]]) -> list[str]:
    """A markdown table: for each (cell, against) pair, the cell's score minus the other's,
    its interval over seeds and examples, the paired p-value and what the interval covers.
    A pair without paired per-example predictions (a cell missing, or old rows) says so."""
    cells = cells_of(rows)
    lines = ["| cell | against | gain [95% CI] | p | covers |", "| --- | --- | ---: | ---: | --- |"]
    for mine, theirs in pairs:
        a, b = predictions_of(cells.get(mine, [])), predictions_of(cells.get(theirs, []))
        gain = crossed(a, b) if a and b else None
        if gain is None:
            lines.append(f"| {mine.label()} | {theirs.label()} | no paired predictions | | |")
            continue
        p = "<1e-4" if gain.p_value < 1e-4 else f"{gain.p_value:.2g}"
        lines.append(
            f"| {mine.label()} | {theirs.label()} | {gain.mean:+.1f} "
            f"[{gain.low:+.1f}, {gain.high:+.1f}] | {p} | {gain.n} seeds x "
            f"{gain.examples} examples |"
        )
    return lines
