"""Gains between any two cells of a committed rows file, paired by seed and by evaluation
example: the leaderboard's own interval (`report.stats.crossed`) and p-value.

A leaderboard's gain column sets each cell against ce-hard on the same dataset and transfer
set. A study page that compares other pairs (one transfer set against another, a student
distilled on N labels against one trained on 2N) prints them with `gain_table` from a
small script beside its matrix (augment_gains, scarce_gains), and its contract test checks
the page quotes what the script prints."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from distill_bench.report.columns import gain_text, p_text
from distill_bench.report.entries import seed_groups
from distill_bench.report.seeds import predictions_of
from distill_bench.report.stats import crossed
from distill_bench.store.results import ResultRow
from distill_bench.store.rows_file import read_rows_file


@dataclass(frozen=True)
class Cell:
    """One cell of a matrix, every seed of it."""

    dataset: str
    teacher: str
    student: str
    loss: str
    augmenter: str

    def label(self, teacher: bool = False) -> str:
        """The cell in a table's words; ``teacher``: name it too (pairs across teachers)."""
        source = f" from {self.teacher}" if teacher else ""
        return f"{self.dataset} {self.student}{source} {self.loss} on {self.augmenter}"


def cells_of(rows: Iterable[ResultRow]) -> dict[Cell, list[ResultRow]]:
    """The rows of every student cell that ran, by cell: the leaderboard's own groups."""
    return {
        Cell(dataset, teacher, student, loss, augmenter): group
        for (dataset, role, teacher, student, loss, augmenter), group in seed_groups(rows).items()
        if role == "student"
    }


def gain_table(rows: Iterable[ResultRow], pairs: Sequence[tuple[Cell, Cell]]) -> list[str]:
    """A markdown table: for each (cell, against) pair, the cell's score minus the other's,
    its interval over seeds and examples, the paired p-value and what the interval covers,
    each written as the leaderboard writes it (a "*" where the interval excludes 0). A pair
    without paired per-example predictions (a cell missing, or old rows) says so."""
    cells = cells_of(rows)
    across_teachers = any(mine.teacher != theirs.teacher for mine, theirs in pairs)
    lines = ["| cell | against | gain [95% CI] | p | covers |", "| --- | --- | ---: | ---: | --- |"]
    for mine, theirs in pairs:
        a, b = predictions_of(cells.get(mine, [])), predictions_of(cells.get(theirs, []))
        gain = crossed(a, b) if a and b else None
        mine_text, theirs_text = mine.label(across_teachers), theirs.label(across_teachers)
        if gain is None:
            lines.append(f"| {mine_text} | {theirs_text} | no paired predictions | | |")
            continue
        lines.append(
            f"| {mine_text} | {theirs_text} | {gain_text(gain)} | {p_text(gain)} | {gain.covers} |"
        )
    return lines


def print_gains(doc: str, matrix: str | Sequence[str], pairs: Sequence[tuple[Cell, Cell]]) -> None:
    """A study script's command line: ``--rows`` (the matrix's committed rows file by
    default; several files for a study that crosses matrices, e.g. two teachers), then the
    gain table of ``pairs`` on standard output."""
    matrices = [matrix] if isinstance(matrix, str) else list(matrix)
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--rows", nargs="+", default=[f"results/leaderboards/{m}.rows.json" for m in matrices]
    )
    args = parser.parse_args()
    rows = [row for path in args.rows for row in read_rows_file(path)[1]]
    print("\n".join(gain_table(rows, pairs)))
