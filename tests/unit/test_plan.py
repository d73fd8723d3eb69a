"""Planning: the cartesian product, shared stages, content keys and capability checks."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import types
from dataclasses import fields

import pytest
from distill_bench import (
    AugmenterSpec,
    BenchError,
    LossSpec,
    Option,
    StudentSpec,
    TeacherSpec,
    hookimpl,
)
from distill_bench.matrix.model import Budget, MeasureConfig, parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import (
    DISABLE_ENV,
    collect,
    load_registry,
    make_plugin_manager,
)
from distill_bench.plugin_api.specs import (
    ATTENTIONS,
    FILTER_OPTIONS,
    HIDDEN_STATES,
    LOGITS,
    TEACHER_LOGITS,
)


@pytest.fixture(autouse=True)
def _no_env_disable(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def _register_students(register):
    register(
        StudentSpec(
            name="attn-student",
            factory=lambda o, v, n: None,
            exposes=frozenset({LOGITS, HIDDEN_STATES, ATTENTIONS}),
        )
    )


def _register_losses(register):
    register(
        LossSpec(
            name="attn-loss",
            factory=lambda o: None,
            needs=frozenset({LOGITS, ATTENTIONS}),
            uses=frozenset({TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="hidden-loss",
            factory=lambda o: None,
            needs=frozenset({LOGITS, HIDDEN_STATES}),
            uses=frozenset({TEACHER_LOGITS}),
        )
    )
    register(LossSpec(name="no-signal", factory=lambda o: None))


def _register_augmenters(register):
    register(
        AugmenterSpec(
            name="unlabelled",
            factory=lambda o: None,
            gold_labels=False,
            options=(
                Option("ratio", float, 1.0),
                Option("rounds", int, 2),
                Option("shuffle", bool, True),
                Option("mode", str, "mask", choices=("mask", "swap")),
            ),
        )
    )


def _register_teachers(register):
    register(TeacherSpec(name="logits-only", factory=lambda o: None, exposes=frozenset({LOGITS})))


TEST_PLUGIN = types.ModuleType("plan_test_plugin")
TEST_PLUGIN.register_students = hookimpl(_register_students)
TEST_PLUGIN.register_losses = hookimpl(_register_losses)
TEST_PLUGIN.register_augmenters = hookimpl(_register_augmenters)
TEST_PLUGIN.register_teachers = hookimpl(_register_teachers)


@pytest.fixture(scope="module")
def builtin():
    return load_registry()


@pytest.fixture(scope="module")
def extended():
    """Built-ins plus test components with unusual capabilities."""
    return collect(make_plugin_manager(entrypoints=False, extra=[TEST_PLUGIN]))


def toml_value(value) -> str:
    """A value in TOML syntax: JSON's for scalars and lists, inline tables for dicts."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def matrix_text(
    axes: dict | None = None,
    options: dict | None = None,
    budget: dict | None = None,
    measure: dict | None = None,
) -> str:
    axes = {
        "datasets": ["sst2"],
        "teachers": ["hf"],
        "students": ["mlp"],
        "losses": ["kd-soft"],
        "augmenters": ["none"],
        "seeds": [0],
    } | (axes or {})
    default_options = (
        {"teachers": {"hf": {"model": "prajjwal1/bert-tiny"}}} if "hf" in axes["teachers"] else {}
    )
    options = default_options | (options or {})
    lines = [f"{axis} = {toml_value(values)}" for axis, values in axes.items()]
    for kind, per_plugin in options.items():
        for plugin, opts in per_plugin.items():
            lines.append(f"[options.{kind}.{plugin}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in opts.items()]
    for section, values in (("budget", budget), ("measure", measure)):
        if values:
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def plan_of(registry, data_source: str = "local:abc", **kwargs):
    return make_plan(parse_matrix(matrix_text(**kwargs), "plan.toml"), registry, data_source)


STAGES = ("data_key", "teacher_key", "transfer_key", "annotate_key", "student_key", "key")


def single_cell_keys(plan) -> dict[str, str]:
    (cell,) = plan.cells
    (row,) = plan.teacher_rows
    return {name: getattr(cell, name) for name in STAGES} | {"teacher_row": row.key}


# --- the product and shared stages ------------------------------------------------------------


def test_cells_are_the_product_of_axes(builtin):
    """Every combination becomes a cell, each with its own key."""
    axes = {
        "datasets": ["sst2", "cola"],
        "teachers": ["minilm-l6"],
        "students": ["mlp", "bilstm"],
        "losses": ["ce-hard", "kd-soft", "mse-logits"],
        "augmenters": ["none"],
        "seeds": [0, 1],
    }
    plan = plan_of(builtin, axes=axes)
    assert len(plan.cells) == math.prod(len(v) for v in axes.values()) == 24
    assert plan.dropped == ()
    assert len({c.key for c in plan.cells}) == 24
    combos = {
        (c.dataset.name, c.teacher.name, c.student.name, c.loss.name, c.augmenter.name, c.seed)
        for c in plan.cells
    }
    assert len(combos) == 24


def test_expensive_stages_are_shared(extended):
    """S students x L losses share one teacher per (dataset, teacher, seed) and one annotation
    per (dataset, teacher, augmenter, seed)."""
    axes = {
        "datasets": ["sst2", "cola"],
        "teachers": ["minilm-l6", "hf"],
        "students": ["mlp", "bilstm", "attn-student"],
        "losses": ["kd-soft", "mse-logits"],
        "augmenters": ["none", "unlabelled"],
        "seeds": [0, 1],
    }
    plan = plan_of(extended, axes=axes)
    d, t, a, s = 2, 2, 2, 2
    by_kind: dict[str, list] = {}
    for stage in plan.stages:
        by_kind.setdefault(stage.kind, []).append(stage)
    assert len(by_kind["data"]) == d * s
    assert len(by_kind["teacher"]) == d * t * s
    assert len(by_kind["transfer"]) == d * a * s
    assert len(by_kind["annotate"]) == d * t * a * s
    assert len(plan.teacher_rows) == d * t * s
    assert len(plan.cells) == d * t * a * s * 3 * 2
    assert len({s.key for s in plan.stages}) == len(plan.stages)  # each key once
    # Every cell's shared stages exist, and dependencies come before their users.
    position = {stage.key: i for i, stage in enumerate(plan.stages)}
    for stage in plan.stages:
        assert all(position[dep] < position[stage.key] for dep in stage.deps)
    for cell in plan.cells:
        assert {cell.data_key, cell.teacher_key, cell.transfer_key, cell.annotate_key} <= set(
            position
        )


def test_more_students_add_no_teacher_work(builtin):
    """Adding students and losses leaves the set of expensive stages unchanged."""
    small = plan_of(builtin, axes={"students": ["mlp"], "losses": ["kd-soft"]})
    large = plan_of(
        builtin,
        axes={"students": ["mlp", "bilstm"], "losses": ["kd-soft", "mse-logits", "ce-hard"]},
    )
    assert {s.key for s in small.stages} == {s.key for s in large.stages}
    assert len(large.cells) == 6


# --- content keys -------------------------------------------------------------------------------


def test_keys_are_stable_within_a_process(builtin):
    """Planning the same matrix twice gives the same keys."""
    assert single_cell_keys(plan_of(builtin)) == single_cell_keys(plan_of(builtin))


def test_keys_are_stable_across_processes(builtin):
    """Keys do not depend on hash randomisation or anything else per-process."""
    text = matrix_text(axes={"students": ["mlp", "bilstm"], "losses": ["kd-soft", "ce-hard"]})
    code = (
        "import json, sys\n"
        "from distill_bench.matrix.model import parse_matrix\n"
        "from distill_bench.matrix.plan import make_plan\n"
        "from distill_bench.plugin_api.registry import load_registry\n"
        "plan = make_plan(parse_matrix(sys.stdin.read(), 'plan.toml'), load_registry(), 'local:abc')\n"
        "print(json.dumps([[c.label, c.key, c.teacher_key, c.annotate_key] for c in plan.cells]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV} | {"PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    here = make_plan(parse_matrix(text, "plan.toml"), builtin, "local:abc")
    assert json.loads(result.stdout) == [
        [c.label, c.key, c.teacher_key, c.annotate_key] for c in here.cells
    ]


def test_int_and_float_spellings_share_keys(builtin):
    """`temperature = 4` and `temperature = 4.0` are the same config, so the same key."""
    a = plan_of(builtin, options={"losses": {"kd-soft": {"temperature": 4}}})
    b = plan_of(builtin, options={"losses": {"kd-soft": {"temperature": 4.0}}})
    assert single_cell_keys(a) == single_cell_keys(b)


def test_explicit_default_shares_keys(builtin):
    """Spelling out a default does not change any key (configs are resolved first)."""
    a = plan_of(builtin)
    b = plan_of(builtin, options={"students": {"mlp": {"hidden_size": 256}}})
    assert single_cell_keys(a) == single_cell_keys(b)


def test_display_name_shares_stages_but_not_rows(builtin):
    """Renaming an entry shares every stage (the work is the same) but gives the cell its
    own row key, so two same-config entries under different names both reach the board."""
    a = single_cell_keys(plan_of(builtin))
    b = single_cell_keys(
        plan_of(builtin, axes={"students": [{"plugin": "mlp", "name": "tiny-mlp"}]})
    )
    assert a["key"] != b["key"]
    assert {k: v for k, v in a.items() if k != "key"} == {k: v for k, v in b.items() if k != "key"}


DOWNSTREAM = {  # which keys must change when something at that level changes
    "data": {
        "data_key",
        "teacher_key",
        "transfer_key",
        "annotate_key",
        "student_key",
        "key",
        "teacher_row",
    },
    "teacher": {"teacher_key", "annotate_key", "student_key", "key", "teacher_row"},
    "transfer": {"transfer_key", "annotate_key", "student_key", "key"},
    # max_length shapes teacher fine-tuning, annotation and students, not the raw data
    "tokens": {"teacher_key", "annotate_key", "student_key", "key", "teacher_row"},
    "student": {"student_key", "key"},
    "annotate": {"annotate_key", "student_key", "key"},
    "measure": {"key", "teacher_row"},
    "none": set(),
}
LEVEL_OF_KIND = {
    "datasets": "data",
    "teachers": "teacher",
    "augmenters": "transfer",
    "students": "student",
    "losses": "student",
}


def changed_value(spec, option: Option):
    """Another value of ``option`` that ``spec`` accepts (within its range)."""
    if option.choices:
        return next(c for c in option.choices if c != option.default)
    if option.type is bool:
        return not option.default
    if option.type is int:
        return (option.default or 0) + 1
    if option.type is float:
        default = option.default or 0.0
        for value in (default * 2 + 0.25, default / 2 + 0.25, 0.75, 0.25):
            if value == default:
                continue
            try:
                option.coerce(value, "test")
            except BenchError:
                continue
            options = {o.name: o.default for o in spec.options} | {option.name: value}
            if spec.validate is None or spec.validate(options) is None:
                return value
        raise AssertionError(f"no other valid value of {option.name}")
    if option.type is str:
        return (option.default or "x") + "-changed"
    return [*(option.default or []), "changed"]


# The base matrix uses one plugin per kind; every option of each is varied below.
KEY_BASE_AXES = {"augmenters": ["unlabelled"], "losses": ["kd-soft"], "students": ["mlp"]}
OPTION_CASES = [
    ("datasets", "sst2"),
    ("teachers", "hf"),
    ("students", "mlp"),
    ("losses", "kd-soft"),
    ("augmenters", "unlabelled"),
]


def assert_changes(before: dict, after: dict, level: str, what: str) -> None:
    changed = {name for name in before if before[name] != after[name]}
    assert changed == DOWNSTREAM[level], (
        f"{what}: changed {sorted(changed)}, expected {sorted(DOWNSTREAM[level])}"
    )


@pytest.mark.parametrize(("kind", "plugin"), OPTION_CASES)
def test_every_option_changes_the_right_keys(extended, kind, plugin):
    """Any option of any component changes its own stage's key and everything downstream,
    and nothing upstream (a student option never touches teacher or annotation keys)."""
    base = single_cell_keys(plan_of(extended, axes=KEY_BASE_AXES))
    spec = extended.get(kind, plugin)
    assert spec.options, f"{kind} {plugin} has no options to vary"
    for option in spec.options:
        opts = {"teachers": {"hf": {"model": "prajjwal1/bert-tiny"}}}
        current = opts.get(kind, {}).get(plugin, {})
        value = changed_value(spec, option) if option.name != "model" else "other/model"
        if kind == "augmenters":  # values the common transfer options accept
            value = {"size": "2x", "unsure_weight": 0.25}.get(option.name, value)
        opts[kind] = {plugin: current | {option.name: value}}
        after = single_cell_keys(plan_of(extended, axes=KEY_BASE_AXES, options=opts))
        # the teacher-confidence filter is applied at the student stage: the set stays shared
        level = "student" if kind == "augmenters" and option.name in FILTER_OPTIONS else None
        level = level or LEVEL_OF_KIND[kind]
        assert_changes(base, after, level, f"{kind} {plugin} option {option.name}")


BUDGET_LEVEL = (
    {
        "max_train_examples": "data",
        "max_select_examples": "data",
        "max_eval_examples": "data",
        "max_transfer_examples": "transfer",
        "max_length": "tokens",
        "annotate_batch_size": "none",  # batching does not change what annotation computes
        "annotate_precision": "annotate",  # a faster precision changes the teacher's logits
    }
    | {f.name: "teacher" for f in fields(Budget) if f.name.startswith("teacher_")}
    | {f.name: "student" for f in fields(Budget) if f.name.startswith("student_")}
    # the seed of the data subset and everything built on it (seed 0 -> 7 here)
    | {"teacher_seed": "data"}
)


@pytest.mark.parametrize("field", [f.name for f in fields(Budget)])
def test_budget_fields_change_the_right_keys(builtin, field):
    """Each budget field reaches exactly the stages it affects: a student-budget field never
    changes teacher keys, a teacher-budget field never changes the data or transfer keys."""
    default = getattr(Budget(), field)
    if isinstance(default, str):
        value = "int8"  # a valid other choice
    else:
        value = (
            7 if default is None else (default * 2 + 1 if isinstance(default, int) else default * 2)
        )
    before = single_cell_keys(plan_of(builtin))
    after = single_cell_keys(plan_of(builtin, budget={field: value}))
    assert_changes(before, after, BUDGET_LEVEL[field], f"budget.{field}")


@pytest.mark.parametrize("field", [f.name for f in fields(MeasureConfig)])
def test_measure_fields_change_only_measurement_keys(builtin, field):
    """Measurement settings change the measured rows, never a trained model; `isolate` changes nothing."""
    default = getattr(MeasureConfig(), field)
    if isinstance(default, tuple):
        value = ["int8"]
    elif isinstance(default, float):
        value = default / 2
    else:
        value = (not default) if isinstance(default, bool) else default + 1
    before = single_cell_keys(plan_of(builtin))
    after = single_cell_keys(plan_of(builtin, measure={field: value}))
    assert_changes(before, after, "none" if field == "isolate" else "measure", f"measure.{field}")


def test_seed_changes_every_key(builtin):
    """A different seed is different work at every stage."""
    before = single_cell_keys(plan_of(builtin))
    after = single_cell_keys(plan_of(builtin, axes={"seeds": [1]}))
    assert_changes(before, after, "data", "seed")


def test_teacher_seed_shares_one_teacher_across_student_seeds(builtin):
    """With [budget].teacher_seed, seeds vary the students only: one data subset, teacher,
    transfer set and annotation; without it each seed has its own (keys as before)."""
    shared = plan_of(builtin, axes={"seeds": [0, 1, 2]}, budget={"teacher_seed": 0})
    assert len({c.teacher_key for c in shared.cells}) == 1
    assert len({c.annotate_key for c in shared.cells}) == 1
    assert len({c.student_key for c in shared.cells}) == 3
    assert {c.seed for c in shared.cells} == {0, 1, 2}
    assert {c.data_seed for c in shared.cells} == {0} and len(shared.teacher_rows) == 1
    per_seed = plan_of(builtin, axes={"seeds": [0, 1, 2]})
    assert len({c.teacher_key for c in per_seed.cells}) == 3
    # teacher_seed equal to the only seed changes no key: existing caches stay valid
    assert single_cell_keys(plan_of(builtin)) == single_cell_keys(
        plan_of(builtin, budget={"teacher_seed": 0})
    )


def matrix_with_teacher_seeds(builtin, teacher_seeds, seeds=(0, 1)):
    text = f"teacher_seeds = {list(teacher_seeds)}\n" + matrix_text(axes={"seeds": list(seeds)})
    return make_plan(parse_matrix(text, "plan.toml"), builtin, "local:abc")


def test_teacher_seeds_distil_every_student_seed_from_each_teacher(builtin):
    """teacher_seeds = [0, 1, 2] x seeds [0, 1]: three teachers (data subsets, transfer
    sets, annotations), six students, each labelled with its teacher seed; the cells of
    teacher seed 0 have the keys [budget].teacher_seed = 0 gives them (caches stay valid)."""
    plan = matrix_with_teacher_seeds(builtin, [0, 1, 2])
    assert len(plan.cells) == 6 and len(plan.teacher_rows) == 3
    assert len({c.teacher_key for c in plan.cells}) == 3
    assert len({c.key for c in plan.cells}) == 6
    assert {(c.teacher_seed, c.seed) for c in plan.cells} == {
        (t, s) for t in range(3) for s in (0, 1)
    }
    assert {r.seed for r in plan.teacher_rows} == {0, 1, 2}
    assert all(f"seed {c.seed}, teacher seed {c.teacher_seed}]" in c.label for c in plan.cells)
    one = plan_of(builtin, axes={"seeds": [0, 1]}, budget={"teacher_seed": 0})
    zero = [c for c in plan.cells if c.teacher_seed == 0]
    assert [c.student_key for c in zero] == [c.student_key for c in one.cells]
    assert [c.key for c in zero] == [c.key for c in one.cells]
    assert "teacher seed" not in one.cells[0].label  # one teacher: labels as before


def test_data_source_changes_every_key(builtin):
    """Pointing at different data files invalidates everything built from them."""
    before = single_cell_keys(plan_of(builtin, data_source="local:abc"))
    after = single_cell_keys(plan_of(builtin, data_source="local:def"))
    assert_changes(before, after, "data", "data_source")


def test_component_choice_changes_keys(builtin):
    """Swapping a student plugin changes student keys only; swapping a teacher changes teacher keys."""
    base = single_cell_keys(plan_of(builtin))
    assert_changes(
        base,
        single_cell_keys(plan_of(builtin, axes={"students": ["bilstm"]})),
        "student",
        "student swap",
    )
    assert_changes(
        base,
        single_cell_keys(plan_of(builtin, axes={"losses": ["mse-logits"]})),
        "student",
        "loss swap",
    )
    swapped = single_cell_keys(plan_of(builtin, axes={"teachers": ["minilm-l6"]}))
    assert_changes(base, swapped, "teacher", "teacher swap")
    assert_changes(
        base,
        single_cell_keys(plan_of(builtin, axes={"datasets": ["cola"]})),
        "data",
        "dataset swap",
    )


# --- capability checks --------------------------------------------------------------------------


def test_loss_needing_attentions_drops_students_without_them(extended):
    """A loss that needs attention maps is never paired with a student that has none."""
    plan = plan_of(
        extended,
        axes={"students": ["bilstm", "attn-student"], "losses": ["attn-loss", "kd-soft"]},
    )
    kept = {(c.student.name, c.loss.name) for c in plan.cells}
    assert kept == {
        ("bilstm", "kd-soft"),
        ("attn-student", "attn-loss"),
        ("attn-student", "kd-soft"),
    }
    (dropped,) = plan.dropped
    assert "bilstm" in dropped.label and "attn-loss" in dropped.label
    assert "'attn-loss'" in dropped.reason and "'bilstm'" in dropped.reason
    assert ATTENTIONS in dropped.reason


def test_loss_needing_teacher_capability(extended):
    """A loss needing hidden states is dropped for a teacher that exposes only logits."""
    plan = plan_of(extended, axes={"teachers": ["logits-only", "hf"], "losses": ["hidden-loss"]})
    assert {c.teacher.name for c in plan.cells} == {"hf"}
    (dropped,) = plan.dropped
    assert "'logits-only'" in dropped.reason and "'hidden-loss'" in dropped.reason


def test_gold_label_loss_needs_labelled_transfer_set(extended):
    """ce-hard cannot learn from an augmenter whose examples carry no gold labels."""
    plan = plan_of(
        extended,
        axes={"augmenters": ["none", "unlabelled"], "losses": ["ce-hard", "kd-soft", "mse-logits"]},
    )
    kept = {(c.augmenter.name, c.loss.name) for c in plan.cells}
    assert ("unlabelled", "ce-hard") not in kept
    assert ("none", "ce-hard") in kept and ("unlabelled", "kd-soft") in kept
    (dropped,) = plan.dropped
    assert "'ce-hard'" in dropped.reason and "'unlabelled'" in dropped.reason
    # The annotate stage for the unlabelled set is still planned for the cells that remain.
    assert any(s.kind == "annotate" and "unlabelled" in s.label for s in plan.stages)


def test_loss_without_signal_is_dropped(extended):
    """A loss that reads neither gold labels nor the teacher cannot train anything."""
    plan = plan_of(extended, axes={"losses": ["no-signal", "kd-soft"]})
    assert [c.loss.name for c in plan.cells] == ["kd-soft"]
    assert "'no-signal'" in plan.dropped[0].reason


# --- errors -------------------------------------------------------------------------------------


def test_unknown_plugin_lists_available(builtin):
    """A matrix naming an unknown plugin fails before anything runs, listing the real ones."""
    with pytest.raises(BenchError) as info:
        plan_of(builtin, axes={"students": ["lstm"]})
    assert "unknown student 'lstm'" in str(info.value)
    assert all(name in str(info.value) for name in ("bilstm", "mlp", "cnn"))


def test_bad_option_type_names_the_option(builtin):
    """A wrongly typed option fails with the file, the entry and the option name."""
    with pytest.raises(BenchError) as info:
        plan_of(builtin, options={"losses": {"kd-soft": {"temperature": "hot"}}})
    message = str(info.value)
    assert message.startswith("plan.toml")
    assert "loss 'kd-soft'" in message and "'temperature'" in message and "float" in message


def test_unknown_option_names_known_ones(builtin):
    """A misspelt option lists the plugin's options."""
    with pytest.raises(
        BenchError,
        match=r"unknown option 'temprature'.*alpha, alpha_end, noise, noise_share, temperature",
    ):
        plan_of(builtin, options={"losses": {"kd-soft": {"temprature": 2.0}}})


def test_required_option_missing(builtin):
    """The generic hf teacher needs a model id."""
    with pytest.raises(BenchError, match="teacher 'hf' needs option 'model'"):
        make_plan(
            parse_matrix(
                matrix_text().replace('[options.teachers.hf]\nmodel = "prajjwal1/bert-tiny"\n', ""),
                "p.toml",
            ),
            builtin,
        )


def test_resolved_options_are_complete(builtin):
    """Cells carry every option of their components, defaults included, type-coerced."""
    plan = plan_of(builtin, options={"losses": {"kd-soft": {"temperature": 4}}})
    (cell,) = plan.cells
    assert cell.loss.options_dict() == {
        "alpha": 0.5,
        "alpha_end": -1.0,
        "noise": 0.0,
        "noise_share": 1.0,
        "temperature": 4.0,
        "temperature_end": -1.0,
    }
    # options added after caches existed stay out of the keys at their defaults
    assert set(cell.loss.config()["options"]) == {
        "alpha",
        "alpha_end",
        "temperature",
        "temperature_end",
    }
    assert set(cell.student.options_dict()) == {
        o.name for o in builtin.get("students", "mlp").options
    }


def test_ce_hard_label_smoothing_keeps_the_old_keys_at_its_default(builtin):
    """label_smoothing came after ce-hard cells were cached: at 0 the cell keys are those of
    a ce-hard without the option; any other share is another cell."""
    plain = single_cell_keys(plan_of(builtin, axes={"losses": ["ce-hard"]}))
    zero = plan_of(
        builtin,
        axes={"losses": ["ce-hard"]},
        options={"losses": {"ce-hard": {"label_smoothing": 0}}},
    )
    assert single_cell_keys(zero) == plain
    assert set(zero.cells[0].loss.config()["options"]) == set()
    smooth = plan_of(
        builtin,
        axes={"losses": ["ce-hard"]},
        options={"losses": {"ce-hard": {"label_smoothing": 0.1}}},
    )
    assert single_cell_keys(smooth)["student_key"] != plain["student_key"]


# --- ranges, depth, and a matrix with nothing to run ------------------------------------------


def plan_error(registry, **kwargs) -> str:
    with pytest.raises(BenchError) as info:
        plan_of(registry, **kwargs)
    message = str(info.value)
    assert message.startswith("plan.toml: ") and "\n" not in message, message
    return message


def test_out_of_range_option_names_file_entry_and_option(builtin):
    """`hidden_size = -8` used to pass --dry-run and fail the cell after the teacher trained."""
    message = plan_error(
        builtin,
        axes={"students": [{"plugin": "mlp", "name": "tiny-mlp", "hidden_size": -8}]},
    )
    assert message == "plan.toml: student 'tiny-mlp': option 'hidden_size' must be >= 1, got -8"


def test_composition_part_out_of_range_names_the_part(builtin):
    parts = [{"plugin": "kd-soft", "temperature": 0}, {"plugin": "ce-hard"}]
    message = plan_error(builtin, axes={"losses": [{"name": "mix", "parts": parts}]})
    assert message == "plan.toml: loss 'mix/kd-soft': option 'temperature' must be > 0, got 0.0"


def test_malformed_layer_map_names_the_file(builtin):
    message = plan_error(builtin, axes={"losses": [{"plugin": "hidden-mse", "layer_map": "x"}]})
    assert message.startswith("plan.toml: loss 'hidden-mse': option 'layer_map' must be comma")


def test_every_cell_dropped_is_an_error_listing_each_reason(extended):
    """A matrix whose every cell is dropped used to run the teacher alone and exit 0."""
    message = plan_error(
        extended,
        axes={"students": ["bilstm"], "losses": ["attn-loss", "no-signal"], "seeds": [0, 1]},
    )
    head, drops = message.split(": every cell is dropped: ")
    assert head == "plan.toml"
    drops = drops.split("; ")
    assert len(drops) == 4  # 2 losses x 2 seeds
    assert drops[0] == (
        "sst2 | hf -> bilstm [attn-loss, none, seed 0]: loss 'attn-loss' needs attentions, "
        "which student 'bilstm' does not expose"
    )
    assert "declares no training signal" in drops[-1] and "seed 1" in drops[-1]


def test_some_cells_dropped_still_plan(extended):
    plan = plan_of(extended, axes={"students": ["bilstm"], "losses": ["attn-loss", "kd-soft"]})
    assert len(plan.cells) == 1 and len(plan.dropped) == 1


def test_a_matrix_without_cells_is_an_error(builtin):
    """The file format refuses empty axes; a Matrix built in code can still have one."""
    matrix = parse_matrix(matrix_text(), "plan.toml")
    empty = dataclasses.replace(matrix, axes=matrix.axes | {"students": ()})
    with pytest.raises(BenchError, match=r"^plan.toml: the matrix has no cells"):
        make_plan(empty, builtin)
    with pytest.raises(BenchError, match=r"^plan.toml: the matrix has no cells"):
        make_plan(dataclasses.replace(matrix, seeds=()), builtin)


@pytest.mark.parametrize(
    ("teacher", "loss", "message"),
    [
        (
            "minilm-l6",
            {"plugin": "hidden-mse", "layer_map": "-1:7"},
            "loss 'hidden-mse': layer_map = '-1:7' names teacher layer 7, which teacher "
            "'minilm-l6' does not have (6 layers: hidden states 0 to 6)",
        ),
        (
            "minilm-l6",
            {"plugin": "attention-mse", "name": "attn", "layer_map": "1:1,2:7"},
            "loss 'attn': layer_map = '1:1,2:7' names teacher layer 7, which teacher "
            "'minilm-l6' does not have (6 layers: attention maps 1 to 6)",
        ),
        (
            "mpnet-base",
            {"plugin": "hidden-cosine", "layer_map": "-1:13"},
            "loss 'hidden-cosine': layer_map = '-1:13' names teacher layer 13, which teacher "
            "'mpnet-base' does not have (12 layers: hidden states 0 to 12)",
        ),
        (
            "minilm-l6",
            {
                "name": "kd+hidden",
                "parts": [{"plugin": "kd-soft"}, {"plugin": "hidden-mse", "layer_map": "-1:9"}],
            },
            "loss 'kd+hidden' (part 'hidden-mse'): layer_map = '-1:9' names teacher layer 9, "
            "which teacher 'minilm-l6' does not have (6 layers: hidden states 0 to 6)",
        ),
    ],
)
def test_loss_layers_beyond_the_teachers_depth_are_refused(builtin, teacher, loss, message):
    """Bad input, not a dropped cell: the file, the entry and the field."""
    got = plan_error(
        builtin, axes={"teachers": [teacher], "students": ["transformer"], "losses": [loss]}
    )
    assert got == f"plan.toml: {message}"


@pytest.mark.parametrize(
    ("teacher", "loss"),
    [
        ("minilm-l6", {"plugin": "hidden-mse", "layer_map": "-1:6,0:0"}),
        ("minilm-l6", {"plugin": "attention-mse", "layer_map": "1:1,-1:6"}),
        ("mpnet-base", {"plugin": "hidden-mse", "layer_map": "-1:12"}),
        ("hf", {"plugin": "hidden-mse", "layer_map": "-1:40"}),  # a Hub id: depth unknown
    ],
)
def test_layers_within_the_depth_or_of_an_unknown_depth_plan(builtin, teacher, loss):
    plan = plan_of(
        builtin, axes={"teachers": [teacher], "students": ["transformer"], "losses": [loss]}
    )
    assert len(plan.cells) == 1


def test_teacher_layers_student_within_the_teachers_depth(builtin):
    """teacher-layers copies encoder layers 0 to depth - 1."""
    axes = {"teachers": ["minilm-l6"], "losses": ["kd-soft"]}
    ok = {"plugin": "teacher-layers", "name": "half", "layers": [0, 5]}
    assert len(plan_of(builtin, axes=axes | {"students": [ok]}).cells) == 1
    deep = {"plugin": "teacher-layers", "name": "deep", "layers": [0, 6]}
    message = plan_error(builtin, axes=axes | {"students": [deep]})
    assert message == (
        "plan.toml: student 'deep': layers = [0, 6] names teacher layer 6, which teacher "
        "'minilm-l6' does not have (6 layers: 0 to 5)"
    )


def test_local_hf_teacher_depth_comes_from_its_config(builtin, tmp_path):
    """A local folder's config.json gives the depth without loading anything."""
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 2}))
    teachers = [{"plugin": "hf", "name": "tiny", "model": str(tmp_path)}]
    axes = {"teachers": teachers, "students": ["transformer"]}
    within = {"plugin": "hidden-mse", "layer_map": "-1:2"}
    assert len(plan_of(builtin, axes=axes | {"losses": [within]}).cells) == 1
    beyond = {"plugin": "hidden-mse", "layer_map": "-1:3"}
    assert "teacher 'tiny' does not have (2 layers" in plan_error(
        builtin, axes=axes | {"losses": [beyond]}
    )
    spec = builtin.get("teachers", "hf")
    assert spec.depth({"model": str(tmp_path)}) == 2
    assert spec.depth({"model": "prajjwal1/bert-tiny"}) is None
    (tmp_path / "config.json").write_text("{not json")
    assert spec.depth({"model": str(tmp_path)}) is None  # the pre-flight reports a bad folder
    assert builtin.get("teachers", "minilm-l6").depth({}) == 6


