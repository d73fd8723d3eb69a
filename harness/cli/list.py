"""``bench list`` and ``bench plugins``: the registered components with their options and
defaults, and the loaded plugins with where they come from. Neither imports torch: the
registry builds specs without loading any model code.
"""

from __future__ import annotations

import argparse

from distill_bench.cli.common import console
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import load_registry, make_plugin_manager, plugin_origins
from distill_bench.plugin_api.specs import KINDS

# spec attributes shown under a component when set (frozensets as comma-separated names)
SHOWN_FLAGS = ("primary_metric", "exposes", "needs", "uses", "gold_labels", "needs_teacher")


def cmd_list(args) -> int:
    registry = load_registry(args.disable_plugin)
    if args.kind and args.kind not in KINDS:
        raise BenchError(f"unknown kind {args.kind!r} (kinds: {', '.join(KINDS)})")
    out = console()
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
                out.print(f"      {opt.name} = {default}  ({opt.type.__name__}) {opt.help}")
        out.print()
    return 0


def cmd_plugins(args) -> int:
    out = console()
    pm = make_plugin_manager(disabled=args.disable_plugin)
    for name, origin, hooks in plugin_origins(pm):
        out.print(f"{name}: {origin}" + (f"\n    hooks: {hooks}" if hooks else ""))
    return 0


def add_list_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="registered components, their options and defaults")
    p.add_argument("kind", nargs="?", help=f"one of: {', '.join(KINDS)}")
    p.set_defaults(func=cmd_list)


def add_plugins_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="loaded plugins and where they come from")
    p.set_defaults(func=cmd_plugins)
