"""Pick by constraint: the best student under a budget, the cells that tie with it within
noise, and what each constraint costs. Pure, no torch: it reads the leaderboard's entries.

    bench report --matrix FILE --where "latency_p50 <= 1 and params_no_emb <= 1M" --best score
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.columns import COLUMNS
from distill_bench.report.entries import Entry

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip
SUFFIXES = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_CONDITION = re.compile(
    r"^\s*([a-z_0-9]+)\s*(<=|>=|==|!=|<|>)\s*([-+]?[0-9.]+(?:e[-+]?\d+)?)([kKMG]?)\s*$"
)


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: float
    text: str  # as the user wrote it

    def holds(self, entry: Entry) -> bool:
        value = COLUMNS[self.column].value(entry)
        return isinstance(value, int | float) and OPERATORS[self.op](value, self.value)


def parse_where(text: str) -> tuple[Condition, ...]:
    """``"a <= 1 and b > 2M"`` as conditions; a one-line error naming what is wrong."""
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CONDITION.match(part)
        if match is None:
            raise BenchError(
                f"--where: {part.strip()!r} is not a condition; expected COLUMN OP NUMBER "
                f"joined by 'and', OP one of {', '.join(OPERATORS)} (e.g. 'latency_p50 <= 1 "
                "and params_no_emb <= 1M')"
            )
        column, op, number, suffix = match.groups()
        if column not in COLUMNS:
            raise BenchError(f"--where: unknown column {column!r} (columns: {', '.join(COLUMNS)})")
        conditions.append(Condition(column, op, float(number) * SUFFIXES[suffix], part.strip()))
    return tuple(conditions)


@dataclass(frozen=True)
class Pick:
    """The answer for one board (dataset)."""

    dataset: str
    best: Entry | None
    ties: tuple[Entry, ...]  # within noise of the best (see ``ties_with``)
    candidates: int  # students meeting every condition
    # per condition: the best student without it (None: the same best, or no student)
    costs: tuple[tuple[Condition, Entry | None], ...]


def _best(entries: Sequence[Entry], column: str) -> Entry | None:
    col = COLUMNS[column]
    valued = [e for e in entries if isinstance(col.value(e), int | float)]
    if not valued:
        return None
    sign = 1 if col.lower_is_better else -1
    return min(valued, key=lambda e: (sign * col.value(e), e.student, e.loss, e.augmenter))


def ties_with(best: Entry, other: Entry) -> bool:
    """Whether ``other``'s 95% score interval (seeds and examples, else seeds) holds the
    best's mean: a re-run could put it first."""
    estimate = other.score_crossed
    low, high = (estimate.low, estimate.high) if estimate else (None, None)
    if low is None and other.score_ci is not None:
        low, high = other.score_ci
    return low is not None and low <= best.score <= high


def pick(
    boards: dict[str, list[Entry]], conditions: Sequence[Condition], best: str = "score"
) -> list[Pick]:
    """The best fp32 student of each board under ``conditions`` by column ``best``."""
    if best not in COLUMNS:
        raise BenchError(f"--best: unknown column {best!r} (columns: {', '.join(COLUMNS)})")
    picks = []
    for dataset, entries in boards.items():
        students = [e for e in entries if e.role == "student" and e.variant == "fp32"]

        def meeting(conds, students=students):
            return [e for e in students if all(c.holds(e) for c in conds)]

        qualifying = meeting(conditions)
        chosen = _best(qualifying, best)
        ties = tuple(
            e for e in qualifying
            if chosen is not None and e is not chosen and best == "score" and ties_with(chosen, e)
        )  # fmt: skip
        costs = []
        for condition in conditions:
            relaxed = _best(meeting([c for c in conditions if c is not condition]), best)
            costs.append((condition, None if relaxed is chosen else relaxed))
        picks.append(Pick(dataset, chosen, ties, len(qualifying), tuple(costs)))
    return picks


def _name(e: Entry) -> str:
    return f"{e.student} [{e.loss}, {e.augmenter}]"


def _score(e: Entry) -> str:
    est = e.score_crossed
    interval = f" [{est.low:.1f}, {est.high:.1f}]" if est and est.low is not None else ""
    return f"{e.score:.1f}{interval}"


def pick_lines(picks: Sequence[Pick], conditions: Sequence[Condition], best: str) -> list[str]:
    """What ``bench report --where`` prints: one block per dataset."""
    where = " and ".join(c.text for c in conditions) or "no constraint"
    lines = []
    for p in picks:
        if p.best is None:
            lines.append(f"{p.dataset}: no student meets {where}")
            continue
        lines.append(
            f"{p.dataset}: best by {best} under {where} ({p.candidates} students qualify): "
            f"{_name(p.best)}, score {_score(p.best)}, latency p50 "
            f"{p.best.latency_p50_ms:.2f} ms, {p.best.params_no_embedding:,} params w/o emb."
        )
        if p.ties:
            lines.append(
                "  within noise of it (its score inside their 95% interval): "
                + "; ".join(f"{_name(e)} {_score(e)}" for e in p.ties)
            )
        for condition, relaxed in p.costs:
            if relaxed is None:
                lines.append(f"  without {condition.text}: the same pick")
            else:
                lines.append(
                    f"  without {condition.text}: {_name(relaxed)} at {_score(relaxed)} "
                    f"({relaxed.score - p.best.score:+.1f} points)"
                )
    return lines
