"""Matrix files: structure, defaults, the ranges of [budget] and [measure], and one-line
errors that name the file."""

from __future__ import annotations

from dataclasses import fields

import pytest
from distill_bench import BenchError
from distill_bench.cli.main import main
from distill_bench.matrix.model import AXES, Budget, Entry, MeasureConfig, load_matrix, parse_matrix
from distill_bench.matrix.settings import SECTIONS, check_settings

PATH = "bench/quick.toml"

AXES_TOML = """
datasets = ["sst2"]
teachers = ["minilm-l6"]
students = ["mlp", "bilstm"]
losses = ["kd-soft"]
augmenters = ["none"]
seeds = [0, 1]
"""


def parse(extra: str = "", axes: str = AXES_TOML):
    return parse_matrix(axes + extra, PATH)


def error(text: str) -> str:
    with pytest.raises(BenchError) as info:
        parse_matrix(text, PATH)
    message = str(info.value)
    assert message.startswith(PATH), message
    assert "\n" not in message
    return message


def without(axis: str) -> str:
    return "\n".join(line for line in AXES_TOML.splitlines() if not line.startswith(axis))


# --- valid files ---------------------------------------------------------------------------


def test_string_entries_and_defaults():
    """Plain names become entries with no options; name defaults to the file stem."""
    m = parse()
    assert m.name == "quick" and m.path == PATH
    assert m.axes["students"] == (
        Entry("students", "mlp", "mlp"),
        Entry("students", "bilstm", "bilstm"),
    )
    assert m.seeds == (0, 1)
    assert m.budget == Budget() and m.measure == MeasureConfig()
    assert set(m.axes) == set(AXES) - {"seeds"}


def test_table_entries_with_plugin_name_and_options():
    """A table entry names its plugin, an optional display name and inline options."""
    m = parse(
        axes=AXES_TOML.replace(
            'students = ["mlp", "bilstm"]',
            'students = ["mlp", {plugin = "bilstm", name = "bilstm-64", hidden_size = 64}, {plugin = "mlp", name = "mlp-wide", hidden_size = 1024}]',
        )
    )
    assert m.axes["students"] == (
        Entry("students", "mlp", "mlp"),
        Entry("students", "bilstm", "bilstm-64", (("hidden_size", 64),)),
        Entry("students", "mlp", "mlp-wide", (("hidden_size", 1024),)),
    )


def test_table_entry_name_defaults_to_plugin():
    """A table without `name` shows under its plugin's name."""
    m = parse(
        axes=AXES_TOML.replace(
            'losses = ["kd-soft"]', 'losses = [{plugin = "kd-soft", alpha = 1.0}]'
        )
    )
    assert m.axes["losses"] == (Entry("losses", "kd-soft", "kd-soft", (("alpha", 1.0),)),)


def test_options_section_merges_and_inline_wins():
    """[options.kind.plugin] applies to every entry of that plugin; inline options override it."""
    m = parse(
        """
        [options.students.mlp]
        hidden_size = 32
        layers = 3
        """,
        axes=AXES_TOML.replace(
            'students = ["mlp", "bilstm"]',
            'students = ["mlp", {plugin = "mlp", name = "mlp-big", hidden_size = 512}, "bilstm"]',
        ),
    )
    plain, big, bilstm = m.axes["students"]
    assert dict(plain.options) == {"hidden_size": 32, "layers": 3}
    assert dict(big.options) == {"hidden_size": 512, "layers": 3}
    assert bilstm.options == ()
    assert big.options == tuple(sorted(big.options))  # sorted, so equal configs compare equal


def test_budget_measure_name_description():
    """[budget] and [measure] override defaults; ints are accepted for float fields."""
    m = parse(
        """
        name = "smoke"
        description = "two students"
        [budget]
        max_train_examples = 200
        teacher_lr = 1
        [measure]
        threads = 1
        isolate = false
        """
    )
    assert m.name == "smoke" and m.description == "two students"
    assert m.budget.max_train_examples == 200
    assert m.budget.teacher_lr == 1.0 and type(m.budget.teacher_lr) is float
    assert m.budget.student_epochs == Budget().student_epochs
    assert m.measure.threads == 1 and m.measure.isolate is False


