"""Every link in the README and the results pages leads somewhere, and the README's map of the
tree (its Layout section and the code paths it names) matches the tree.

Pages move (results/ is split into leaderboards, studies and benchmark pages) and modules are
split; a link that still points at the old place fails here, naming the page and the link.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target); the target may carry a "title" after a space
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...
CODE_PATH = re.compile(r"`((?:harness|plugins)/[^`\s]*)`")


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "results").rglob("*.md"))]


def markdown_links(text: str) -> list[str]:
    """The relative link and image targets of a markdown page, without #fragments; links
    inside fenced code blocks and code spans are not links."""
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    targets = []
    for match in LINK.finditer(prose):
        target = match.group(1)
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def broken_links(page: Path) -> list[str]:
    """The links of ``page`` that resolve to nothing, relative to the page's folder."""
    return [t for t in markdown_links(page.read_text()) if not (page.parent / t).exists()]


def layout_paths(readme: str) -> list[str]:
    """The paths of the README's Layout map, nested entries joined to their parent
    (``  stages/data/`` under ``harness/`` is ``harness/stages/data/``)."""
    section = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README has no Layout section"
    block = re.search(r"^```\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, "README's Layout section has no map (a ``` block)"
    paths, parent = [], ""
    for line in block.group(1).splitlines():
        entry = line.split()[0] if line.strip() else ""
        if not entry.endswith("/"):
            continue
        if line.startswith(" "):
            paths.append(parent + entry)
        else:
            parent = entry
            paths.append(entry)
    return paths


# -- the checks on the real pages ----------------------------------------------------------


def test_every_relative_link_and_image_resolves():
    broken = {str(p.relative_to(ROOT)): broken_links(p) for p in pages()}
    broken = {page: links for page, links in broken.items() if links}
    assert not broken, f"links to nothing (page: targets): {broken}"


def test_code_paths_named_in_the_readme_exist():
    named = sorted(set(CODE_PATH.findall(README.read_text())))
    missing = [path for path in named if not (ROOT / path).exists()]
    assert not missing, f"README names code paths that do not exist: {missing}"


def test_readme_layout_map_matches_the_tree():
    mapped = layout_paths(README.read_text())
    missing = [path for path in mapped if not (ROOT / path).is_dir()]
    assert not missing, f"README's Layout names folders that do not exist: {missing}"
    packages = [
        f"{p.parent.relative_to(ROOT).as_posix()}/"
        for top in ("harness", "plugins")
        for p in (ROOT / top).rglob("__init__.py")
        if p.parent not in (ROOT / "harness", ROOT / "plugins", ROOT / "harness" / "stages")
    ]
    unmapped = sorted(set(packages) - set(mapped))
    assert not unmapped, f"packages missing from README's Layout map: {unmapped}"


def test_results_index_lists_every_page_once():
    index = (ROOT / "results" / "README.md").read_text()
    first_links = re.findall(r"^\| \[[^\]]*\]\(([^)]+)\)", index, re.M)  # a table row's page
    listed = sorted(first_links)
    on_disk = sorted(
        p.relative_to(ROOT / "results").as_posix()
        for p in (ROOT / "results").rglob("*.md")
        if p.name != "README.md"
    )
    assert listed == on_disk, "results/README.md must have one table row per page"


def test_leaderboards_folder_holds_exactly_the_pages_bench_writes():
    """A page is in results/leaderboards/ if and only if it is a matrix's leaderboard."""
    for page in sorted((ROOT / "results").rglob("*.md")):
        is_board = page.read_text().startswith(f"# Leaderboard: {page.stem}\n")
        in_folder = page.parent == ROOT / "results" / "leaderboards"
        assert is_board == in_folder, f"{page.relative_to(ROOT)}: in the wrong folder"
        if is_board:
            assert (ROOT / "benchmarks" / f"{page.stem}.toml").is_file(), f"no matrix for {page}"


# -- the extractor itself, on a synthetic page ------------------------------------------------


SYNTHETIC = """# A page

See [the leaderboard](leaderboards/quick.md#sst2) and ![a plot](plots/a.png "caption").
[the web](https://example.org/x.md), [mail](mailto:a@b.c), [a section](#below),
[a folder](studies/).
`[not a link](in/a/code/span.md)`

```python
x = [inside](a/fence.md)
```
"""


def test_markdown_links_finds_links_and_images_but_not_code_or_external_targets():
    assert markdown_links(SYNTHETIC) == ["leaderboards/quick.md", "plots/a.png", "studies/"]


def test_broken_links_names_the_link_that_resolves_to_nothing(tmp_path):
    (tmp_path / "leaderboards").mkdir()
    (tmp_path / "leaderboards" / "quick.md").write_text("# Leaderboard: quick\n")
    (tmp_path / "studies").mkdir()
    page = tmp_path / "page.md"
    page.write_text(SYNTHETIC)
    assert broken_links(page) == ["plots/a.png"]
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.png").write_bytes(b"")
    assert broken_links(page) == []


def test_layout_paths_join_nested_entries_to_their_parent():
    readme = "## Layout\n\n```\nharness/   core\n  cli/     bench\nresults/   pages\n```\n"
    assert layout_paths(readme) == ["harness/", "harness/cli/", "results/"]
