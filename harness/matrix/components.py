"""An axis entry of a matrix resolved against its plugin's spec: every option present and typed.

Pure, no torch. The planner resolves every entry once; cells, stage keys and rows read the
resolved ``Component``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill_bench.matrix.model import COMPOSE, Entry
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import SINGULAR


@dataclass(frozen=True)
class Component:
    """An axis entry resolved against its spec: every option present and typed."""

    kind: str
    plugin: str
    name: str
    options: tuple[tuple[str, Any], ...]
    # options at a default their spec keeps out of stage keys (Option.keyed_at_default)
    unkeyed: tuple[str, ...] = ()

    def config(self) -> dict[str, Any]:
        """What stage keys and rows record of the entry."""
        options = {k: v for k, v in self.options if k not in self.unkeyed}
        return {"plugin": self.plugin, "options": options}

    def options_dict(self) -> dict[str, Any]:
        return dict(self.options)


def resolve(entry: Entry, registry: Registry, where: str) -> Component:
    if entry.plugin == COMPOSE:
        return _resolve_composition(entry, registry, where)
    try:
        spec = registry.get(entry.kind, entry.plugin)
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    options = spec.resolve(dict(entry.options), f"{where}: {SINGULAR[entry.kind]} {entry.name!r}")
    unkeyed = tuple(
        o.name for o in spec.options if not o.keyed_at_default and options[o.name] == o.default
    )
    return Component(entry.kind, entry.plugin, entry.name, tuple(sorted(options.items())), unkeyed)


def _resolve_composition(entry: Entry, registry: Registry, where: str) -> Component:
    parts = []
    for plugin, weight, options in dict(entry.options)["parts"]:
        part = resolve(Entry("losses", plugin, f"{entry.name}/{plugin}", options), registry, where)
        parts.append((plugin, weight, part.options))
    stages = tuple(item for item in entry.options if item[0] in ("stages", "unfreeze"))
    return Component("losses", COMPOSE, entry.name, (("parts", tuple(parts)), *stages))