def test_budget_parts_split_teacher_and_student_fields():
    """teacher_part/student_part hold their own fields plus max_length, nothing else."""
    b = Budget()
    # teacher_seed picks the seed, which the teacher's key carries as "seed" already
    teacher_fields = {f for f in vars(b) if f.startswith("teacher_")} - {"teacher_seed"}
    assert set(b.teacher_part()) == teacher_fields | {"max_length"}
    assert set(b.student_part()) == {f for f in vars(b) if f.startswith("student_")} | {
        "max_length"
    }


# --- errors ----------------------------------------------------------------------------------


def test_malformed_toml_names_the_file():
    """A TOML syntax error is reported with the file name."""
    assert "malformed TOML" in error('datasets = ["sst2"\n')


def test_unknown_top_level_key():
    """A misspelt top-level key is refused and the expected keys listed."""
    message = error(AXES_TOML + 'student = ["mlp"]\n')
    assert "unknown key 'student'" in message and "students" in message


@pytest.mark.parametrize("axis", AXES)
def test_missing_axis(axis):
    """Every axis must be present."""
    assert f"missing axis {axis!r}" in error(without(axis))


@pytest.mark.parametrize("axis", [a for a in AXES if a != "seeds"])
def test_empty_axis(axis):
    """An empty or non-list axis is refused, naming it."""
    assert f"axis {axis!r} must be a non-empty list" in error(without(axis) + f"\n{axis} = []\n")
    assert f"axis {axis!r}" in error(without(axis) + f'\n{axis} = "mlp"\n')


def test_bad_entry_shape():
    """Entries are names or tables with a string 'plugin'."""
    base = without("students")
    assert "tables with a 'plugin' key" in error(base + '\nstudents = [{name = "x"}]\n')
    assert "tables with a 'plugin' key" in error(base + "\nstudents = [3]\n")
    assert "entry name must be a non-empty string, got ''" in error(
        base + '\nstudents = [{plugin = "mlp", name = ""}]\n'
    )
    assert "entry name must be a non-empty string" in error(
        base + '\nstudents = [{plugin = "mlp", name = 3}]\n'
    )


def test_duplicate_entry_names():
    """Two entries showing under the same name are refused (variants need a 'name')."""
    base = without("students")
    assert "'mlp' appears twice (give variants a 'name')" in error(
        base + '\nstudents = ["mlp", "mlp"]\n'
    )
    # it has a name already: the hint says to pick another, not to give one
    assert "'mlp' appears twice (names must differ within an axis)" in error(
        base + '\nstudents = ["mlp", {plugin = "bilstm", name = "mlp"}]\n'
    )
    assert "'x' appears twice (names must differ within an axis)" in error(
        base + '\nstudents = [{plugin = "mlp", name = "x"}, {plugin = "cnn", name = "x"}]\n'
    )
    parse_matrix(
        base + '\nstudents = ["mlp", {plugin = "mlp", name = "mlp-2"}]\n', PATH
    )  # named variant is fine


@pytest.mark.parametrize("seeds", ["[]", "0", "[true]", "[1.5]", '["0"]', "[1, 1]"])
def test_bad_seeds(seeds):
    """Seeds are a non-empty list of distinct integers."""
    assert "seeds" in error(without("seeds") + f"\nseeds = {seeds}\n")


def test_options_for_plugin_not_on_axis():
    """[options] for a plugin that no entry uses is a typo, not silently ignored."""
    message = error(AXES_TOML + "[options.losses.kd-sfot]\ntemperature = 4.0\n")
    assert "[options.losses.kd-sfot]" in message and "'losses'" in message


def test_options_must_be_tables_per_kind_and_plugin():
    """[options] holds kinds, each holding one table per plugin."""
    assert "named after kinds" in error(AXES_TOML + "[options.seeds]\nx = 1\n")
    assert "named after kinds" in error(
        AXES_TOML.replace("seeds = [0, 1]", "seeds = [0, 1]\noptions = 3")
    )
    assert "[options.losses]" in error(AXES_TOML + "[options]\nlosses = 3\n")
    assert "[options.losses]" in error(AXES_TOML + "[options.losses]\nkd-soft = 3\n")


