"""The house rules as checks over a parsed source tree: cycles, layers, torch, packages.

Each ``*_violations`` function takes the modules ``benchmarks.import_graph.parse_tree``
read and returns one readable line per breach (empty when the rule holds), so the guard
tests in ``test_architecture.py`` run them on the real tree and on small synthetic trees
that must fail. The rules (DESIGN.md, "Layout: layers you can see"):

- no import cycles among the harness's and plugins' modules, function-local imports
  included (type-checking-only imports never run and are left out);
- the core's layers, lowest first: ``LAYERS``. A module imports only its own layer or lower.
  The top-level ``distill_bench/__init__.py`` is the public API plugin authors import
  (``from distill_bench import Option, hookimpl``): it may import ``plugin_api`` only and
  ranks as ``plugin_api``, plus ``TOP_LAZY`` inside a function (``distill_bench.load_student``,
  imported on first use, so ``import distill_bench`` stays as light as it was). Every other
  core module must sit in a layer.
- the core never imports ``distill_bench.plugins``;
- plugins import only the public API, ``PLUGIN_IMPORTS``: the top level, ``plugin_api``,
  ``stages`` (the building blocks: batching, checkpoints, annotators), each other, and two
  allowances: ``distill_bench.matrix.model``, whose ``Budget`` a teacher's ``finetune``
  receives (a teacher reads its epochs, batch size and learning rate from it), and
  ``distill_bench.store.cache``, whose root and checksums hold a packaged model extracted once;
- ``TORCH_FREE`` layers and ``TORCH_FREE_MODULES`` import no torch (nor transformers, which imports it), at module
  level or in a function, directly or through what they import at module level;
- every package with an ``__init__.py`` is in pyproject's ``[tool.setuptools] packages``
  and every listed package exists;
- a function-local import of a core module says why in a comment on its line or the line
  above (it should exist only to keep torch out of a torch-free path).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from benchmarks.import_graph import Module, cycles

ROOT = Path(__file__).resolve().parents[2]
TOP = "distill_bench"
PLUGINS = "distill_bench.plugins"
LAYERS: tuple[str, ...] = (
    "plugin_api",
    "matrix",
    "store",
    "report",
    "analysis",
    "stages",
    "execute",
    "cli",
)
TORCH_FREE: tuple[str, ...] = ("plugin_api", "matrix", "report", "analysis")
# modules of other layers that must stay torch-free: an exported student's loader (a
# service predicts with onnxruntime and tokenizers alone) and the tokenisation it shares,
TORCH_FREE_MODULES: tuple[str, ...] = (
    "distill_bench.stages.tokens",
    "distill_bench.stages.export.runtime",
    # and what `bench analyze --dry-run` plans probes with: keys, the probe-set builders
    "distill_bench.stages.probe.plan",
    "distill_bench.stages.probe.tasks",
)
# what the public API may import inside a function (lazily): the exported student's loader
TOP_LAZY: tuple[str, ...] = ("distill_bench.stages.export.runtime",)
TORCH_MODULES: tuple[str, ...] = ("torch", "transformers", "safetensors.torch")
# What a plugin may import from distill_bench: each entry and everything under it.
PLUGIN_IMPORTS: tuple[str, ...] = (
    "distill_bench.plugin_api",
    "distill_bench.stages",
    "distill_bench.plugins",
    "distill_bench.matrix.model",  # the Budget a teacher's finetune receives
    # where a packaged model is extracted once (mpnet-base's split zip): the stage cache's
    # root and its checksum helper, so the plugin's copy lives and is checked like a stage
    "distill_bench.store.cache",
)


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def roots_from_pyproject(root: Path = ROOT) -> dict[str, Path]:
    """pyproject's package-dir mapping: package name -> its folder."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {package: root / folder for package, folder in config["package-dir"].items()}


def listed_packages(root: Path = ROOT) -> list[str]:
    return tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def layer_of(name: str) -> str | None:
    """The core layer of a ``distill_bench`` module; None for plugins, outsiders and the
    top-level API (which ranks as ``plugin_api``, see ``rank``)."""
    parts = name.split(".")
    if parts[0] != TOP or under(name, PLUGINS) or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def rank(name: str) -> int | None:
    if name == TOP:
        return LAYERS.index("plugin_api")
    layer = layer_of(name)
    return None if layer is None else LAYERS.index(layer)


def _where(module: Module, line: int) -> str:
    return f"{module.name}:{line}"


