"""``bench list`` and ``bench plugins``: the registered components with their options,
defaults and ranges, a matrix's ``[budget]`` and ``[measure]`` fields the same way, and the
loaded plugins with where they come from. Neither imports torch: the registry builds specs
without loading any model code.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from distill_bench.cli.common import console
from distill_bench.matrix.settings import SECTIONS, field_type
from distill_bench.plugin_api.bounds import Bounds
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import load_registry, make_plugin_manager, plugin_origins
from distill_bench.plugin_api.specs import KINDS

# spec attributes shown under a component when set (frozensets as comma-separated names)
SHOWN_FLAGS = ("primary_metric", "exposes", "needs", "uses", "gold_labels", "needs_teacher")
# What `bench list WHAT` takes: a kind of component or a matrix section.
LISTABLE = (*KINDS, *SECTIONS)
SECTION_TITLES = {
    "budget": "a matrix's [budget]: how much work each stage does",
    "measure": "a matrix's [measure]: how every model is measured",
}


def knob(name: str, default: Any, type_name: str, bounds: Bounds, help: str) -> str:
    """``temperature = 2.0  (float, > 0) softmax temperature``: one option or field."""
    kind = f"{type_name}, {bounds.text()}" if bounds else type_name
    return f"      {name} = {default}  ({kind}) {help}"


def cmd_list(args) -> int:
    if args.kind and args.kind not in LISTABLE:
        raise BenchError(f"unknown kind {args.kind!r} (kinds: {', '.join(LISTABLE)})")
    out = console()
    if args.kind in SECTIONS:
        print_section(out, args.kind)
        return 0
    registry = load_registry(args.disable_plugin)
    for kind in [args.kind] if args.kind else KINDS:
        out.print(kind, style="bold")
        for name, spec in sorted(registry.specs[kind].items()):
            flags = []
            for attr in SHOWN_FLAGS:
                value = getattr(spec, attr, None)
                if value is not None and value != frozenset():
                    shown = ", ".join(sorted(value)) if isinstance(value, frozenset) else value
                    flags.append(f"{attr}={shown}")
            out.print(f"  {name}  {spec.description}")
            if flags:
                out.print(f"      {'; '.join(flags)}", style="dim")
            for opt in spec.options:
                default = "required" if opt.default is None else repr(opt.default)
                out.print(knob(opt.name, default, opt.type_name, opt.bounds, opt.help))
        out.print()
    if not args.kind:
        for section in SECTIONS:
            print_section(out, section)
    return 0


def print_section(out, section: str) -> None:
    """Every field of ``[budget]`` / ``[measure]``: type, default, range, meaning."""
    cls, table = SECTIONS[section]
    defaults = cls()
    out.print(f"[{section}]", style="bold")
    out.print(f"  {SECTION_TITLES[section]}")
    for f in fields(cls):
        value = getattr(defaults, f.name)
        default = (
            "unset" if value is None else repr(list(value) if isinstance(value, tuple) else value)
        )
        setting = table[f.name]
        out.print(knob(f.name, default, field_type(cls, f.name), setting.bounds, setting.help))
    out.print()


def cmd_plugins(args) -> int:
    out = console()
    pm = make_plugin_manager(disabled=args.disable_plugin)
    for name, origin, hooks in plugin_origins(pm):
        out.print(f"{name}: {origin}" + (f"\n    hooks: {hooks}" if hooks else ""))
    return 0


def add_list_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list",
        help="registered components' options and [budget]/[measure] fields: defaults, ranges",
    )
    p.add_argument("kind", nargs="?", help=f"one of: {', '.join(LISTABLE)}")
    p.set_defaults(func=cmd_list)


def add_plugins_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="loaded plugins and where they come from")
    p.set_defaults(func=cmd_plugins)
