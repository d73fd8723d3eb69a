"""The matrix file: axes of components, a budget, measurement settings. Pure data.

    name = "quick"                      # optional; defaults to the file's stem
    datasets = ["sst2", "cola"]
    teachers = ["minilm-l6"]
    students = ["mlp", {name = "bilstm-64", plugin = "bilstm", hidden_size = 64}]
    losses = ["ce-hard", "kd-soft"]
    augmenters = ["none"]
    seeds = [0]
    teacher_seeds = [0, 1, 2]           # optional: students of every seed from each teacher

    exclude = [{loss = "kd-soft", student = "mlp"}]    # optional: cells left out of the product

    [assistants]                        # optional: mlp also learns from the bilstm-64 student
    mlp = {student = "bilstm-64", loss = "kd-soft"}   # (its kd-soft cell) instead of the teacher

    [budget]                            # `bench list budget`: each field, default, range
    max_train_examples = 2000

    [measure]                           # `bench list measure`
    threads = 2

    [options.losses.kd-soft]            # options for every entry that uses this plugin
    temperature = 4.0

Validation here is structural (types, known keys, non-empty axes) plus the range of every
``[budget]`` / ``[measure]`` field and seed (``settings.py``); the planner checks names and
options against the registered specs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from distill_bench.matrix.exclude import Exclusion, parse_exclusions

# Budget and MeasureConfig live in settings.py beside their ranges; stages and plugins
# import them from here (a teacher's finetune receives the Budget), so they stay exported.
from distill_bench.matrix.settings import ANNOTATE_PRECISIONS as ANNOTATE_PRECISIONS
from distill_bench.matrix.settings import MEASURE_VARIANTS as MEASURE_VARIANTS
from distill_bench.matrix.settings import SEED_BOUNDS, check_settings
from distill_bench.matrix.settings import Budget as Budget
from distill_bench.matrix.settings import MeasureConfig as MeasureConfig
from distill_bench.plugin_api.bounds import Bounds
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import KINDS

AXES: tuple[str, ...] = (*KINDS, "seeds")


@dataclass(frozen=True)
class Entry:
    """One value on an axis: a plugin, the name it shows under, options from the file."""

    kind: str
    plugin: str
    name: str
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Assistant:
    """A teacher assistant (Mirzadeh et al. 2019): student entry ``student`` also learns
    from the cell of student entry ``via`` trained with loss entry ``loss``, in the same
    (dataset, teacher, augmenter, seeds), instead of from the teacher."""

    student: str
    via: str
    loss: str


@dataclass(frozen=True)
class Matrix:
    name: str
    path: str
    axes: dict[str, tuple[Entry, ...]]
    seeds: tuple[int, ...]
    budget: Budget
    measure: MeasureConfig
    description: str = ""
    # Several teachers per (dataset, teacher entry), one per seed here, each distilled into
    # every student seed: the report then separates the teacher's spread from the student's.
    # None: [budget].teacher_seed decides (one teacher, or one per student seed).
    teacher_seeds: tuple[int, ...] | None = None
    assistants: tuple[Assistant, ...] = ()
    exclude: tuple[Exclusion, ...] = ()  # cells of the product not planned (exclude.py)

    def teacher_seed_choices(self) -> tuple[int | None, ...]:
        """The teacher seeds cells are planned over; (None,): one per student seed."""
        if self.teacher_seeds is not None:
            return self.teacher_seeds
        return (self.budget.teacher_seed,)


def _typed_section(cls: type, raw: Any, where: str) -> Any:
    """``raw`` (a TOML table) as ``cls``: known fields only, each of its field's type.
    Ranges are checked after, by ``_checked_budget`` / ``_checked_measure``."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise BenchError(f"{where}: must be a table")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise BenchError(f"{where}: unknown field {key!r} (fields: {', '.join(known)})")
        default = getattr(cls(), key)
        want = type(default) if default is not None else int
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if want is tuple:  # TOML arrays of names
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BenchError(f"{where}.{key} must be a list of names, got {value!r}")
            value = tuple(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise BenchError(f"{where}.{key} must be {want.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def _entries(kind: str, raw: Any, options: dict, where: str) -> tuple[Entry, ...]:
    if not isinstance(raw, list) or not raw:
        raise BenchError(f"{where}: axis {kind!r} must be a non-empty list of plugin names")
    entries, named = [], set()  # named: the names a table gave explicitly
    for item in raw:
        if kind == "losses" and isinstance(item, dict) and "parts" in item:
            entries.append(_composition(item, where))
            named.add(entries[-1].name)
            continue
        if isinstance(item, str):
            plugin, name, inline = item, item, {}
        elif isinstance(item, dict) and isinstance(item.get("plugin"), str):
            inline = dict(item)
            plugin = inline.pop("plugin")
            name = inline.pop("name", plugin)
            if not isinstance(name, str) or not name.strip():
                raise BenchError(
                    f"{where}: {kind} entry name must be a non-empty string, got {name!r}"
                )
            if "name" in item:
                named.add(name)
        else:
            raise BenchError(
                f"{where}: {kind} entries must be names or tables with a 'plugin' key, got {item!r}"
            )
        merged = {**options.get(plugin, {}), **inline}
        entries.append(Entry(kind, plugin, name, tuple(sorted(merged.items()))))
    names = [e.name for e in entries]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        # a plain name twice wants a variant name; a name given twice wants another one
        hint = "names must differ within an axis" if dup in named else "give variants a 'name'"
        raise BenchError(f"{where}: {kind} entry {dup!r} appears twice ({hint})")
    return tuple(entries)


COMPOSE = "compose"  # the plugin name a loss composition resolves to
# a part's weight: a weight of 0 trains nothing of it, a negative one maximises its loss
WEIGHT_BOUNDS = Bounds(above=0)


def _composition(item: dict, where: str) -> Entry:
    """``{name = "kd+hidden", parts = [{plugin = "kd-soft", weight = 0.5, ...}, ...]}``:
    a named, reusable weighted sum of losses. With ``stages = [0.4, 0.8]`` (one boundary
    fewer than parts, increasing, in (0, 1)) the parts run one after another instead,
    each until that share of the training steps (XtremeDistil's stage-wise schedule), and
    with ``unfreeze = true`` the student's layers thaw from the top within each stage."""
    name, parts = item.get("name"), item.get("parts")
    unknown = sorted(set(item) - {"name", "parts", "stages", "unfreeze"})
    if not isinstance(name, str) or not name or unknown:
        raise BenchError(
            f"{where}: a loss composition needs a 'name' and 'parts' (and optionally "
            f"'stages' and 'unfreeze') only, got {item!r}"
        )
    if not isinstance(parts, list) or not parts:
        raise BenchError(
            f"{where}: loss composition {name!r}: 'parts' must be a non-empty list of tables"
        )
    resolved = []
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("plugin"), str):
            raise BenchError(
                f"{where}: loss composition {name!r}: each part needs a 'plugin', got {part!r}"
            )
        options = dict(part)
        plugin, weight = options.pop("plugin"), options.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise BenchError(
                f"{where}: loss composition {name!r}: weight of {plugin!r} must be a number"
            )
        problem = WEIGHT_BOUNDS.violation(weight)
        if problem:
            raise BenchError(f"{where}: loss composition {name!r}: weight of {plugin!r} {problem}")
        resolved.append((plugin, float(weight), tuple(sorted(options.items()))))
    entry = (("parts", tuple(resolved)),)
    if "stages" in item:
        entry += (("stages", _stages(item["stages"], len(resolved), f"{where}: {name!r}")),)
    if "unfreeze" in item:  # gradual unfreezing within each stage
        if not isinstance(item["unfreeze"], bool) or "stages" not in item:
            raise BenchError(
                f"{where}: {name!r}: 'unfreeze' is true or false, for a composition with "
                f"'stages', got {item['unfreeze']!r}"
            )
        entry += (("unfreeze", item["unfreeze"]),)
    return Entry("losses", COMPOSE, name, entry)


def _stages(raw: Any, n_parts: int, where: str) -> tuple[float, ...]:
    """A staged composition's boundaries: shares of training, increasing, in (0, 1)."""
    ok = isinstance(raw, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in raw
    )
    if not ok or len(raw) != n_parts - 1:
        raise BenchError(
            f"{where}: 'stages' must list {n_parts - 1} share(s) of training, one fewer than "
            f"the parts, got {raw!r}"
        )
    if any(not 0 < x < 1 for x in raw) or any(a >= b for a, b in zip(raw, raw[1:], strict=False)):
        raise BenchError(f"{where}: 'stages' must increase within (0, 1), got {raw!r}")
    return tuple(float(x) for x in raw)


def parse_matrix(text: str, path: str = "<matrix>") -> Matrix:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: malformed TOML: {exc}") from None
    allowed = {*AXES, "name", "description", "budget", "measure", "options", "teacher_seeds"}
    allowed |= {"assistants", "exclude"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BenchError(
            f"{path}: unknown key {unknown[0]!r} (expected: {', '.join(sorted(allowed))})"
        )
    missing = [axis for axis in AXES if axis not in raw]
    if missing:
        raise BenchError(f"{path}: missing axis {missing[0]!r} (axes: {', '.join(AXES)})")
    options = raw.get("options", {})
    if not isinstance(options, dict) or any(k not in KINDS for k in options):
        raise BenchError(f"{path}: [options] holds tables named after kinds: {', '.join(KINDS)}")
    for kind, per_plugin in options.items():
        if not isinstance(per_plugin, dict) or not all(
            isinstance(v, dict) for v in per_plugin.values()
        ):
            raise BenchError(
                f"{path}: [options.{kind}] must hold one table per plugin: [options.{kind}.NAME]"
            )
    axes = {kind: _entries(kind, raw[kind], options.get(kind, {}), path) for kind in KINDS}
    for kind, per_plugin in options.items():
        used = {e.plugin for e in axes[kind]}
        for plugin in per_plugin:
            if plugin not in used:
                raise BenchError(
                    f"{path}: [options.{kind}.{plugin}] names no entry of axis {kind!r}"
                )
    seeds = _seed_list(raw["seeds"], "seeds", path)
    teacher_seeds = raw.get("teacher_seeds")
    if teacher_seeds is not None:
        teacher_seeds = tuple(_seed_list(teacher_seeds, "teacher_seeds", path))
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise BenchError(f"{path}: name must be a non-empty string")
    # the leaderboard is written to leaderboards/<name>.md: a path in it escapes the folder
    if "name" in raw and (
        name in (".", "..") or len(name) > 100 or not name.isprintable() or set(name) & set("/\\")
    ):
        raise BenchError(
            f"{path}: name must be a file name (no '/' or '\\', printable, at most 100 "
            f"characters): results/leaderboards/<name>.md is written; got {name[:120]!r}"
        )
    budget = _checked_budget(_typed_section(Budget, raw.get("budget"), f"{path}: [budget]"), path)
    if teacher_seeds is not None and budget.teacher_seed is not None:
        raise BenchError(
            f"{path}: teacher_seeds and [budget].teacher_seed both set: keep teacher_seeds "
            "(several teachers) or teacher_seed (one)"
        )
    return Matrix(
        name=name,
        path=path,
        axes=axes,
        seeds=tuple(seeds),
        teacher_seeds=teacher_seeds,
        budget=budget,
        measure=_checked_measure(
            _typed_section(MeasureConfig, raw.get("measure"), f"{path}: [measure]"), path
        ),
        description=str(raw.get("description", "")),
        assistants=_assistants(raw.get("assistants"), axes, path),
        exclude=parse_exclusions(raw.get("exclude"), axes, path),
    )


def _assistants(raw: Any, axes: dict[str, tuple[Entry, ...]], path: str) -> tuple[Assistant, ...]:
    """``[assistants]``: ``STUDENT = {student = VIA, loss = LOSS}``, every name an entry of
    the matrix; an assistant learns from the teacher itself (one link, no longer chains)."""
    if raw is None:
        return ()
    where = f"{path}: [assistants]"
    if not isinstance(raw, dict):
        raise BenchError(f"{where}: must be a table of STUDENT = {{student = ..., loss = ...}}")
    students = {e.name for e in axes["students"]}
    losses = {e.name for e in axes["losses"]}
    out = []
    for name, link in raw.items():
        if not isinstance(link, dict) or set(link) != {"student", "loss"}:
            raise BenchError(
                f"{where}.{name}: must be {{student = NAME, loss = NAME}}, got {link!r}"
            )
        via, loss = link["student"], link["loss"]
        for value, known, kind in ((name, students, "student"), (via, students, "student"),
                                   (loss, losses, "loss")):  # fmt: skip
            if value not in known:
                raise BenchError(
                    f"{where}.{name}: {value!r} is no {kind} entry of the matrix "
                    f"({', '.join(sorted(known))})"
                )
        if via == name:
            raise BenchError(f"{where}.{name}: a student cannot be its own assistant")
        if via in raw:
            raise BenchError(
                f"{where}.{name}: its assistant {via!r} has an assistant itself; one link only"
            )
        out.append(Assistant(name, via, loss))
    return tuple(out)


def _seed_list(seeds: Any, field: str, path: str) -> list[int]:
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise BenchError(f"{path}: {field} must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise BenchError(f"{path}: {field} has a repeated value: {seeds!r}")
    problem = SEED_BOUNDS.violation(seeds)
    if problem:
        raise BenchError(f"{path}: {field} {problem}")
    return seeds


def _checked_budget(budget: Budget, path: str) -> Budget:
    check_settings(budget, "budget", path)
    return budget


def _checked_measure(measure: MeasureConfig, path: str) -> MeasureConfig:
    check_settings(measure, "measure", path)
    if len(set(measure.variants)) != len(measure.variants):
        raise BenchError(
            f"{path}: [measure].variants names a variant twice: {list(measure.variants)}"
        )
    if measure.max_passes < measure.repeats:
        # passes in all, re-runs included: fewer than `repeats` could never give the figure
        raise BenchError(
            f"{path}: [measure].max_passes must be >= [measure].repeats ({measure.repeats}), "
            f"got {measure.max_passes}"
        )
    return measure


def load_matrix(path: str | Path) -> Matrix:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError(f"{p}: matrix file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"{p}: cannot read matrix file: {exc}") from None
    return parse_matrix(text, str(p))
