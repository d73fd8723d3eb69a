"""The valid values of a knob: its range or its choices, checked once, described once.

An ``Option`` of a plugin and every ``[budget]`` / ``[measure]`` field of a matrix carry a
``Bounds``, so planning refuses a value that would make a cell meaningless (zero epochs, a
zero batch) or crash later, with one line that says what was expected; ``bench list``
prints the same description beside the default. Pure: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _number(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Bounds:
    """``min``/``max`` inclusive, ``above``/``below`` strict (``above=0``: positive; a
    dropout is ``min=0, below=1``), or ``choices``.

    A list value is checked item by item (layer indices, say). None of them: anything
    of the right type."""

    min: float | None = None
    max: float | None = None
    above: float | None = None
    choices: tuple[Any, ...] | None = None
    below: float | None = None

    def __post_init__(self) -> None:
        if self.min is not None and self.above is not None:
            raise ValueError("Bounds: give min (inclusive) or above (strict), not both")
        if self.max is not None and self.below is not None:
            raise ValueError("Bounds: give max (inclusive) or below (strict), not both")

    def __bool__(self) -> bool:
        return any(
            v is not None for v in (self.min, self.max, self.above, self.below, self.choices)
        )

    def text(self) -> str:
        """``'>= 1'``, ``'> 0'``, ``'in [0, 1]'``, ``'in [0, 1)'``, ``"one of ['drop',
        'downweight']"``, or ''."""
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        low = self.min if self.min is not None else self.above
        high = self.max if self.max is not None else self.below
        if low is not None and high is not None:
            opening = "[" if self.min is not None else "("
            closing = "]" if self.max is not None else ")"
            return f"in {opening}{_number(low)}, {_number(high)}{closing}"
        if low is not None:
            return f"{'>=' if self.min is not None else '>'} {_number(low)}"
        if high is not None:
            return f"{'<=' if self.max is not None else '<'} {_number(high)}"
        return ""

    def violation(self, value: Any) -> str | None:
        """What is wrong with ``value`` (the offending item for a list), or None."""
        items = value if isinstance(value, list) else [value]
        for item in items:
            if self.choices is not None:
                if item not in self.choices:
                    return f"must be {self.text()}, got {item!r}"
                continue
            if isinstance(item, bool) or not isinstance(item, int | float):
                continue  # the type check is the option's, not the range's
            if isinstance(item, float) and not math.isfinite(item):
                return f"must be a finite number, got {item!r}"
            if (
                (self.min is not None and item < self.min)
                or (self.max is not None and item > self.max)
                or (self.above is not None and item <= self.above)
                or (self.below is not None and item >= self.below)
            ):
                return f"must be {self.text()}, got {item!r}"
        return None
