"""``Option``: one typed, defaulted, bounded knob of a plugin, checked before any run starts.

Pure, no torch. A spec (``specs.py``) lists its options; the planner resolves every matrix
entry through them, so a typo or an out-of-range value is a one-line error naming the file,
the entry and the option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill_bench.plugin_api.bounds import Bounds
from distill_bench.plugin_api.errors import BenchError

_OPTION_TYPES = (bool, int, float, str, list)


@dataclass(frozen=True)
class Option:
    """One typed, defaulted knob of a component, validated before any run starts.

    A default of None makes the option required. ``min`` / ``max`` (inclusive), ``above``
    / ``below`` (strict: ``above=0`` is positive) or ``choices`` bound its values (each
    item of a list); ``bench list`` shows them beside the default. ``item_type``: a list
    option's item type (``list[int]``), checked like ``type``."""

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None
    item_type: type | None = None
    # False for an option added after stage caches exist: at its default it stays out of
    # stage keys (``Component.config``), so adding it re-keys nothing already computed
    keyed_at_default: bool = True

    def __post_init__(self) -> None:
        if self.type not in _OPTION_TYPES:
            raise TypeError(f"option {self.name!r}: type must be one of {_OPTION_TYPES}")
        if self.item_type is not None and (self.type is not list or self.item_type is list):
            raise TypeError(f"option {self.name!r}: item_type is for a list of scalars")
        bounds = self.bounds  # refuses min with above, or max with below
        default_problem = None if self.default is None else bounds.violation(self.default)
        if default_problem:
            raise ValueError(f"option {self.name!r}: its default {default_problem}")

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.min, self.max, self.above, self.choices, self.below)

    @property
    def type_name(self) -> str:
        """``int``, or ``list[int]`` for a list with an ``item_type``."""
        item = f"[{self.item_type.__name__}]" if self.item_type is not None else ""
        return self.type.__name__ + item

    def coerce(self, value: Any, where: str) -> Any:
        """Return ``value`` checked against this option, or raise a one-line BenchError."""
        value, ok = _typed(value, self.type)
        if ok and self.item_type is not None:
            items = [_typed(item, self.item_type) for item in value]
            value, ok = [item for item, _ in items], all(item_ok for _, item_ok in items)
        if not ok:
            raise BenchError(
                f"{where}: option {self.name!r} must be {self.type_name}, "
                f"got {type(value).__name__} {value!r}"
            )
        problem = self.bounds.violation(value)
        if problem:
            raise BenchError(f"{where}: option {self.name!r} {problem}")
        return value


def _typed(value: Any, want: type) -> tuple[Any, bool]:
    """(``value``, whether it is a ``want``); an int stands for a float (TOML writes 4 for
    4.0), a bool never for an int (an int subclass in Python, never in a config)."""
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value), True
    if want is int and isinstance(value, bool):
        return value, False
    return value, isinstance(value, want)
