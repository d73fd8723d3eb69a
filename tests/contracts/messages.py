"""Every ``raise BenchError(...)`` in harness/ and plugins/, found by an AST walk, and the
rule its message must follow: it opens with a place (see ``PLACE``).

``bench_errors`` reads each message as a template, placeholders written ``{}`` (``'{}'``
when quoted with ``!r``): an f-string, a constant, a concatenation, either branch of a
conditional, a variable assigned in the same function, or what a helper function returns.
A message made only at run time (a Ray worker's error, re-raised) has no template and
must be listed in ``DYNAMIC`` with why it still has the shape. ``test_error_messages.py``
holds the tests.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a message opens with, once each placeholder is written "{}" ("'{}'" when it is
# quoted with !r): the place comes first, so a reader of a log line knows where to look.
PLACE = re.compile(
    r"""^(?:
      \{\}                                     # {where}, {path}, {p}, a label
    | '(?:\{\}|[^']+)'                         # a quoted name
    | --?[a-z]                                 # a command-line flag
    | \[\w+\]                                  # a matrix section
    | \w+\ =\ (?:\{\}|"[^"]*")                  # an option as the matrix writes it
    | (?:[\w.+-]+\ ){1,4}(?:\{\}|'(?:\{\}|[^']+)')  # a kind, then its name
    | (?:plots|probes|annotation\ precisions)\b[^:]*\ need  # a feature that needs an optional extra
    )""",
    re.X,
)
# Messages made at run time, which no template shows: each says why it still has the shape.
DYNAMIC = {
    ("harness/execute/workers.py", "outcome['bench_error']"): "a worker's BenchError, re-raised",
    ("harness/execute/ray.py", "str(cause)"): "a Ray worker's BenchError, re-raised",
}


@dataclass(frozen=True)
class Raised:
    """One ``raise BenchError(...)``: where it is and each message it can carry."""

    file: str
    line: int
    templates: tuple[str, ...]  # "" marks a message only known at run time
    source: str


def _template(node: ast.expr | None, scope: ast.AST, tree: _Tree) -> Iterator[str]:
    """The messages ``node`` can evaluate to, placeholders as ``{}`` (``'{}'`` for !r);
    ``""`` for one only known at run time."""
    if node is None:
        yield ""
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(
            ("'{}'" if v.conversion == ord("r") else "{}")
            if isinstance(v, ast.FormattedValue)
            else str(v.value)
            for v in node.values
        )
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for left in _template(node.left, scope, tree):
            yield from (left + right for right in _template(node.right, scope, tree))
    elif isinstance(node, ast.IfExp):
        yield from _template(node.body, scope, tree)
        yield from _template(node.orelse, scope, tree)
    elif isinstance(node, ast.Name):  # message = f"..."; raise BenchError(message)
        values = [
            a.value
            for a in ast.walk(scope)
            if isinstance(a, ast.Assign)
            and any(getattr(t, "id", None) == node.id for t in a.targets)
        ]
        for value in values or [None]:
            yield from _template(value, scope, tree)
    elif isinstance(node, ast.Subscript):  # f"...".splitlines()[0]
        yield from _template(node.value, scope, tree)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):  # f"...".strip()
        yield from _template(node.func.value, scope, tree)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        # a helper that builds the message: what each function of that name returns
        for helper in tree.functions.get(node.func.id, []):
            returns = [r.value for r in ast.walk(helper) if isinstance(r, ast.Return)]
            for value in returns or [None]:
                yield from _template(value, helper, tree)
        if node.func.id not in tree.functions:
            yield ""
    else:
        yield ""


@dataclass(frozen=True)
class _Tree:
    """Parsed modules by file name, their module-level functions by name, and the names
    of the error classes: BenchError and its subclasses."""

    modules: dict[str, ast.Module]
    functions: dict[str, list[ast.FunctionDef]]
    errors: frozenset[str]


def _tree(modules: dict[str, ast.Module]) -> _Tree:
    functions: dict[str, list[ast.FunctionDef]] = {}
    errors = {"BenchError"}
    for module in modules.values():
        for node in module.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, []).append(node)
    for _ in range(3):  # subclasses of subclasses
        for module in modules.values():
            for node in ast.walk(module):
                if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", None)) in errors for b in node.bases
                ):
                    errors.add(node.name)
    return _Tree(modules, functions, frozenset(errors))


def _innermost_function(module: ast.Module, line: int) -> ast.AST:
    """The innermost function around ``line`` (its assignments build the message)."""
    around = [
        n
        for n in ast.walk(module)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.lineno <= line <= (n.end_lineno or n.lineno)
    ]
    return max(around, key=lambda n: n.lineno, default=module)


def bench_errors(sources: dict[str, str] | None = None) -> list[Raised]:
    """Every ``raise BenchError(...)`` (or of a subclass) with its messages: in
    ``sources`` ({file name: source}), by default harness/ and plugins/."""
    if sources is None:
        sources = {
            str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
            for folder in ("harness", "plugins")
            for path in sorted((ROOT / folder).rglob("*.py"))
        }
    tree = _tree({name: ast.parse(text) for name, text in sources.items()})
    found = []
    for name, module in tree.modules.items():
        for node in ast.walk(module):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            if getattr(func, "id", getattr(func, "attr", None)) not in tree.errors:
                continue
            arg = node.exc.args[0] if node.exc.args else ast.Constant("")
            templates = tuple(_template(arg, _innermost_function(module, node.lineno), tree))
            found.append(Raised(name, node.lineno, templates, ast.unparse(arg)))
    return sorted(found, key=lambda r: (r.file, r.line))


def misplaced(raised: list[Raised]) -> list[str]:
    """One line per message that does not open with a place (or has no template and is
    not in ``DYNAMIC``)."""
    bad = []
    for r in raised:
        for template in r.templates:
            if template == "" and (r.file, r.source) not in DYNAMIC:
                bad.append(f"{r.file}:{r.line}: a message no template shows: {r.source}")
            elif template and not PLACE.match(template):
                bad.append(f"{r.file}:{r.line}: {template[:70]!r}")
    return bad
