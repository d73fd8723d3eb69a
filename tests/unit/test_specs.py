"""Specs and typed options: what a typo in a matrix turns into."""

from __future__ import annotations

import dataclasses

import pytest
from distill_bench import BenchError, LossSpec, Option, StudentSpec
from distill_bench.plugin_api.specs import KINDS, SPEC_TYPES

WHERE = "m.toml: loss 'kd'"


def student(*options: Option, name: str = "toy") -> StudentSpec:
    return StudentSpec(name=name, factory=lambda o, v, n: None, options=options)


# --- Option.coerce ----------------------------------------------------------------------


def test_float_option_accepts_int():
    """TOML writes `4` for 4.0: an int is accepted for a float option and becomes a float."""
    value = Option("temperature", float, 2.0).coerce(4, WHERE)
    assert value == 4.0 and type(value) is float


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (int, True),
        (int, False),
        (float, True),
        (int, 2.5),
        (bool, 1),
        (str, 3),
        (float, "2.0"),
        (list, "a,b"),
    ],
)
def test_wrong_type_is_refused(type_, value):
    """Each mismatch (bool for int included) is a BenchError naming place, option and types."""
    with pytest.raises(BenchError) as info:
        Option("knob", type_, None).coerce(value, WHERE)
    message = str(info.value)
    assert message.startswith(WHERE)
    assert "'knob'" in message
    assert f"must be {type_.__name__}" in message
    assert type(value).__name__ in message


@pytest.mark.parametrize(
    ("type_", "value"), [(int, 3), (bool, False), (str, "x"), (list, [1, 2]), (float, 0.5)]
)
def test_right_type_passes_unchanged(type_, value):
    """A well-typed value comes back as given."""
    assert Option("knob", type_, None).coerce(value, WHERE) == value


def test_choices():
    """A value outside `choices` fails and the message lists the allowed values."""
    option = Option("pooling", str, "max", choices=("max", "mean"))
    assert option.coerce("mean", WHERE) == "mean"
    with pytest.raises(BenchError, match=r"'pooling' must be one of \['max', 'mean'\], got 'sum'"):
        option.coerce("sum", WHERE)


def test_unsupported_option_type():
    """Option types are limited to what TOML can express."""
    with pytest.raises(TypeError, match="'weights'"):
        Option("weights", dict, {})


# --- Spec.resolve -------------------------------------------------------------------------


def test_resolve_fills_defaults_and_coerces():
    """Missing options get their defaults; given ones are coerced; keys come back sorted."""
    spec = student(Option("width", int, 8), Option("dropout", float, 0.1))
    assert spec.resolve({}, WHERE) == {"dropout": 0.1, "width": 8}
    resolved = spec.resolve({"dropout": 0}, WHERE)
    assert resolved == {"dropout": 0.0, "width": 8} and type(resolved["dropout"]) is float
    assert list(resolved) == ["dropout", "width"]


def test_required_option():
    """An option whose default is None must be given; the error names it and its help."""
    spec = student(Option("model", str, None, "Hub id or local directory"), Option("width", int, 8))
    with pytest.raises(BenchError) as info:
        spec.resolve({"width": 4}, WHERE)
    assert "needs option 'model'" in str(info.value)
    assert "Hub id or local directory" in str(info.value)
    assert spec.resolve({"model": "tiny"}, WHERE) == {"model": "tiny", "width": 8}


def test_unknown_option_lists_known_ones():
    """A typo in an option name fails with the spec's real option names."""
    spec = student(Option("width", int, 8), Option("dropout", float, 0.1))
    with pytest.raises(BenchError) as info:
        spec.resolve({"widht": 4}, WHERE)
    message = str(info.value)
    assert message.startswith(WHERE)
    assert "unknown option 'widht' for student 'toy'" in message
    assert "(options: dropout, width)" in message


def test_unknown_option_when_spec_has_none():
    """A spec without options says so instead of listing nothing."""
    loss = LossSpec(name="plain", factory=lambda o: None)
    with pytest.raises(BenchError, match=r"for loss 'plain' \(options: none\)"):
        loss.resolve({"temperature": 2.0}, WHERE)


def test_resolve_reports_wrong_type_with_option_name():
    """Type errors surface through resolve with the option's name."""
    spec = student(Option("width", int, 8))
    with pytest.raises(BenchError, match="option 'width' must be int, got str '8'"):
        spec.resolve({"width": "8"}, WHERE)


# --- names and declaration errors ---------------------------------------------------------


@pytest.mark.parametrize("name", ["mlp", "bilstm-64", "minilm-l6", "sst2"])
def test_kebab_case_names_accepted(name):
    """Lower-case names with digits and hyphens are fine."""
    assert student(name=name).name == name


@pytest.mark.parametrize("name", ["", "MLP", "Bilstm", "bi_lstm", "bi lstm"])
def test_non_kebab_names_refused(name):
    """Upper case, underscores, spaces and empty names are refused at registration."""
    with pytest.raises(ValueError, match="kebab-case"):
        student(name=name)


def test_option_declared_twice():
    """A spec cannot declare the same option twice."""
    with pytest.raises(ValueError, match="option twice"):
        student(Option("width", int, 8), Option("width", int, 16))


def test_specs_are_frozen_and_typed_per_kind():
    """Specs are immutable, and there is one spec type per kind."""
    spec = student()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    assert set(SPEC_TYPES) == set(KINDS)
    assert all(cls.kind == kind for kind, cls in SPEC_TYPES.items())
