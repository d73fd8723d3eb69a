"""Bounds: the valid values of a knob, described once and checked once."""

from __future__ import annotations

import math

import pytest
from distill_bench.plugin_api.bounds import Bounds


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        (Bounds(), ""),
        (Bounds(min=1), ">= 1"),
        (Bounds(above=0), "> 0"),
        (Bounds(max=512), "<= 512"),
        (Bounds(below=1), "< 1"),
        (Bounds(min=0, max=1), "in [0, 1]"),
        (Bounds(min=0, below=1), "in [0, 1)"),
        (Bounds(above=0, max=1), "in (0, 1]"),
        (Bounds(above=0, below=1), "in (0, 1)"),
        (Bounds(min=0.5, max=2.5), "in [0.5, 2.5]"),
        (Bounds(above=1e-12), "> 1e-12"),
        (Bounds(choices=("drop", "downweight")), "one of ['drop', 'downweight']"),
    ],
)
def test_text(bounds, text):
    """What `bench list` prints and every range error says."""
    assert bounds.text() == text
    assert bool(bounds) == bool(text)


@pytest.mark.parametrize(
    ("bounds", "inside", "outside"),
    [
        (Bounds(min=1), [1, 2, 10**18, 1.5], [0, -1, 0.999]),
        (Bounds(above=0), [1e-9, 1, 3.0], [0, 0.0, -1e-9]),
        (Bounds(max=512), [512, -5], [513, 512.5]),
        (Bounds(below=1), [0.999, -3], [1, 1.0, 2]),
        (Bounds(min=0, max=1), [0, 0.5, 1], [-0.01, 1.01]),
        (Bounds(min=0, below=1), [0, 0.99], [1.0, -0.1]),
        (Bounds(above=0, below=1), [0.5], [0.0, 1.0]),
    ],
)
def test_range_ends(bounds, inside, outside):
    """Inclusive ends accept their value, strict ends refuse it."""
    for value in inside:
        assert bounds.violation(value) is None, (bounds, value)
    for value in outside:
        assert bounds.violation(value) == f"must be {bounds.text()}, got {value!r}", value


def test_choices():
    bounds = Bounds(choices=("fp32", "bf16"))
    assert bounds.violation("bf16") is None
    assert bounds.violation("fp16") == "must be one of ['fp32', 'bf16'], got 'fp16'"


def test_a_list_is_checked_item_by_item_naming_the_offender():
    """Layer indices, filter widths, variant names: the first bad item is the one named."""
    assert Bounds(min=0).violation([0, 2, 4]) is None
    assert Bounds(min=1).violation([3, 0, -1]) == "must be >= 1, got 0"
    assert Bounds(choices=("int8",)).violation(["int8", "int4"]) == (
        "must be one of ['int8'], got 'int4'"
    )
    assert Bounds(min=1).violation([]) is None  # emptiness is the spec's to judge


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_even_without_a_range(value):
    """TOML has nan and inf; no knob means either."""
    for bounds in (Bounds(), Bounds(min=0), Bounds(max=1)):
        assert bounds.violation(value) == f"must be a finite number, got {value!r}"


@pytest.mark.parametrize("value", ["3", True, None, {"a": 1}])
def test_other_types_are_left_to_the_type_check(value):
    """A wrong type is the option's error ("must be int"), not a range error."""
    assert Bounds(min=1, max=2).violation(value) is None


def test_both_an_inclusive_and_a_strict_end_is_a_declaration_error():
    with pytest.raises(ValueError, match="min .* or above"):
        Bounds(min=0, above=0)
    with pytest.raises(ValueError, match="max .* or below"):
        Bounds(max=1, below=1)


def test_frozen_and_comparable():
    assert Bounds(min=1) == Bounds(min=1) != Bounds(min=2)
    with pytest.raises(AttributeError):
        Bounds().min = 3  # type: ignore[misc]
