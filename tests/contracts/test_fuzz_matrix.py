"""Fuzzing ``bench run --dry-run`` with generated matrices: a plan, or one error line.

Three sources of matrices: documents of random keys and values (every TOML type, nested
tables, Unicode, huge and non-finite numbers, empty strings), structurally valid
matrices (every committed ``benchmarks/*.toml`` and a tiny one) with one value changed,
removed or added, and those files' bytes damaged. Each runs in-process through
``distill_bench.cli.main`` against a tiny copy of every dataset, and the contract is the
same for all: either exit 0 with a plan on stdout and nothing on stderr, or exit 2 with
exactly one ``bench: error:`` line naming where, and no traceback; in both cases nothing
is written (no store, no cache entry, no lock file, nothing beside the matrix).

Every failing example the fuzzer found is kept in ``corpus/matrices/`` and replayed by
``test_corpus_matrix``. ``BENCH_FUZZ_EXAMPLES=2000`` runs a deeper search.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from distill_bench.cli import main
from distill_bench.matrix.model import Budget, MeasureConfig
from distill_bench.plugin_api.registry import load_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.fuzz_inputs import to_toml, write_dataset_files, write_teacher
from tests.helpers import tiny_matrix_text

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus" / "matrices"
EXAMPLES = int(os.environ.get("BENCH_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a plan takes tens of milliseconds; a slow CI machine must not flake
    derandomize=True,  # the same examples on every run: CI never finds something new by luck
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # capfd is read and cleared per example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)
REGISTRY = load_registry()
TEACHER = "tiny-teacher"  # the hf teacher of the tiny matrix: a folder beside the data

# -- matrices to start from -----------------------------------------------------------------

BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.toml"))
# {teacher} is filled in per example: the tiny matrix's hf teacher folder
TINY = tiny_matrix_text(Path("{teacher}")).replace('"{teacher}"', '"TEACHER_DIR"')
BASES: dict[str, str] = {p.name: p.read_text(encoding="utf-8") for p in BENCHMARKS} | {
    "tiny.toml": TINY
}
AXES = ("datasets", "teachers", "students", "losses", "augmenters", "seeds")
KNOWN_KEYS = (*AXES, "name", "description", "budget", "measure", "options")

# -- strategies ------------------------------------------------------------------------------

HUGE = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, -(10**30)]
SCALARS = st.one_of(
    st.integers(),
    st.sampled_from(HUGE),
    st.floats(),  # nan and inf included
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, 0.5, 1.5]),
    st.text(max_size=20),
    st.sampled_from(
        ["", " ", "0", "-1", "none", "fp32", "x" * 3000, "\u00e9\u4e2d\U0001f642", "a\nb"]
    ),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# every name a matrix can hold: top-level keys, [budget] / [measure] fields, plugin options
NAMES = sorted(
    {*KNOWN_KEYS, *(f.name for cls in (Budget, MeasureConfig) for f in fields(cls))}
    | {o.name for kind in REGISTRY.specs.values() for spec in kind.values() for o in spec.options}
    | {name for kind in REGISTRY.specs.values() for name in kind}
)
KEYS = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))


def near(value: Any) -> st.SearchStrategy:
    """Values of ``value``'s type at the edges: zero, negative, huge, non-finite, empty,
    another plugin's name. They pass a type check, so only a range check stops them."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.sampled_from(HUGE) | st.integers(-3, 3) | st.integers()
    if isinstance(value, float):
        return st.sampled_from([0.0, -0.0, -1.0, 1.0, 2.0, 1e308, -1e-300]) | st.floats()
    if isinstance(value, str):
        return st.sampled_from(["", " ", "x" * 500, "\u00e9\U0001f642", *NAMES]) | st.text()
    if isinstance(value, list):
        return st.just([]) | st.lists(near(value[0]) if value else VALUES, max_size=3)
    return VALUES


def nodes(obj: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every node under ``obj`` (dict keys and list indices), pre-order."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, child in items:
        yield (*path, key)
        yield from nodes(child, (*path, key))


def mutate(doc: dict, path: tuple, how: str, value: Any, key: str) -> dict:
    """``doc`` (a copy) with the node at ``path`` replaced, removed, given a sibling or
    renamed; ``how`` says which."""
    doc = json.loads(json.dumps(doc, default=str))  # a deep copy (dates become strings)
    *parents, last = path
    container = doc
    for step in parents:
        container = container[step]
    if how == "replace":
        container[last] = value
    elif how == "remove":
        del container[last]
    elif how == "add":
        if isinstance(container, list):
            container.insert(last, value)
        else:
            container[key] = value
    elif how == "rename" and isinstance(container, dict):
        container[key] = container.pop(last)
    return doc


@st.composite
def mutated_matrices(draw) -> str:
    """A committed (or the tiny) matrix with one node changed."""
    doc = tomllib.loads(BASES[draw(st.sampled_from(sorted(BASES)))])
    paths = list(nodes(doc))
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["near", "near", "replace", "remove", "add", "rename"]))
    old = doc
    for step in path:
        old = old[step]
    value = draw(near(old) if how == "near" else VALUES)
    return to_toml(mutate(doc, path, "replace" if how == "near" else how, value, draw(KEYS)))


