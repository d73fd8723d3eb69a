"""The README stays true: its plugin example installs, lists and runs; its leaderboard is a
committed leaderboard; CI runs its test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from distill_bench.store.results import Store

from tests.helpers import tiny_matrix_text

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def block_after(marker: str, language: str) -> str:
    match = re.search(re.escape(marker) + r".*?```" + language + r"\n(.*?)```", README, re.S)
    assert match, f"README has no ```{language} block after {marker!r}"
    return match.group(1)


def install_readme_plugin(site: Path) -> None:
    """What `pip install -e .` of the README's plugin leaves behind: the module and a
    dist-info whose entry points come from the README's pyproject block."""
    (site / "distill_bench_gru.py").write_text(
        block_after("<!-- example-plugin: distill_bench_gru.py -->", "python")
    )
    project = tomllib.loads(block_after("<!-- example-pyproject -->", "toml"))["project"]
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = ["[distill_bench]"] + [
        f"{k} = {v}" for k, v in project["entry-points"]["distill_bench"].items()
    ]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")


def bench(*args: str, site: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "distill_bench.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_readme_plugin_is_listed_and_runs(tmp_path, tiny_teacher_dir, tiny_data_dir):
    site = tmp_path / "site"
    site.mkdir()
    install_readme_plugin(site)

    listed = bench("list", "students", site=site)
    assert listed.returncode == 0, listed.stderr
    assert "gru" in listed.stdout and "hidden_size = 128" in listed.stdout
    plugins = bench("plugins", site=site)
    assert "entry point of distill-bench-gru 0.1.0" in plugins.stdout

    # A real run in a subprocess, measured in a spawned subprocess too (isolate = true),
    # so the entry point must be found by both.
    matrix = tmp_path / "gru.toml"
    matrix.write_text(
        tiny_matrix_text(tiny_teacher_dir, students=("gru",), losses=("kd-soft",), isolate=True)
    )
    env = {"BENCH_DATA_DIR": str(tiny_data_dir), "BENCH_CACHE_DIR": str(tmp_path / "cache")}
    ran = bench(
        "run",
        "--matrix",
        str(matrix),
        "--results-dir",
        str(tmp_path / "results"),
        site=site,
        env_extra=env,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    rows = Store(tmp_path / "results" / "bench.sqlite").rows("tiny")
    gru = [r for r in rows if r.student == "gru"]
    assert len(gru) == 1 and gru[0].status == "ok"
    assert gru[0].measurements["isolated"] is True and gru[0].measurements["peak_rss_mb"] >= 0
    assert "| gru " in (tmp_path / "results" / "leaderboards" / "tiny.md").read_text()


def test_readme_leaderboard_is_a_committed_leaderboard():
    """The README's leaderboard block (``<!-- leaderboard: NAME -->``) is copied from
    results/leaderboards/NAME.md: every table line is in that page, and its plot is one the
    page shows."""
    block = re.search(r"<!-- leaderboard: ([\w.-]+) -->\n(.*?)<!-- /leaderboard -->", README, re.S)
    assert block, "README has no leaderboard block"
    name, text = block.groups()
    page = ROOT / "results" / "leaderboards" / f"{name}.md"
    board = page.read_text()
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table and all(line in board for line in table), f"README's table is not {page}'s"
    (plot,) = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert plot.startswith("results/leaderboards/plots/"), plot
    assert f"](plots/{Path(plot).name})" in board, f"{page} does not show {plot}"


def test_ci_runs_the_readme_test_command():
    command = block_after("Set up and run the tests", "bash").strip().split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci, f".ci/run does not run the README's test command {command!r}"


def test_every_toml_block_in_the_readme_parses():
    """A reader copies these into a matrix file: each must be valid TOML (an inline table
    spanning lines is not, and the files example was)."""
    blocks = re.findall(r"```toml\n(.*?)```", README, re.S)
    assert len(blocks) >= 5
    for block in blocks:
        tomllib.loads(block)