def test_budget_unknown_field():
    """A misspelt budget field is refused with the known fields."""
    message = error(AXES_TOML + "[budget]\nteacher_epoch = 2\n")
    assert "[budget]" in message and "unknown field 'teacher_epoch'" in message
    assert "teacher_epochs" in message


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("budget", "teacher_epochs = 2.5", "[budget].teacher_epochs must be int, got 2.5"),
        ("budget", 'max_train_examples = "all"', "[budget].max_train_examples must be int"),
        ("budget", "student_epochs = true", "[budget].student_epochs must be int"),
        ("budget", 'student_lr = "1e-3"', "[budget].student_lr must be float"),
        ("measure", "isolate = 1", "[measure].isolate must be bool"),
        ("measure", "threads = 2.0", "[measure].threads must be int"),
        ("measure", "variants = [1]", "[measure].variants must be a list of names, got [1]"),
        ("measure", 'variants = "int8"', "[measure].variants must be a list of names"),
    ],
)
def test_section_wrong_type(section, value, expected):
    """Budget and measure fields are type-checked, naming the field."""
    assert expected in error(AXES_TOML + f"[{section}]\n{value}\n")


def test_section_must_be_table():
    """`budget = 3` is not a table."""
    assert "[budget]: must be a table" in error(
        AXES_TOML.replace("seeds = [0, 1]", "seeds = [0, 1]\nbudget = 3")
    )


def test_empty_name():
    """An explicit name must be a non-empty string."""
    assert "name must be a non-empty string" in error('name = ""\n' + AXES_TOML)


# --- files ----------------------------------------------------------------------------------


def test_load_matrix_reads_a_file(tmp_path):
    """load_matrix parses a file and names the matrix after it."""
    path = tmp_path / "tiny-run.toml"
    path.write_text(AXES_TOML, encoding="utf-8")
    m = load_matrix(path)
    assert m.name == "tiny-run" and m.path == str(path)


def test_load_matrix_missing_file(tmp_path):
    """A missing file is a BenchError naming it, not a traceback."""
    path = tmp_path / "nope.toml"
    with pytest.raises(BenchError, match="nope.toml: matrix file not found"):
        load_matrix(path)


def test_load_matrix_not_utf8(tmp_path):
    """Undecodable bytes are a BenchError naming the file."""
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(BenchError, match="latin.toml: cannot read matrix file"):
        load_matrix(path)


def test_errors_in_file_name_the_file(tmp_path):
    """Errors from a loaded file carry its path."""
    path = tmp_path / "broken.toml"
    path.write_text(without("losses"), encoding="utf-8")
    with pytest.raises(BenchError, match=r"broken\.toml: missing axis 'losses'"):
        load_matrix(path)


# --- ranges of [budget] and [measure] ---------------------------------------------------------

# (section, field = value, what the error says after "<path>: [section].field ")
OUT_OF_RANGE = [
    ("budget", "max_train_examples = 0", "must be >= 1, got 0"),
    ("budget", "max_train_examples = -1", "must be >= 1, got -1"),
    ("budget", "max_select_examples = 0", "must be >= 1, got 0"),
    ("budget", "max_eval_examples = 0", "must be >= 1, got 0"),
    ("budget", "max_transfer_examples = 0", "must be >= 1, got 0"),
    ("budget", "max_length = 0", "must be in [3, 512], got 0"),
    ("budget", "max_length = 2", "must be in [3, 512], got 2"),
    ("budget", "max_length = 513", "must be in [3, 512], got 513"),
    ("budget", "teacher_epochs = 0", "must be >= 1, got 0"),
    ("budget", "teacher_epochs = -3", "must be >= 1, got -3"),
    ("budget", "teacher_batch_size = 0", "must be >= 1, got 0"),
    ("budget", "teacher_lr = 0", "must be > 0, got 0.0"),
    ("budget", "teacher_lr = nan", "must be a finite number, got nan"),
    ("budget", "teacher_warmup = 1.5", "must be in [0, 1], got 1.5"),
    ("budget", "teacher_warmup = -0.1", "must be in [0, 1], got -0.1"),
    ("budget", "teacher_evals_per_epoch = 0", "must be >= 1, got 0"),
    ("budget", "student_epochs = 0", "must be >= 1, got 0"),
    ("budget", "student_batch_size = 0", "must be >= 1, got 0"),
    ("budget", "student_lr = -0.1", "must be > 0, got -0.1"),
    ("budget", "student_lr = inf", "must be a finite number, got inf"),
    ("budget", "annotate_batch_size = -1", "must be >= 0, got -1"),
    ("budget", 'annotate_precision = "fp16"', "must be one of ['fp32', 'bf16', 'int8'"),
    ("budget", "teacher_seed = -1", "must be in [0, 4294967295], got -1"),
    ("measure", "threads = 0", "must be >= 1, got 0"),
    ("measure", "batch_size = 0", "must be >= 1, got 0"),
    ("measure", "latency_samples = 0", "must be >= 1, got 0"),
    ("measure", "repeats = 0", "must be >= 1, got 0"),
    ("measure", "warmup = -1", "must be >= 0, got -1"),
    ("measure", "min_pass_seconds = 0", "must be > 0, got 0.0"),
    ("measure", "max_sentences = 0", "must be >= 1, got 0"),
    ("measure", "max_background_load = 1.5", "must be in [0, 1], got 1.5"),
    ("measure", "max_passes = 0", "must be >= 1, got 0"),
    ("measure", "train_steps = -1", "must be >= 0, got -1"),
    (
        "measure",
        'variants = ["int4"]',
        "must be one of ['int8', 'onnx-fp32', 'onnx-int8'], got 'int4'",
    ),
]