@st.composite
def random_matrices(draw) -> str:
    """Random keys (the known ones likely) and values: mostly wrong at the top level."""
    return to_toml(draw(st.dictionaries(KEYS, VALUES, max_size=8)))


@st.composite
def damaged_bytes(draw) -> bytes:
    """A matrix file's bytes cut short or with random bytes spliced in."""
    data = BASES[draw(st.sampled_from(sorted(BASES)))].encode()
    at = draw(st.integers(0, len(data)))
    if draw(st.booleans()):
        return data[:at]
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


MATRICES = st.one_of(
    mutated_matrices(),
    mutated_matrices(),
    mutated_matrices(),
    random_matrices(),
    damaged_bytes(),
)

# -- the contract --------------------------------------------------------------------------


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def dry_run(matrix: str | bytes, capfd) -> str:
    """Run ``bench run --dry-run`` on ``matrix``, check the contract and return what it
    printed: the error line, else the plan."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_dataset_files(root / "data")
        teacher = write_teacher(root / TEACHER)
        if isinstance(matrix, str):
            matrix = matrix.encode("utf-8", "surrogatepass")
        matrix = matrix.replace(b"TEACHER_DIR", str(teacher).encode())
        path = root / "matrices" / "fuzz.toml"
        path.parent.mkdir()
        path.write_bytes(matrix)
        before = tree(root)
        capfd.readouterr()
        code = main(
            ["run", "--matrix", str(path), "--dry-run", "--data-dir", str(data)]
            + ["--results-dir", str(root / "results"), "--cache-dir", str(root / "cache")]
        )
        out, err = capfd.readouterr()
        assert "Traceback" not in out + err
        if code == 0:
            assert err == "", f"a plan, and on stderr: {err!r}"
            assert out.startswith("matrix "), out[:200]
        else:
            assert code == 2, f"exit {code}: {err!r}"
            lines = err.splitlines()
            assert len(lines) == 1, f"{len(lines)} lines on stderr: {err[:500]!r}"
            assert lines[0].startswith("bench: error: "), lines[0]
            assert str(root) in lines[0] or lines[0].startswith(
                ("bench: error: dataset '", "bench: error: teacher")
            ), f"names no place: {lines[0][:300]!r}"
            # it may quote the file's own text back, never much more than that
            assert len(lines[0]) < len(matrix) + 1000, f"an error of {len(lines[0])} characters"
        after = tree(root)
        assert after == before, f"written: {sorted(set(after.items()) - set(before.items()))}"
        return err or out


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BASES))
def test_every_base_matrix_plans(name, capfd):
    """The starting points are valid: mutations start from a plan (or from the one error of
    an optional extra this machine lacks, such as the mpnet-base wheels)."""
    printed = dry_run(BASES[name], capfd)
    assert printed.startswith("matrix ") or " needs " in printed and "install" in printed, printed


def corpus() -> list:
    """Every corpus file; one whose header has ``# xfail: <why>`` is a known, reported
    failure (strict: fixing it turns the test red until the line goes)."""
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        header = path.read_text(errors="replace").splitlines()[:3]
        why = next((h.removeprefix("# xfail: ") for h in header if h.startswith("# xfail: ")), None)
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        cases.append(pytest.param(path, marks=marks, id=path.stem))
    return cases


@pytest.mark.parametrize("case", corpus())
def test_corpus_matrix(case, capfd):
    """Matrices the fuzzer (or a look at what it let through) once failed on: each meets
    the contract, and gives what its first line expects: ``# expect: plan`` or
    ``# expect: error: <words of the error line>``."""
    data = case.read_bytes()
    expect = data.split(b"\n", 1)[0].decode().removeprefix("# expect: ")
    printed = dry_run(data, capfd)
    if expect == "plan":
        assert printed.startswith("matrix "), printed
    else:
        assert expect.startswith("error: "), f"{case.name}: no '# expect:' line"
        assert expect.removeprefix("error: ") in printed, printed


def test_the_corpus_is_there():
    assert len(list(CORPUS.glob("*.toml"))) >= 5


@FUZZ
@given(matrix=MATRICES)
def test_generated_matrix(matrix, capfd):
    dry_run(matrix, capfd)
