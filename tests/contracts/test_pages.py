"""The page rule: every committed leaderboard is exactly what its committed rows render to.

``bench run`` / ``bench report`` write ``results/leaderboards/<matrix>.rows.json`` beside
each page. Here every page is re-rendered from its rows file with the report code of this
commit and compared byte for byte, so a hand-edited figure, or a page left behind by a
change to the report, fails. And on every page, rows file or not, a ``*`` (a gain beyond
noise) sits next to an interval that excludes 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from distill_bench.matrix.model import load_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import load_registry
from distill_bench.report.page import page_markdown
from distill_bench.store.rows_file import ROWS_SUFFIX, read_rows_file

ROOT = Path(__file__).resolve().parents[2]
LEADERBOARDS = ROOT / "results" / "leaderboards"
PAGES = sorted(LEADERBOARDS.glob("*.md"))
GAIN = re.compile(r"([+-]\d+\.\d) \[([+-]\d+\.\d+), ([+-]\d+\.\d+)\]( \*)?")


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_is_what_its_rows_render(page, registry, monkeypatch):
    rows_file = page.with_name(page.stem + ROWS_SUFFIX)
    # every page carries its rows (the last pages without, rendered before rows files
    # existed, were re-run on 2026-11-30): a page nobody can re-render is not committed
    assert rows_file.exists(), f"{page.name}: no {rows_file.name} beside it to re-render it from"
    matrix_name, rows = read_rows_file(rows_file)
    assert matrix_name == page.stem
    text = page.read_text()
    # the matrix as the page names it (a path relative to the repository root)
    matrix_path = re.search(r"^Matrix `([^`]+)`", text, re.M).group(1)
    monkeypatch.chdir(ROOT)
    plan = make_plan(load_matrix(matrix_path), registry, "")
    links = re.findall(r"^!\[(.*?)\]\((plots/[^)]+)\)$", text, re.M)
    assert page_markdown(plan, rows, links) == text, (
        f"{page.name} is not what {rows_file.name} renders to: re-render it with "
        f"`bench store import {rows_file.relative_to(ROOT)}` and `bench report --matrix {matrix_path}`"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_star_sits_next_to_an_interval_excluding_zero(page):
    for line in page.read_text().splitlines():
        if not line.startswith("|"):
            continue
        for cell in line.strip("|").split("|"):
            if not cell.strip().endswith("*"):
                continue
            gain = GAIN.search(cell)
            assert gain and gain.group(4), f"{page.name}: a star without an interval: {cell!r}"
            low, high = float(gain.group(2)), float(gain.group(3))
            assert low > 0 or high < 0, f"{page.name}: a star on an interval holding 0: {cell!r}"


def test_every_rows_file_has_its_page():
    for rows_file in LEADERBOARDS.glob(f"*{ROWS_SUFFIX}"):
        assert rows_file.with_name(rows_file.name.removesuffix(ROWS_SUFFIX) + ".md").exists()
