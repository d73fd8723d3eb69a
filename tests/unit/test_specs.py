"""Specs and typed options: what a typo or an out-of-range value in a matrix turns into."""

from __future__ import annotations

import dataclasses
import math

import pytest
from distill_bench import BenchError, LossSpec, Option, StudentSpec
from distill_bench.cli.main import main
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.specs import KINDS, SPEC_TYPES

REGISTRY = load_registry()

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


# --- ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (Option("width", int, 8, min=1), 0, "option 'width' must be >= 1, got 0"),
        (Option("lr", float, 1e-3, above=0), 0, "option 'lr' must be > 0, got 0.0"),
        (Option("p", float, 0.1, min=0, max=1), 1.5, "option 'p' must be in [0, 1], got 1.5"),
        (Option("drop", float, 0.1, min=0, below=1), 1, "option 'drop' must be in [0, 1), got 1.0"),
        (Option("t", float, 2.0), math.nan, "option 't' must be a finite number, got nan"),
        (
            Option("widths", list, [3], min=1, item_type=int),
            [3, 0],
            "option 'widths' must be >= 1, got 0",
        ),
    ],
)
def test_out_of_range_is_refused_with_place_and_range(option, value, message):
    with pytest.raises(BenchError) as info:
        option.coerce(value, WHERE)
    assert str(info.value) == f"{WHERE}: {message}"


def test_range_ends_and_documented_zeros_pass():
    assert Option("layers", int, 2, "hidden layers (0: linear)", min=0).coerce(0, WHERE) == 0
    assert Option("p", float, 0.1, min=0, max=1).coerce(1, WHERE) == 1.0


def test_item_type_checks_every_item():
    """A list option with an item type refuses a wrong item as a type error."""
    option = Option("layers", list, [], min=0, item_type=int)
    assert option.type_name == "list[int]"
    assert option.coerce([0, 2], WHERE) == [0, 2]
    for bad in (["0"], [True], [1.5]):
        with pytest.raises(BenchError, match=r"'layers' must be list\[int\], got list"):
            option.coerce(bad, WHERE)
    floats = Option("weights", list, [], item_type=float).coerce([1, 0.5], WHERE)
    assert floats == [1.0, 0.5] and type(floats[0]) is float


def test_declaration_errors():
    """A default out of its own range, two lower ends, an item type off a list: refused at
    registration, where the plugin author sees them."""
    with pytest.raises(ValueError, match="its default must be >= 1, got 0"):
        Option("width", int, 0, min=1)
    with pytest.raises(ValueError, match="min .* or above"):
        Option("lr", float, None, min=0, above=0)
    with pytest.raises(TypeError, match="item_type"):
        Option("width", int, 1, item_type=int)


def test_validate_says_what_no_single_range_can():
    """A spec's validate sees the resolved options; its message gets the place in front."""
    spec = StudentSpec(
        name="toy",
        factory=lambda o, c: None,
        options=(Option("hidden", int, 128, min=1), Option("heads", int, 2, min=1)),
        validate=lambda o: None if o["hidden"] % o["heads"] == 0 else "hidden % heads != 0",
    )
    assert spec.resolve({"heads": 4}, WHERE) == {"heads": 4, "hidden": 128}
    with pytest.raises(BenchError) as info:
        spec.resolve({"heads": 3}, WHERE)
    assert str(info.value) == f"{WHERE}: hidden % heads != 0"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("min_confidence", 1.5, "option 'min_confidence' must be in [0, 1], got 1.5"),
        ("unsure_weight", -0.1, "option 'unsure_weight' must be in [0, 1], got -0.1"),
        ("seed", -2, "option 'seed' must be in [-1, 4294967295], got -2"),
    ],
)
def test_transfer_options_ranges(name, value, message):
    spec = REGISTRY.get("augmenters", "none")
    with pytest.raises(BenchError) as info:
        spec.resolve({name: value}, WHERE)
    assert str(info.value) == f"{WHERE}: {message}"
    assert spec.resolve({"seed": -1, "min_confidence": 0.0}, WHERE)["seed"] == -1


# --- the built-in plugins' ranges ---------------------------------------------------------

# Numeric options without Bounds, and what checks them instead.
VALIDATED_INSTEAD = {
    ("losses", "kd-soft", "temperature_end"),  # > 0, or -1 (= temperature): validate
    ("losses", "kd-soft", "alpha_end"),  # in [0, 1], or -1 (= alpha): validate
}


def test_every_numeric_builtin_option_declares_its_range():
    missing = [
        (kind, name, option.name)
        for kind in KINDS
        for name, spec in REGISTRY.specs[kind].items()
        for option in spec.options
        if option.type in (int, float) or option.item_type in (int, float)
        if not option.bounds and (kind, name, option.name) not in VALIDATED_INSTEAD
    ]
    assert not missing