@pytest.mark.parametrize(("section", "value", "expected"), OUT_OF_RANGE)
def test_out_of_range_fields_are_refused(section, value, expected):
    """Every range is checked when the file is read, one line naming the file and field."""
    field = value.split(" =")[0]
    message = error(AXES_TOML + f"[{section}]\n{value}\n")
    assert message.startswith(f"{PATH}: [{section}].{field} {expected}"), message


def test_every_field_has_a_range_and_help_and_a_valid_default():
    """The table covers every field; every default is within its own range."""
    for section, (cls, table) in SECTIONS.items():
        assert set(table) == {f.name for f in fields(cls)}, section
        assert all(setting.help for setting in table.values()), section
        check_settings(cls(), section, "defaults")  # raises when a default is out of range


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("budget", "annotate_batch_size = 0"),  # 0 = auto
        ("budget", "teacher_warmup = 0"),  # no warm-up
        ("budget", "teacher_seed = 0"),
        ("budget", "max_length = 3"),
        ("budget", "max_length = 512"),
        ("measure", "warmup = 0"),  # no untimed passes
        ("measure", "train_steps = 0"),  # skip the training-memory figure
        ("measure", "max_background_load = 0"),
    ],
)
def test_zero_with_a_documented_meaning_is_accepted(section, value):
    """A 0 the help gives a meaning to (and the ends of a range) stay valid."""
    parse(f"[{section}]\n{value}\n")


def test_documented_zeros_say_what_they_mean():
    """Fields that accept 0 say in their help what 0 does."""
    for section, (_, table) in SECTIONS.items():
        for name, setting in table.items():
            bounds = setting.bounds
            if bounds and bounds.choices is None and bounds.violation(0) is None:
                if name in ("max_background_load", "teacher_warmup", "teacher_seed"):
                    continue  # a share of 0 and seed 0 are ordinary values
                assert "0 =" in setting.help, f"[{section}].{name}: {setting.help}"


def test_max_passes_must_allow_repeats():
    """max_passes counts every pass: fewer than `repeats` could never give the figure."""
    message = error(AXES_TOML + "[measure]\nrepeats = 5\nmax_passes = 3\n")
    assert message == f"{PATH}: [measure].max_passes must be >= [measure].repeats (5), got 3"
    parse("[measure]\nrepeats = 3\nmax_passes = 3\n")


def test_variant_named_twice():
    message = error(AXES_TOML + '[measure]\nvariants = ["int8", "int8"]\n')
    assert "[measure].variants names a variant twice" in message


@pytest.mark.parametrize("seeds", ["[-1]", "[0, -2]"])
def test_negative_seeds(seeds):
    """numpy's generators refuse a negative seed: refused when the file is read."""
    message = error(without("seeds") + f"\nseeds = {seeds}\n")
    assert message.startswith(f"{PATH}: seeds must be in [0, 4294967295], got -"), message


