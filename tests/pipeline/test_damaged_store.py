"""A damaged results store through the commands: `bench run`, `bench run --dry-run` and
`bench report` each stop with one `bench: error:` line naming the file (exit 2) and leave its
bytes as they were; `bench store check` says what is wrong; `bench store recover` salvages
every row outside the damaged pages into a store the commands use again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from distill_bench.cli.main import main
from distill_bench.store.results import Store

from tests.helpers import tiny_matrix_text
from tests.unit.test_store import (
    break_middle_leaf,
    many_rows,
    rowids_by_key,
    sha256,
    write_real_store,
)

ROWS = 300


def garbage(path: Path) -> set[str]:
    path.write_bytes(bytes(range(256)) * 64)
    return set()  # nothing can be recovered


def truncated(path: Path) -> set[str]:
    write_real_store(path, many_rows(ROWS, matrix="tiny"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return set()  # how much survives depends on where the rows sit: checked row by row


def broken_page(path: Path) -> set[str]:
    write_real_store(path, many_rows(ROWS, matrix="tiny"))
    keys = rowids_by_key(path)
    return {keys[r] for r in break_middle_leaf(path)}


DAMAGE = {"garbage": garbage, "truncated": truncated, "broken-page": broken_page}


@pytest.fixture
def env(bench_env, tiny_teacher_dir, tmp_path):
    """The tiny matrix and its results directory."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(tiny_matrix_text(tiny_teacher_dir))
    bench_env["results"].mkdir(parents=True)
    return {**bench_env, "matrix": matrix, "store": bench_env["results"] / "bench.sqlite"}


def bench(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    return lines[0]


COMMANDS = {
    "run": ("run",),
    "dry-run": ("run", "--dry-run"),
    "report": ("report",),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", COMMANDS)
def test_damaged_store_stops_each_command_in_one_line(env, capsys, damage, command):
    """Before anything is computed or written: one line naming the file and what to do,
    exit 2, the file's bytes unchanged, no leaderboard, no stage cached."""
    DAMAGE[damage](env["store"])
    digest = sha256(env["store"])
    argv = (*COMMANDS[command], "--matrix", str(env["matrix"]))
    code, _, err = bench(capsys, *argv, "--results-dir", str(env["results"]))
    line = one_error_line(err)
    assert code == 2
    assert f"store {env['store']} " in line
    if damage == "garbage":
        assert "is not a SQLite database" in line and "move it aside" in line
    else:
        assert "is damaged" in line and "bench store recover --results-dir" in line
    assert sha256(env["store"]) == digest
    assert not (env["results"] / "leaderboards").exists()
    assert not env["cache"].exists() or not any(env["cache"].rglob("info.json"))


@pytest.mark.parametrize("damage", DAMAGE)
def test_store_check_names_the_damage(env, capsys, damage):
    """`bench store check` (quick and --full): what SQLite found, then the error, exit 2."""
    DAMAGE[damage](env["store"])
    digest = sha256(env["store"])
    for full in ((), ("--full",)):
        code, out, err = bench(
            capsys, "store", "check", "--results-dir", str(env["results"]), *full
        )
        assert code == 2 and "found" in out
        assert f"store {env['store']} " in one_error_line(err)
    assert sha256(env["store"]) == digest


@pytest.mark.parametrize("damage", ["truncated", "broken-page"])
def test_recover_salvages_every_row_off_the_damaged_pages(env, capsys, damage):
    """Every recovered row is exactly as stored; with one broken page, every row but that
    page's comes back and the count lost says so. Moved into place, the store is sound and
    the commands run again."""
    lost = DAMAGE[damage](env["store"])
    digest = sha256(env["store"])
    new = env["results"] / "recovered.sqlite"
    code, out, err = bench(
        capsys, "store", "recover", "--results-dir", str(env["results"]), "--out", str(new)
    )
    assert code == 0 and not err
    assert sha256(env["store"]) == digest
    rows = many_rows(ROWS, matrix="tiny")
    back = Store(new).rows()
    assert all(r in rows for r in back)
    if damage == "broken-page":
        assert [r.key for r in back] == [r.key for r in rows if r.key not in lost]
        assert f"recovered {ROWS - len(lost)} rows" in out and f"; {len(lost)} lost" in out
    else:
        assert 0 < len(back) < ROWS and f"recovered {len(back)} rows" in out

    env["store"].rename(env["results"] / "damaged.sqlite")
    new.rename(env["store"])
    code, out, _ = bench(capsys, "store", "check", "--results-dir", str(env["results"]))
    assert code == 0 and f"quick_check ok; {len(back)} rows in 1 matrices" in out
    code, out, _ = bench(
        capsys,
        "run",
        "--dry-run",
        "--matrix",
        str(env["matrix"]),
        "--results-dir",
        str(env["results"]),
    )
    assert code == 0 and "cells" in out


def test_recover_of_garbage_says_there_is_nothing(env, capsys):
    garbage(env["store"])
    new = env["results"] / "recovered.sqlite"
    code, _, err = bench(
        capsys, "store", "recover", "--results-dir", str(env["results"]), "--out", str(new)
    )
    assert code == 2 and "no rows to recover" in one_error_line(err)
    assert not new.exists()


def test_store_check_of_a_sound_store_counts_rows(env, capsys):
    """Rows per matrix, ok and failed, exit 0; a missing store is an error, not created."""
    from tests.unit.test_store import make_row

    store = Store(env["store"])
    for i in range(3):
        store.put(make_row(f"k{i}", matrix="tiny"))
    store.put(make_row("bad", matrix="tiny", status="failed", stage="student", error="x"))
    store.put(make_row("other", matrix="quick"))
    code, out, _ = bench(capsys, "store", "check", "--results-dir", str(env["results"]), "--full")
    assert code == 0
    assert "integrity_check ok; 5 rows in 2 matrices" in out
    assert any(line.split() == ["tiny", "3", "ok", "1", "failed"] for line in out.splitlines())
    missing = env["results"] / "none"
    code, _, err = bench(capsys, "store", "check", "--results-dir", str(missing))
    assert code == 2 and "no store at" in one_error_line(err) and not missing.exists()


ENTRY = "import sys; from distill_bench.cli.main import main; sys.exit(main())"  # `bench`


def test_the_installed_command_prints_no_traceback(env):
    """Through the real entry point, a garbage store gives exactly one line on stderr."""
    garbage(env["store"])
    argv = [
        "run",
        "--dry-run",
        "--matrix",
        str(env["matrix"]),
        "--results-dir",
        str(env["results"]),
    ]
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    one_error_line(done.stderr)


def test_damage_inside_a_row_stops_the_report_in_one_line(env, capsys):
    """Bytes changed inside a row pass the quick check on open; `bench report` reading the
    row stops with the one-line error, and the file is left as it was."""
    import dataclasses

    rows = many_rows(40, matrix="tiny")
    rows[7] = dataclasses.replace(rows[7], metrics={"primary": "MARKER-MARKER"})
    write_real_store(env["store"], rows)
    data = env["store"].read_bytes()
    env["store"].write_bytes(data.replace(b"MARKER-MARKER", b"\xff" * 13))
    digest = sha256(env["store"])
    code, _, err = bench(
        capsys, "report", "--matrix", str(env["matrix"]), "--results-dir", str(env["results"])
    )
    line = one_error_line(err)
    assert code == 2 and "is damaged (a stored text is not UTF-8" in line
    assert "bench store recover" in line
    assert sha256(env["store"]) == digest
