"""Matrix files: structure, defaults and one-line errors that name the file."""

from __future__ import annotations

import pytest
from distill_bench import BenchError
from distill_bench.matrix.model import AXES, Budget, Entry, MeasureConfig, load_matrix, parse_matrix

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
    assert "entry name must be a string" in error(
        base + '\nstudents = [{plugin = "mlp", name = 3}]\n'
    )


def test_duplicate_entry_names():
    """Two entries showing under the same name are refused (variants need a 'name')."""
    base = without("students")
    assert "'mlp' appears twice" in error(base + '\nstudents = ["mlp", "mlp"]\n')
    assert "'mlp' appears twice" in error(
        base + '\nstudents = ["mlp", {plugin = "bilstm", name = "mlp"}]\n'
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
        ("budget", "teacher_epochs = 2.5", "teacher_epochs: must be int"),
        ("budget", 'max_train_examples = "all"', "max_train_examples: must be int"),
        ("budget", "student_epochs = true", "student_epochs: must be int"),
        ("budget", 'student_lr = "1e-3"', "student_lr: must be float"),
        ("measure", "isolate = 1", "isolate: must be bool"),
        ("measure", "threads = 2.0", "threads: must be int"),
    ],
)
def test_section_wrong_type(section, value, expected):
    """Budget and measure fields are type-checked, naming the field."""
    assert expected in error(AXES_TOML + f"[{section}]\n{value}\n")


@pytest.mark.parametrize(
    "value", ["max_train_examples = -1", "student_lr = -0.1", "teacher_epochs = -3"]
)
def test_negative_budget(value):
    """Counts and rates cannot be negative."""
    assert "must not be negative" in error(AXES_TOML + f"[budget]\n{value}\n")


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
