"""Plugin manager and the registry of specs it yields.

Built-in plugins are ordinary hookimpl modules that the harness registers itself;
third-party ones come in through the ``distill_bench`` entry-point group. Nothing here
is global: ``make_plugin_manager()`` builds a fresh manager, so tests build their own.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pluggy
from distill_bench.plugin_api import hookspecs
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import KINDS, SINGULAR, SPEC_TYPES, Spec

BUILTIN_PLUGINS: tuple[str, ...] = tuple(f"distill_bench.plugins.{kind}" for kind in KINDS)
DISABLE_ENV = "BENCH_DISABLE_PLUGINS"  # comma-separated plugin names to block


def make_plugin_manager(
    *,
    builtins: bool = True,
    entrypoints: bool = True,
    disabled: Iterable[str] = (),
    extra: Iterable[object] = (),
) -> pluggy.PluginManager:
    """A fresh manager: built-ins, then entry points, then ``extra`` plugin objects."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    env_disabled = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",")]
    for name in [*disabled, *env_disabled]:
        if name:
            pm.set_blocked(name)
    if builtins:
        for module_name in BUILTIN_PLUGINS:
            if not pm.is_blocked(module_name):
                pm.register(importlib.import_module(module_name), name=module_name)
    if entrypoints:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    for plugin in extra:
        pm.register(plugin)
    return pm


@dataclass(frozen=True)
class Registry:
    """Every registered spec by kind and name, and which plugin registered it."""

    specs: Mapping[str, Mapping[str, Spec]]
    sources: Mapping[tuple[str, str], str]

    def get(self, kind: str, name: str) -> Spec:
        try:
            return self.specs[kind][name]
        except KeyError:
            available = ", ".join(sorted(self.specs.get(kind, {}))) or "none"
            raise BenchError(
                f"unknown {SINGULAR.get(kind, kind)} {name!r} (available: {available})"
            ) from None


def collect(pm: pluggy.PluginManager) -> Registry:
    """Call every plugin's register hooks; a name registered twice raises naming both."""
    specs: dict[str, dict[str, Spec]] = {kind: {} for kind in KINDS}
    sources: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        caller = getattr(pm.hook, f"register_{kind}")
        # Call each implementation on its own so every spec knows its plugin.
        for impl in caller.get_hookimpls():  # registration order (pluggy calls LIFO)
            source = impl.plugin_name

            def register(spec: Spec, *, _kind: str = kind, _source: str = source) -> None:
                expected = SPEC_TYPES[_kind]
                if not isinstance(spec, expected):
                    raise TypeError(
                        f"plugin {_source!r}: register_{_kind} got {type(spec).__name__}, "
                        f"expected {expected.__name__}"
                    )
                previous = sources.get((_kind, spec.name))
                if previous is not None:
                    raise BenchError(
                        f"{SINGULAR[_kind]} {spec.name!r} is registered twice: "
                        f"by {previous!r} and by {_source!r}"
                    )
                specs[_kind][spec.name] = spec
                sources[(_kind, spec.name)] = _source

            impl.function(register=register)
    return Registry(specs=specs, sources=sources)


def load_registry(disabled: Iterable[str] = ()) -> Registry:
    """The registry a CLI command uses: built-ins plus installed plugins."""
    return collect(make_plugin_manager(disabled=disabled))


def plugin_origins(pm: pluggy.PluginManager) -> list[tuple[str, str, str]]:
    """(plugin name, where it comes from, hooks it implements) for ``bench plugins``."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            rows.append((name, "blocked", ""))
            continue
        dist = dists.get(id(plugin))
        if dist is not None:
            origin = f"entry point of {dist.project_name} {dist.version}"
        elif name in BUILTIN_PLUGINS:
            origin = "built-in"
        else:
            origin = "registered directly"
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        module_file = getattr(plugin, "__file__", None)
        rows.append(
            (name, f"{origin} ({module_file})" if module_file else origin, ", ".join(hooks))
        )
    return rows
