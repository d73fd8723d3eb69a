"""Every error a user can see reads the same way: one line that says where, then what.

Two checks. Statically, every ``raise BenchError(...)`` in harness/ and plugins/ is found
by an AST walk and its message must open with a place: a placeholder (``{where}``,
``{path}``, a label), a quoted name, a command-line flag, a matrix section, or a few
words naming a kind and then its name (``teacher model {path}``, ``unknown student
'x'``). By example, a table of bad matrices, options, data files and flags runs through
``bench`` in-process, and each must print exactly one ``bench: error:`` line (exit 2)
that names where (the file, entry, field or flag) and says what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from distill_bench.cli import main

from tests.contracts.fuzz_inputs import write_dataset_files, write_teacher
from tests.contracts.messages import PLACE, bench_errors, misplaced
from tests.helpers import tiny_matrix_text

# -- every raise BenchError(...), statically ------------------------------------------------

RAISED = bench_errors()


def test_the_walk_finds_the_raises():
    # a walk that finds nothing would pass everything: there are well over a hundred
    assert len(RAISED) > 100
    assert any(r.file == "plugins/datasets/readers.py" for r in RAISED)


def test_every_bench_error_opens_with_a_place():
    bad = misplaced(RAISED)
    assert not bad, "messages that do not open with where:\n" + "\n".join(bad)


def test_the_walk_reads_every_way_a_message_is_built():
    """A checker that cannot read a message would pass it: each form below is read, and
    each message without a place is caught."""
    source = """
class StoreError(BenchError):
    pass

def helper(n):
    return f"{n} rows are missing"

def f(where, n, exc):
    if n:
        raise BenchError(f"{where}: bad")
    message = "no place in this one"
    raise BenchError(message)
    raise BenchError(helper(n))
    raise BenchError("fine" if n else f"--flag: {n}")
    raise StoreError(f"store {where}: damaged " + "really")
    raise BenchError(str(exc))
