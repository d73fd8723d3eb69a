"""The house's measures, before and after a re-layout, as one markdown table.

For each source tree: modules, the largest module and class (lines), modules over 300 lines,
modules per folder (package), function-local imports of the harness's own modules (from
the core and from plugins), and import cycles (count and members; function-local imports
count). Parsing only (``benchmarks/import_graph.py``): nothing is imported or run.

    python -m benchmarks.house                                  # /tmp/basepkg vs this tree
    python -m benchmarks.house --before OLD/distill_bench       # another old flat package

The "before" tree is one folder installed as ``distill_bench`` with ``plugins/`` inside it
(the flat layout); the "after" tree is pyproject's mapping, ``distill_bench`` = harness/ and
``distill_bench.plugins`` = plugins/.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from benchmarks.import_graph import Module, cycles, local_internal_imports, parse_tree

ROOT = Path(__file__).resolve().parents[1]
TOP, PLUGINS = "distill_bench", "distill_bench.plugins"
LARGE = 300  # lines: the "about 300" target for a module


def short(name: str) -> str:
    return name.removeprefix(TOP + ".") if name != TOP else TOP


def measures(modules: Mapping[str, Module]) -> dict[str, str]:
    """Measure name -> the value shown in the table."""
    largest = max(modules.values(), key=lambda m: m.lines)
    classes = [(c.lines, f"{short(m.name)}.{c.name}") for m in modules.values() for c in m.classes]
    class_lines, class_name = max(classes, default=(0, "none"))
    local = local_internal_imports(modules, TOP)
    from_plugins = [i for i in local if i.source == PLUGINS or i.source.startswith(PLUGINS + ".")]
    found = cycles(modules)
    large = sorted((m for m in modules.values() if m.lines > LARGE), key=lambda m: -m.lines)
    rows = {
        "modules": str(len(modules)),
        "largest module (lines)": f"{largest.lines} `{short(largest.name)}`",
        "largest class (lines)": f"{class_lines} `{class_name}`",
        f"modules over {LARGE} lines": f"{len(large)}"
        + (f": {', '.join(f'{short(m.name)} {m.lines}' for m in large)}" if large else ""),
        "function-local imports of harness modules, core": str(len(local) - len(from_plugins)),
        "function-local imports of harness modules, plugins": str(len(from_plugins)),
        "import cycles": str(len(found))
        + "".join(f"; {' <-> '.join(short(n) for n in cycle)}" for cycle in found),
    }
    per_folder = Counter(m.package for m in modules.values())
    for package, count in sorted(per_folder.items()):
        rows[f"modules in `{short(package)}/`"] = str(count)
    return rows


def table(columns: Mapping[str, Mapping[str, str]]) -> str:
    """Markdown: one row per measure, one column per tree ("-" where a tree lacks a row)."""
    names = list(dict.fromkeys(name for column in columns.values() for name in column))
    fixed = [n for n in names if not n.startswith("modules in ")]
    folders = sorted(n for n in names if n.startswith("modules in "))
    lines = [
        "| measure | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name in fixed + folders:
        cells = [column.get(name, "-") for column in columns.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before",
        type=Path,
        default=Path("/tmp/basepkg/distill_bench"),
        help="the old flat package folder (plugins/ inside it)",
    )
    parser.add_argument("--harness", type=Path, default=ROOT / "harness")
    parser.add_argument("--plugins", type=Path, default=ROOT / "plugins")
    args = parser.parse_args()
    columns = {}
    if args.before.is_dir():
        columns[f"before ({args.before})"] = measures(parse_tree({TOP: args.before}))
    after = parse_tree({TOP: args.harness, PLUGINS: args.plugins})
    columns[f"after ({args.harness.name}/ + {args.plugins.name}/)"] = measures(after)
    print(table(columns))


if __name__ == "__main__":
    main()