# --- exclude: cells of the product left out ----------------------------------------------------

EXCLUDE_AXES = {
    "datasets": ["sst2"],
    "teachers": ["minilm-l6"],
    "students": ["mlp", "bilstm"],
    "losses": ["ce-hard", "kd-soft", "mse-logits"],
    "augmenters": ["none"],
    "seeds": [0, 1],
}


def excluded_plan(registry, exclude: str):
    text = f"exclude = {exclude}\n" + matrix_text(axes=EXCLUDE_AXES)
    return make_plan(parse_matrix(text, "plan.toml"), registry, "local:abc")


def test_exclude_leaves_out_the_cells_matching_every_named_axis(builtin):
    plan = excluded_plan(builtin, '[{loss = ["kd-soft", "mse-logits"], student = "mlp"}]')
    kept = {(c.student.name, c.loss.name) for c in plan.cells}
    assert kept == {("mlp", "ce-hard"), ("bilstm", "ce-hard"), ("bilstm", "kd-soft"),
                    ("bilstm", "mse-logits")}  # fmt: skip
    assert len(plan.cells) == 8 and plan.excluded == 4 and plan.dropped == ()
    # the kept cells are the full matrix's own: excluding a cell changes no other key
    full = make_plan(
        parse_matrix(matrix_text(axes=EXCLUDE_AXES), "plan.toml"), builtin, "local:abc"
    )
    assert {c.key for c in plan.cells} <= {c.key for c in full.cells}


