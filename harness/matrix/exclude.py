"""``exclude``: cells of the cartesian product a matrix leaves out, as in a CI matrix.

    exclude = [
        {loss = ["kd-soft", "stagewise"], augmenter = "none"},   # distil on unlabelled text only
    ]

Each rule names entries of some axes (one name or a list); a cell matching every axis a rule
names is not planned. Names are checked against the matrix's entries, so a typo is an error,
not a silently kept cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import SINGULAR

AXIS_OF = {singular: kind for kind, singular in SINGULAR.items()}  # a rule's key -> its axis


class Named(Protocol):
    """What a rule reads of a cell's component (a matrix.components.Component, which imports
    the model that imports this module: named by shape, not by import)."""

    kind: str
    name: str


@dataclass(frozen=True)
class Exclusion:
    """One rule: for each axis it names (its kind: "losses", ...), the entry names it matches."""

    names: tuple[tuple[str, tuple[str, ...]], ...]

    def matches(self, *cell: Named) -> bool:
        """Whether the cell made of these components (one per axis) is excluded by this rule."""
        name_of = {c.kind: c.name for c in cell}
        return all(name_of[kind] in names for kind, names in self.names)


def parse_exclusions(raw: Any, axes: dict[str, tuple], path: str) -> tuple[Exclusion, ...]:
    """The ``exclude`` list of a matrix file, every name checked against ``axes``."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(rule, dict) and rule for rule in raw):
        raise BenchError(
            f'{path}: exclude must be a list of tables like {{loss = "kd-soft", '
            f'augmenter = "none"}}, got {raw!r}'
        )
    rules = []
    for i, rule in enumerate(raw):
        where = f"{path}: exclude[{i}]"
        names = []
        for key, value in rule.items():
            if key not in AXIS_OF:
                raise BenchError(f"{where}: unknown key {key!r} (expected: {', '.join(AXIS_OF)})")
            values = [value] if isinstance(value, str) else value
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                raise BenchError(f"{where}.{key}: expected an entry name or a list of them")
            known = [e.name for e in axes[AXIS_OF[key]]]
            for v in values:
                if v not in known:
                    raise BenchError(
                        f"{where}.{key}: {v!r} is no entry of {AXIS_OF[key]} ({', '.join(known)})"
                    )
            names.append((AXIS_OF[key], tuple(values)))
        rules.append(Exclusion(tuple(names)))
    return tuple(rules)