def cycle_violations(modules: Mapping[str, Module]) -> list[str]:
    return [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(modules)]


def layer_violations(modules: Mapping[str, Module]) -> list[str]:
    """Breaches of the layer order, of plugins-only-use-the-public-API, and of the core
    never importing plugins."""
    found = []
    for module in modules.values():
        if not under(module.name, TOP):
            continue
        is_plugin = under(module.name, PLUGINS)
        if not is_plugin and module.name != TOP and layer_of(module.name) is None:
            found.append(f"{module.name}: in no layer (layers: {', '.join(LAYERS)})")
            continue
        for imp in module.imports:
            target = imp.target
            if not under(target, TOP) or target == module.name:
                continue
            where = _where(module, imp.line)
            if is_plugin:
                if target != TOP and not any(under(target, ok) for ok in PLUGIN_IMPORTS):
                    found.append(
                        f"{where}: plugin imports {target} (plugins use only distill_bench, "
                        f"{', '.join(PLUGIN_IMPORTS)})"
                    )
            elif under(target, PLUGINS):
                found.append(f"{where}: the core imports the plugin module {target}")
            elif module.name == TOP:
                lazy = imp.local and target in TOP_LAZY
                if not under(target, "distill_bench.plugin_api") and not lazy:
                    found.append(f"{where}: the public API imports {target} (plugin_api only)")
            else:
                own, theirs = rank(module.name), rank(target)
                if theirs is None:
                    found.append(f"{where}: imports {target}, which is in no layer")
                elif theirs > own:
                    found.append(
                        f"{where}: {layer_of(module.name)} imports {target} "
                        f"({LAYERS[theirs]} is a higher layer)"
                    )
    return sorted(found)


def _imports_torch(module: Module, include_local: bool) -> list[int]:
    return [
        imp.line
        for imp in module.imports
        if not imp.type_checking
        and (include_local or not imp.local)
        and any(under(imp.target, torch) for torch in TORCH_MODULES)
    ]


def torch_violations(modules: Mapping[str, Module]) -> list[str]:
    """Torch in a torch-free layer: imported directly (anywhere in the module), or pulled in
    by a module it imports at module level."""
    found = []
    eager = {
        name: {
            imp.target
            for imp in module.imports
            if imp.target in modules and not imp.local and not imp.type_checking
        }
        for name, module in modules.items()
    }
    for module in modules.values():
        if layer_of(module.name) not in TORCH_FREE and module.name not in TORCH_FREE_MODULES:
            continue
        found += [
            f"{_where(module, line)}: imports torch in a torch-free layer"
            for line in _imports_torch(module, include_local=True)
        ]
        seen, todo = set(), list(eager[module.name])
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if _imports_torch(modules[name], include_local=False):
                found.append(f"{module.name}: imports torch through {name} (at module level)")
            todo += eager[name]
    return sorted(found)


def package_violations(modules: Mapping[str, Module], packages: Iterable[str]) -> list[str]:
    """Packages on disk and pyproject's list, compared both ways."""
    on_disk = {name for name, module in modules.items() if module.is_package}
    listed = set(packages)
    return [
        f"{p}: has an __init__.py, missing from pyproject's packages"
        for p in sorted(on_disk - listed)
    ] + [f"{p}: listed in pyproject's packages, no such package" for p in sorted(listed - on_disk)]


def _explained(module: Module, line: int) -> bool:
    """A comment on the import's first line, or on the line above the run of import
    statements it belongs to (one comment may explain a group of imports)."""
    lines = module.source_lines
    starts_by_end = {imp.end_line: imp.line for imp in module.imports}
    if "#" in lines[line - 1]:
        return True
    while line - 1 in starts_by_end:  # the statement above is an import too: climb over it
        line = starts_by_end[line - 1]
        if "#" in lines[line - 1]:
            return True
    return line >= 2 and lines[line - 2].strip().startswith("#")


def local_import_comment_violations(modules: Mapping[str, Module]) -> list[str]:
    """Function-local imports of core modules, from core modules, without a comment saying
    why (on the import line, or above its group of imports)."""
    found = []
    for module in modules.values():
        if not under(module.name, TOP) or under(module.name, PLUGINS):
            continue
        for imp in module.imports:
            if not imp.local or imp.type_checking or not under(imp.target, TOP):
                continue
            if not _explained(module, imp.line):
                found.append(f"{_where(module, imp.line)}: function-local import of {imp.target}")
    return sorted(set(found), key=lambda v: (v.split(":")[0], int(v.split(":")[1])))