def test_several_exclude_rules_each_leave_out_their_cells(builtin):
    plan = excluded_plan(builtin, '[{loss = "kd-soft"}, {student = "bilstm", loss = "ce-hard"}]')
    kept = {(c.student.name, c.loss.name) for c in plan.cells}
    assert kept == {("mlp", "ce-hard"), ("mlp", "mse-logits"), ("bilstm", "mse-logits")}


@pytest.mark.parametrize(
    ("exclude", "message"),
    [
        (
            '[{loss = "kd-sfot"}]',
            "exclude[0].loss: 'kd-sfot' is no entry of losses (ce-hard, kd-soft, mse-logits)",
        ),
        ('[{losses = "kd-soft"}]', "exclude[0]: unknown key 'losses' (expected: dataset, teacher,"),
        ("[{loss = []}]", "exclude[0].loss: expected an entry name or a list of them"),
        ('{loss = "kd-soft"}', "exclude must be a list of tables like"),
        ("[{}]", "exclude must be a list of tables like"),
        ('[{loss = ["ce-hard", "kd-soft", "mse-logits"]}]', "exclude leaves out every cell (12)"),
    ],
)
def test_exclude_errors_name_the_rule_and_what_was_expected(builtin, exclude, message):
    with pytest.raises(BenchError) as info:
        excluded_plan(builtin, exclude)
    text = str(info.value)
    assert text.startswith("plan.toml: ") and message in text and "\n" not in text, text
