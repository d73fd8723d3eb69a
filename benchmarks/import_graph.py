"""Read a source tree's modules and imports with ``ast``, without importing anything.

Owns the parsing shared by the architecture guard tests (``tests/contracts/architecture.py``)
and the house measures (``benchmarks/house.py``): every ``.py`` file under a set of package
roots (``{"distill_bench": Path("harness"), "distill_bench.plugins": Path("plugins")}``, the
package-dir mapping of pyproject.toml) becomes a ``Module`` with its size, its classes and
every import it makes, with relative imports resolved and each import marked as
function-local or type-checking-only. ``cycles`` finds the import cycles among them.

How an import maps to modules (the graph the guards and measures see):

- ``import a.b.c`` and ``from a.b.c import name`` point at ``a.b.c``, the module (or the
  package's ``__init__``) that runs; ``from a.b import c`` points at ``a.b.c`` when ``c`` is
  a module in the tree, else at ``a.b``'s ``__init__`` (a name it defines or re-exports).
  An import of a package is an import of its ``__init__``.
- The parent packages' ``__init__`` files that Python runs on the way are not edges: they
  would put every package in a cycle with its own re-exports.
- Imports inside a function (``def``/``async def``, at any depth) are *local*; imports in the
  body of ``if TYPE_CHECKING:`` never run and are *type-checking* imports (kept out of cycles).
- ``importlib.import_module("...")`` strings are not imports here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One imported module, as one statement of one module names it."""

    source: str  # the importing module, dotted
    target: str  # the imported module, dotted; resolved to a module in the tree when it is one
    line: int  # first line of the import statement
    end_line: int  # its last line (a parenthesised name list spans several)
    local: bool  # inside a function: runs when the function is called
    type_checking: bool  # under ``if TYPE_CHECKING:``: never runs

    @property
    def top(self) -> str:
        return self.target.split(".")[0]


@dataclass(frozen=True)
class ClassSize:
    name: str  # qualified inside its module, e.g. "Runner" or "Outer.Inner"
    lines: int


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "distill_bench.stages.student.loop"
    path: Path
    is_package: bool  # an ``__init__.py``
    lines: int
    classes: tuple[ClassSize, ...]
    imports: tuple[Import, ...]
    source_lines: tuple[str, ...]

    @property
    def package(self) -> str:
        """The package this module's file sits in (itself for an ``__init__``)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def module_names(roots: Mapping[str, Path]) -> dict[str, tuple[Path, bool]]:
    """Every ``.py`` file under the roots: dotted name -> (path, is ``__init__``).

    A root folder nested in another (``distill_bench.plugins`` inside ``distill_bench`` in
    the old flat layout) is named by the longest matching root."""
    found: dict[str, tuple[Path, bool]] = {}
    by_folder = {Path(folder).resolve(): package for package, folder in roots.items()}
    for package, folder in roots.items():
        folder = Path(folder).resolve()
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            owner = max(
                (f for f in by_folder if path.is_relative_to(f)), key=lambda f: len(f.parts)
            )
            if owner != folder:
                continue  # named from its own, deeper root
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join([package, *parts])] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, known: Iterable[str] | Mapping[str, object]) -> str:
    """The longest prefix of ``name`` that is a module in the tree, or ``name`` itself."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in known:
            return prefix
    return name


def _statement_targets(node: ast.stmt, package: str, known: Mapping[str, object]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_resolve(alias.name, known) for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base_parts = package.split(".")
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    targets = []
    for alias in node.names:
        child = f"{base}.{alias.name}"
        targets.append(child if child in known else _resolve(base, known))
    return list(dict.fromkeys(targets))


def _walk(
    node: ast.AST, name: str, package: str, known: Mapping[str, object], local: bool, checking: bool
) -> tuple[list[Import], list[ClassSize]]:
    imports: list[Import] = []
    classes: list[ClassSize] = []

    def visit(node: ast.AST, local: bool, checking: bool, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _statement_targets(child, package, known):
                    if target != name:
                        imports.append(
                            Import(
                                source=name,
                                target=target,
                                line=child.lineno,
                                end_line=child.end_lineno or child.lineno,
                                local=local,
                                type_checking=checking,
                            )
                        )
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, True, checking, scope)
            elif isinstance(child, ast.ClassDef):
                qualified = f"{scope}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                classes.append(ClassSize(qualified, (child.end_lineno or start) - start + 1))
                visit(child, local, checking, qualified + ".")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), local, True, scope)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), local, checking, scope)
            else:
                visit(child, local, checking, scope)

    visit(node, local, checking, "")
    return imports, classes


def parse_tree(roots: Mapping[str, Path]) -> dict[str, Module]:
    """Every module under the roots, parsed (nothing is imported or run)."""
    names = module_names(roots)
    modules: dict[str, Module] = {}
    for name, (path, is_package) in sorted(names.items()):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        package = name if is_package else name.rpartition(".")[0]
        imports, classes = _walk(tree, name, package, names, local=False, checking=False)
        modules[name] = Module(
            name=name,
            path=path,
            is_package=is_package,
            lines=len(text.splitlines()),
            classes=tuple(classes),
            imports=tuple(imports),
            source_lines=tuple(text.splitlines()),
        )
    return modules


def internal_edges(modules: Mapping[str, Module]) -> dict[str, set[str]]:
    """module -> the tree's modules it imports when it runs (type-checking imports left out)."""
    return {
        name: {
            imp.target for imp in module.imports if imp.target in modules and not imp.type_checking
        }
        for name, module in modules.items()
    }


def cycles(modules: Mapping[str, Module]) -> list[list[str]]:
    """Import cycles: each strongly connected set of two or more modules (function-local
    imports count), sorted; Tarjan's algorithm, iterative so deep trees cannot overflow."""
    edges = internal_edges(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def local_internal_imports(modules: Mapping[str, Module], prefix: str) -> list[Import]:
    """Function-local import statements of modules named ``prefix`` or under it (one per
    statement, even when it names several modules)."""
    seen: dict[tuple[str, int], Import] = {}
    for module in modules.values():
        for imp in module.imports:
            internal = imp.target == prefix or imp.target.startswith(prefix + ".")
            if imp.local and internal and not imp.type_checking:
                seen.setdefault((imp.source, imp.line), imp)
    return sorted(seen.values(), key=lambda imp: (imp.source, imp.line))