"""
    found = bench_errors({"x.py": source})
    assert [r.templates for r in found] == [
        ("{}: bad",),
        ("no place in this one",),
        ("{} rows are missing",),
        ("fine", "--flag: {}"),
        ("store {}: damaged really",),
        ("",),
    ]
    assert [line.split(": ", 1)[1] for line in misplaced(found)] == [
        "'no place in this one'",
        "'fine'",
        "a message no template shows: str(exc)",
    ]


@pytest.mark.parametrize(
    "template, ok",
    [
        ("{}: malformed TOML: {}", True),
        ("'{}' is registered twice", True),
        ("--sort: unknown column '{}'", True),
        ("[budget].teacher_epochs must be >= 1", True),
        ("teacher model {}: no such directory", True),
        ("unknown student '{}' (available: {})", True),
        ("dataset 'x': option 'heldout_fraction' ...", True),
        ("min_confidence = {}: the teacher is unsure", True),
        ("must be >= 1, got {}", False),
        ("plots need matplotlib: pip install", True),
        ("needs spaCy: pip install", False),
        ("something went wrong", False),
    ],
)
def test_the_place_rule(template, ok):
    """The rule itself: it accepts the shapes above and refuses a message with no place."""
    assert bool(PLACE.match(template)) is ok


# -- by example: bad input through `bench`, one line each --------------------------------------


@dataclass(frozen=True)
class Case:
    """A bad input: ``argv`` after ``bench`` and the matrix text, then what the error line
    must contain: ``where`` (the place) and ``says`` (what was expected or wrong)."""

    id: str
    where: str
    says: tuple[str, ...]
    change: tuple[tuple[str, str], ...] = ()  # (old, new) replacements in the tiny matrix
    prepend: str = ""  # top-level keys, before the tables
    append: str = ""  # tables after [measure]
    argv: tuple[str, ...] = ("run", "--dry-run")
    raw: bytes | None = None  # the matrix file's bytes, instead of the tiny matrix
    data: dict[str, bytes | None] | None = None  # data files written over the tiny copy
    not_says: tuple[str, ...] = ()  # hints that would not fit this case


STUDENTS = 'students = ["mlp", "bilstm"]'
CASES = [
    Case("malformed-toml", "{matrix}", ("malformed TOML",), raw=b'name = "x"\ndatasets = [\n'),
    Case("not-utf8", "{matrix}", ("utf-8",), raw=b'name = "\xff"\n'),
    Case(
        "no-matrix-file",
        "{root}/nope.toml",
        ("not found",),
        argv=("run", "--dry-run", "--matrix", "{root}/nope.toml"),
    ),
    Case("unknown-key", "{matrix}", ("unknown key 'colour'", "expected"), prepend="colour = 1\n"),
    Case("missing-axis", "{matrix}", ("missing axis 'seeds'",), change=(("seeds = [0]", ""),)),
    Case(
        "repeated-seed",
        "{matrix}",
        ("seeds", "repeated"),
        change=(("seeds = [0]", "seeds = [0, 0]"),),
    ),
    Case(
        "unknown-plugin",
        "{matrix}",
        ("unknown student 'nope'", "available"),
        change=((STUDENTS, 'students = ["nope"]'),),
    ),
    Case(
        "option-type",
        "student 'mlp'",
        ("option 'hidden_size' must be int",),
        change=((STUDENTS, 'students = [{plugin = "mlp", hidden_size = "big"}]'),),
    ),
    Case(
        "option-range",
        "student 'mlp'",
        ("option 'hidden_size' must be", "got -8"),
        change=((STUDENTS, 'students = [{plugin = "mlp", hidden_size = -8}]'),),
    ),
    Case(
        "unknown-option",
        "student 'mlp'",
        ("unknown option 'hiden_size'", "options:"),
        change=((STUDENTS, 'students = [{plugin = "mlp", hiden_size = 8}]'),),
    ),
    Case(
        "duplicate-plain-entry",
        "{matrix}",
        ("students entry 'mlp' appears twice", "give variants a 'name'"),
        change=((STUDENTS, 'students = ["mlp", "mlp"]'),),
    ),
    Case(
        "duplicate-named-entry",
        "{matrix}",
        ("students entry 'small' appears twice",),
        not_says=("give variants a",),  # it has a name: the example of a wrong hint
        change=(
            (
                STUDENTS,
                'students = [{name = "small", plugin = "mlp"}, {name = "small", plugin = "bilstm"}]',
            ),
        ),
    ),
    Case(
        "budget-zero-epochs",
        "teacher_epochs",
        ("[budget]", ">= 1", "got 0"),
        change=(("teacher_epochs = 4", "teacher_epochs = 0"),),
    ),
    Case(
        "budget-zero-batch",
        "student_batch_size",
        ("[budget]", ">= 1", "got 0"),
        change=(("student_batch_size = 16", "student_batch_size = 0"),),
    ),
    Case(
        "budget-unknown-field",
        "[budget]",
        ("unknown field 'epochs'",),
        change=(("[budget]", "[budget]\nepochs = 3"),),
    ),
    Case(
        "measure-zero-threads",
        "threads",
        ("[measure]", ">= 1", "got 0"),
        change=(("threads = 1", "threads = 0"),),
    ),
    Case(
        "precision",
        "annotate_precision",
        ("must be one of", "fp32"),
        change=(("[budget]", '[budget]\nannotate_precision = "fp64"'),),
    ),
    Case(
        "options-for-no-entry",
        "[options.students.cnn]",
        ("names no entry",),
        append="[options.students.cnn]\nfeature_maps = 8\n",
    ),
    Case(
        "every-cell-dropped",
        "{matrix}",
        ("every cell is dropped", "attention"),
        change=(
            (
                'losses = ["ce-hard", "kd-soft"]',
                'losses = [{plugin = "attention-mse", layer_map = "-1:2"}]',
            ),
        ),
    ),
    Case(
        "heldout-fraction",
        "dataset 'sst2'",
        ("option 'heldout_fraction'", "1.5"),
        change=(('datasets = ["sst2"]', 'datasets = [{plugin = "sst2", heldout_fraction = 1.5}]'),),
    ),
    Case(
        "transfer-size",
        "augmenter 'none'",
        ("option 'size'", "'20x'"),
        change=(('augmenters = ["none"]', 'augmenters = [{plugin = "none", size = "lots"}]'),),
    ),
    Case(
        "teacher-folder-missing",
        "{root}/no-such-model",
        ("teacher model",),
        change=(("{teacher}", "{root}/no-such-model"),),
    ),
    Case(
        "data-file-missing",
        "{data}/emotion/train.txt",
        ("not found",),
        change=(('datasets = ["sst2"]', 'datasets = ["emotion"]'),),
        data={"emotion/train.txt": None},
    ),
    Case(
        "data-file-header",
        "{data}/trec/train.tsv:1",
        ("expected the header",),
        change=(('datasets = ["sst2"]', 'datasets = ["trec"]'),),
        data={"trec/train.tsv": b"question\tcoarse\tfine\nWhat ?\tDESC\tDESC:def\n"},
    ),
    Case(
        "data-file-bytes",
        "{data}/sst2/train.tsv:1",
        ("expected UTF-8",),
        data={"sst2/train.tsv": b"sentence\tlab\xffel\n"},
    ),
    Case(
        "data-dir-missing",
        "--data-dir",
        ("does not exist",),
        argv=("run", "--dry-run", "--data-dir", "{root}/no-data"),
    ),
    Case("columns", "--columns", ("nope",), argv=("report", "--columns", "nope")),
    Case("sort", "--sort", ("unknown column 'nope'",), argv=("report", "--sort", "nope")),
    Case(
        "damaged-store",
        "{root}/results/bench.sqlite",
        ("not a SQLite database", "left as it is"),
        argv=("report",),
        data={"../results/bench.sqlite": b"not a database" * 100},
    ),
]


def run_case(case: Case, root: Path, capfd) -> tuple[str, str]:
    """Run ``case`` in a fresh ``root``: its one error line and the place it must name."""
    data = write_dataset_files(root / "data")
    for rel, content in (case.data or {}).items():
        path = (data / rel).resolve()
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    teacher = write_teacher(root / "teacher")
    places = {"{root}": str(root), "{data}": str(data), "{teacher}": str(teacher)}

    def fill(text: str) -> str:
        for key, value in places.items():
            text = text.replace(key, value)
        return text

    matrix = root / "matrix.toml"
    places["{matrix}"] = str(matrix)
    text = case.prepend + tiny_matrix_text(Path("{teacher}")) + case.append
    for old, new in case.change:
        assert old in text, f"{case.id}: the tiny matrix has no {old!r}"
        text = text.replace(old, new)
    matrix.write_bytes(case.raw if case.raw is not None else fill(text).encode())
    argv = [fill(a) for a in case.argv]
    if "--matrix" not in argv:
        argv += ["--matrix", str(matrix)]
    if "--data-dir" not in argv:
        argv += ["--data-dir", str(data)]
    argv += ["--results-dir", str(root / "results"), "--cache-dir", str(root / "cache")]
    capfd.readouterr()
    code = main(argv)
    out, err = capfd.readouterr()
    assert code == 2, f"{case.id}: exit {code}; stdout {out[-300:]!r}; stderr {err!r}"
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, f"{case.id}: {len(lines)} lines on stderr: {err!r}"
    return lines[0], fill(case.where)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_bad_input_gives_one_line_that_says_where_and_what(case, tmp_path, capfd):
    line, where = run_case(case, tmp_path, capfd)
    assert line.startswith("bench: error: "), line
    assert where in line, f"does not name {where!r}: {line}"
    for phrase in case.says:
        assert phrase in line, f"does not say {phrase!r}: {line}"
    for phrase in case.not_says:
        assert phrase not in line, f"a hint that does not fit the case: {line}"