def test_bench_list_prints_budget_and_measure_fields(capsys):
    """Type, default, range and meaning of every field, the way options are listed."""
    assert main(["list", "budget"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[budget]\n")
    assert "teacher_epochs = 3  (int, >= 1) teacher fine-tuning epochs" in out
    assert "max_length = 128  (int, in [3, 512]) WordPiece tokens per input" in out
    assert "max_train_examples = unset  (int | None, >= 1)" in out
    assert "annotate_batch_size = 128  (int, >= 0) sentences per annotation batch; 0 = auto" in out
    assert all(f"      {f.name} = " in out for f in fields(Budget))
    assert main(["list", "measure"]) == 0
    out = capsys.readouterr().out
    assert "train_steps = 3  (int, >= 0) training steps timed" in out and "0 = skip" in out
    assert "variants = []  (list[str], one of ['int8', 'onnx-fp32', 'onnx-int8'])" in out
    assert "isolate = True  (bool) measure in a fresh subprocess" in out
    assert all(f"      {f.name} = " in out for f in fields(MeasureConfig))


def test_bench_list_without_a_kind_ends_with_the_sections(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.index("augmenters\n") < out.index("[budget]\n") < out.index("[measure]\n")


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ("0", "must be > 0, got 0"),
        ("-0.5", "must be > 0, got -0.5"),
        ("nan", "must be a finite number, got nan"),
    ],
)
def test_composition_weights_are_positive_and_finite(weight, expected):
    losses = f'losses = [{{name = "mix", parts = [{{plugin = "kd-soft", weight = {weight}}}]}}]'
    message = error(without("losses") + f"\n{losses}\n")
    assert f"loss composition 'mix': weight of 'kd-soft' {expected}" in message


def test_teacher_seeds_are_read():
    m = parse("teacher_seeds = [0, 1, 2]\n")
    assert m.teacher_seeds == (0, 1, 2) and m.teacher_seed_choices() == (0, 1, 2)
    assert parse().teacher_seeds is None and parse().teacher_seed_choices() == (None,)


@pytest.mark.parametrize("value", ["[]", "0", "[true]", "[1, 1]", "[-1]", '["0"]'])
def test_bad_teacher_seeds(value):
    """teacher_seeds is a non-empty list of distinct seeds, like seeds."""
    assert error(AXES_TOML + f"teacher_seeds = {value}\n").startswith(f"{PATH}: teacher_seeds ")


def test_teacher_seeds_and_teacher_seed_exclude_each_other():
    message = error(AXES_TOML + "teacher_seeds = [0, 1]\n[budget]\nteacher_seed = 0\n")
    assert "teacher_seeds and [budget].teacher_seed both set" in message


STAGED = (
    'losses = [{name = "xd", stages = STAGES, parts = [{plugin = "hidden-mse", layer_map = "-1:2"}, '
    '{plugin = "mse-logits"}, {plugin = "ce-hard", weight = 0.5}]}]'
)


def test_a_staged_composition_is_read_and_keyed_apart_from_the_summed_one():
    from distill_bench.matrix.components import resolve
    from distill_bench.plugin_api.registry import load_registry

    staged = parse("", without("losses") + "\n" + STAGED.replace("STAGES", "[0.4, 0.8]") + "\n")
    (entry,) = staged.axes["losses"]
    assert dict(entry.options)["stages"] == (0.4, 0.8)
    summed = parse("", without("losses") + "\n" + STAGED.replace("stages = STAGES, ", "") + "\n")
    registry = load_registry()
    a, b = (resolve(m.axes["losses"][0], registry, "m") for m in (staged, summed))
    assert a.config()["options"]["stages"] == (0.4, 0.8) and "stages" not in b.config()["options"]


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        ("[0.5]", "'stages' must list 2 share(s) of training, one fewer than the parts, got [0.5]"),
        ("[0.8, 0.4]", "'stages' must increase within (0, 1), got [0.8, 0.4]"),
        ("[0.4, 1.0]", "'stages' must increase within (0, 1), got [0.4, 1.0]"),
        ('["a", 0.5]', "'stages' must list 2 share(s)"),
    ],
)
def test_bad_stages_name_the_composition_and_what_is_expected(stages, expected):
    message = error(without("losses") + "\n" + STAGED.replace("STAGES", stages) + "\n")
    assert "'xd'" in message and expected in message


def test_unfreeze_needs_stages_and_a_boolean():
    staged = STAGED.replace("STAGES", "[0.4, 0.8], unfreeze = true")
    (entry,) = parse("", without("losses") + "\n" + staged + "\n").axes["losses"]
    assert dict(entry.options)["unfreeze"] is True
    summed = STAGED.replace("stages = STAGES", "unfreeze = true")
    assert "'unfreeze' is true or false, for a composition with 'stages'" in error(
        without("losses") + "\n" + summed + "\n"
    )