@pytest.mark.parametrize(
    ("kind", "plugin", "options", "message"),
    [
        ("students", "mlp", {"hidden_size": -8}, "option 'hidden_size' must be >= 1, got -8"),
        ("students", "mlp", {"dropout": 1.0}, "option 'dropout' must be in [0, 1), got 1.0"),
        ("students", "mlp", {"layers": -1}, "option 'layers' must be >= 0, got -1"),
        ("students", "bilstm", {"num_layers": 0}, "option 'num_layers' must be >= 1, got 0"),
        ("students", "bilstm-intel", {"vocab_size": 0}, "option 'vocab_size' must be >= 1, got 0"),
        (
            "students",
            "cnn",
            {"filter_widths": [3, 0]},
            "option 'filter_widths' must be >= 1, got 0",
        ),
        ("students", "cnn", {"filter_widths": []}, "option 'filter_widths' must name at least one"),
        ("students", "cnn", {"filter_widths": ["3"]}, "option 'filter_widths' must be list[int]"),
        (
            "students",
            "transformer",
            {"hidden_size": 130, "heads": 4},
            "option 'hidden_size' (130) must be a multiple of option 'heads' (4)",
        ),
        ("students", "transformer-tiny", {"epochs": -1}, "option 'epochs' must be >= 0, got -1"),
        ("students", "pretrained", {"learning_rate": -1e-5}, "option 'learning_rate' must be >= 0"),
        ("students", "teacher-layers", {"layers": [-1]}, "option 'layers' must be >= 0, got -1"),
        ("losses", "kd-soft", {"temperature": 0}, "option 'temperature' must be > 0, got 0.0"),
        ("losses", "kd-soft", {"alpha": 1.5}, "option 'alpha' must be in [0, 1], got 1.5"),
        (
            "losses",
            "kd-soft",
            {"temperature_end": 0},
            "option 'temperature_end' must be > 0 (or -1",
        ),
        ("losses", "kd-soft", {"alpha_end": 2.0}, "option 'alpha_end' must be in [0, 1] (or -1"),
        ("losses", "hard-distill", {"confidence": 1.5}, "option 'confidence' must be in [0, 1]"),
        ("losses", "hidden-mse", {"layer_map": "6"}, "option 'layer_map' must be comma-separated"),
        ("losses", "attention-mse", {"layer_map": "1:0"}, "option 'layer_map': teacher layer 0"),
        ("augmenters", "tang", {"p_mask": 1.5}, "option 'p_mask' must be in [0, 1], got 1.5"),
        (
            "augmenters",
            "tang",
            {"p_mask": 0.6, "p_pos": 0.6},
            "options 'p_mask' + 'p_pos' must be <= 1",
        ),
        ("augmenters", "tang", {"n_iter": 0}, "option 'n_iter' must be >= 1, got 0"),
        ("augmenters", "eda", {"n_aug": 0}, "option 'n_aug' must be >= 1, got 0"),
        ("augmenters", "eda", {"p_rd": -0.1}, "option 'p_rd' must be in [0, 1], got -0.1"),
        ("teachers", "minilm-l6", {"patience": 0}, "option 'patience' must be >= 1, got 0"),
        ("teachers", "minilm-l6", {"max_grad_norm": 0}, "option 'max_grad_norm' must be > 0"),
        ("datasets", "sst2", {"max_labeled": -1}, "option 'max_labeled' must be >= 0, got -1"),
        (
            "datasets",
            "trec",
            {"heldout_fraction": 1.0},
            "option 'heldout_fraction' must be in (0, 1)",
        ),
    ],
)
def test_builtin_out_of_range_options_are_refused(kind, plugin, options, message):
    with pytest.raises(BenchError) as info:
        REGISTRY.get(kind, plugin).resolve(options, WHERE)
    assert str(info.value).startswith(f"{WHERE}: {message}"), str(info.value)


@pytest.mark.parametrize(
    ("kind", "plugin", "options"),
    [
        ("students", "mlp", {"layers": 0}),  # a linear classifier over the mean embedding
        ("students", "bilstm", {"fc_size": 0}),  # no dense layer
        ("students", "transformer", {"intermediate_size": 0, "epochs": 0, "learning_rate": 0}),
        ("students", "teacher-layers", {"layers": []}),  # every other layer
        ("losses", "kd-soft", {"temperature_end": -1.0, "alpha_end": -1.0, "alpha": 0.0}),
        ("losses", "hard-distill", {"confidence": 0.0}),
        ("augmenters", "tang", {"p_mask": 0.0, "p_pos": 1.0}),
        ("augmenters", "none", {"min_confidence": 0.0, "seed": -1}),
        ("datasets", "sst2", {"max_labeled": 0, "labels_per_class": 0}),
    ],
)
def test_builtin_zeros_with_a_documented_meaning_pass(kind, plugin, options):
    REGISTRY.get(kind, plugin).resolve(options, WHERE)


def test_bench_list_shows_each_range_beside_the_default(capsys):
    assert main(["list", "losses"]) == 0
    out = capsys.readouterr().out
    assert "temperature = 2.0  (float, > 0) softmax temperature" in out
    assert "alpha = 0.5  (float, in [0, 1]) weight of the soft term" in out
    assert "heads = 'mean'  (str, one of ['mean', 'per-head'])" in out
    assert main(["list", "students"]) == 0
    out = capsys.readouterr().out
    assert "layers = []  (list[int], >= 0) teacher layer indices" in out
    assert "freeze_embeddings = False  (bool) keep" in out  # no range: the type alone
