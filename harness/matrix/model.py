"""The matrix file: axes of components, a budget, measurement settings. Pure data.

    name = "quick"                      # optional; defaults to the file's stem
    datasets = ["sst2", "cola"]
    teachers = ["minilm-l6"]
    students = ["mlp", {name = "bilstm-64", plugin = "bilstm", hidden_size = 64}]
    losses = ["ce-hard", "kd-soft"]
    augmenters = ["none"]
    seeds = [0]

    [budget]                            # see Budget for every field and its default
    max_train_examples = 2000

    [measure]                           # see MeasureConfig
    threads = 2

    [options.losses.kd-soft]            # options for every entry that uses this plugin
    temperature = 4.0

Validation here is structural (types, known keys, non-empty axes); the planner checks
names and options against the registered specs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import KINDS

AXES: tuple[str, ...] = (*KINDS, "seeds")


@dataclass(frozen=True)
class Budget:
    """How much work each stage does. Defaults suit a laptop-sized CPU run."""

    max_train_examples: int | None = None  # None = the whole training split
    max_select_examples: int | None = 1000  # selection only needs a stable estimate
    # None = the whole evaluation split; a number scores a fixed stratified slice (named
    # so in the leaderboard): for smoke matrices, never for figures set beside papers'
    max_eval_examples: int | None = None
    max_transfer_examples: int | None = None  # caps what augmenters produce
    max_length: int = 128  # WordPiece tokens; SST-2's 95th percentile is well under 64
    teacher_epochs: int = 3  # BERT's recommended 2-4 for GLUE fine-tuning
    teacher_batch_size: int = 32
    teacher_lr: float = 5e-5  # BERT paper's grid {2,3,5}e-5; small models like the top end
    teacher_warmup: float = 0.1  # fraction of steps with linear warm-up
    teacher_evals_per_epoch: int = 2  # selection points for early stopping / best checkpoint
    student_epochs: int = 10  # students are cheap; the best epoch on `select` is kept
    student_batch_size: int = 64
    student_lr: float = 1e-3  # Adam default; Tang et al. used Adam/Adadelta at this scale
    # sentences per annotation batch, length-sorted; 0 = auto (1024 on a GPU, 128 on CPU);
    # an out-of-memory error halves it for the rest of the run
    annotate_batch_size: int = 128
    # teacher precision for annotating transfer sets: fp32 | bf16 | int8 | onnx-fp32 | onnx-int8;
    # benchmarks/bench_annotation.py measures what each costs in agreement with fp32
    annotate_precision: str = "fp32"
    # None: each seed fine-tunes its own teacher (and subsamples its own data). A number:
    # one teacher (data subset, transfer set, annotation) from this seed, and the matrix's
    # seeds vary the students only, so a gain over ce-hard is measured against one teacher
    teacher_seed: int | None = None

    def teacher_part(self) -> dict[str, Any]:
        # teacher_seed is not a training setting: the teacher's key carries the seed it used
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name.startswith("teacher_") and f.name != "teacher_seed"
        } | {"max_length": self.max_length}

    def student_part(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.name.startswith("student_")
        } | {"max_length": self.max_length}


@dataclass(frozen=True)
class MeasureConfig:
    """How every model in a matrix is measured, identically."""

    threads: int = 2  # CPU threads for timing, fixed and recorded (this machine has 2)
    batch_size: int = 128  # throughput batch: large enough to amortise per-call overhead
    latency_samples: int = 100  # real sentences timed one at a time for p50/p90
    repeats: int = 5  # timed passes; the median and spread are reported
    warmup: int = 1  # untimed passes first (allocator, caches, lazy init)
    min_pass_seconds: float = 0.5  # a timed pass repeats its batches until it lasts this long
    max_sentences: int = 1000  # throughput is measured on up to this many eval sentences
    isolate: bool = True  # measure in a fresh subprocess so memory figures are the model's own
    # noise guard: a timed pass during which other processes used more than this share of
    # the machine's CPU time, beyond the cores `threads` leaves free, is set aside and re-run,
    # up to max_passes passes in all; a figure still short of `repeats` quiet passes is
    # flagged noisy
    max_background_load: float = 0.1
    max_passes: int = 12
    train_steps: int = 3  # training steps (batch = student/teacher batch size) for the training memory peak; 0: skip
    # deployment variants re-scored on the evaluation split and re-timed, for teacher and
    # students: "int8" (torch dynamic), "onnx-fp32", "onnx-int8" (ONNX Runtime)
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One value on an axis: a plugin, the name it shows under, options from the file."""

    kind: str
    plugin: str
    name: str
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Matrix:
    name: str
    path: str
    axes: dict[str, tuple[Entry, ...]]
    seeds: tuple[int, ...]
    budget: Budget
    measure: MeasureConfig
    description: str = ""


def _typed_section(cls: type, raw: Any, where: str) -> Any:
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
        if want is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)  # TOML arrays of names
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise BenchError(f"{where}.{key}: must be {want.__name__}, got {value!r}")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise BenchError(f"{where}.{key}: must not be negative, got {value!r}")
        values[key] = value
    return cls(**values)


def _entries(kind: str, raw: Any, options: dict, where: str) -> tuple[Entry, ...]:
    if not isinstance(raw, list) or not raw:
        raise BenchError(f"{where}: axis {kind!r} must be a non-empty list of plugin names")
    entries = []
    for item in raw:
        if kind == "losses" and isinstance(item, dict) and "parts" in item:
            entries.append(_composition(item, where))
            continue
        if isinstance(item, str):
            plugin, name, inline = item, item, {}
        elif isinstance(item, dict) and isinstance(item.get("plugin"), str):
            inline = dict(item)
            plugin = inline.pop("plugin")
            name = inline.pop("name", plugin)
            if not isinstance(name, str):
                raise BenchError(f"{where}: {kind} entry name must be a string, got {name!r}")
        else:
            raise BenchError(
                f"{where}: {kind} entries must be names or tables with a 'plugin' key, got {item!r}"
            )
        merged = {**options.get(plugin, {}), **inline}
        entries.append(Entry(kind, plugin, name, tuple(sorted(merged.items()))))
    names = [e.name for e in entries]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise BenchError(f"{where}: {kind} entry {dup!r} appears twice (give variants a 'name')")
    return tuple(entries)


ANNOTATE_PRECISIONS = ("fp32", "bf16", "int8", "onnx-fp32", "onnx-int8")
COMPOSE = "compose"  # the plugin name a loss composition resolves to


def _composition(item: dict, where: str) -> Entry:
    """``{name = "kd+hidden", parts = [{plugin = "kd-soft", weight = 0.5, ...}, ...]}``:
    a named, reusable weighted sum of losses."""
    name, parts = item.get("name"), item.get("parts")
    unknown = sorted(set(item) - {"name", "parts"})
    if not isinstance(name, str) or not name or unknown:
        raise BenchError(
            f"{where}: a loss composition needs a 'name' and 'parts' only, got {item!r}"
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
        resolved.append((plugin, float(weight), tuple(sorted(options.items()))))
    return Entry("losses", COMPOSE, name, (("parts", tuple(resolved)),))


def parse_matrix(text: str, path: str = "<matrix>") -> Matrix:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: malformed TOML: {exc}") from None
    allowed = {*AXES, "name", "description", "budget", "measure", "options"}
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
    seeds = raw["seeds"]
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise BenchError(f"{path}: seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise BenchError(f"{path}: seeds has a repeated value: {seeds!r}")
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise BenchError(f"{path}: name must be a non-empty string")
    return Matrix(
        name=name,
        path=path,
        axes=axes,
        seeds=tuple(seeds),
        budget=_checked_budget(
            _typed_section(Budget, raw.get("budget"), f"{path}: [budget]"), path
        ),
        measure=_checked_measure(
            _typed_section(MeasureConfig, raw.get("measure"), f"{path}: [measure]"), path
        ),
        description=str(raw.get("description", "")),
    )


def _checked_budget(budget: Budget, path: str) -> Budget:
    if budget.annotate_precision not in ANNOTATE_PRECISIONS:
        raise BenchError(
            f"{path}: [budget].annotate_precision must be one of {', '.join(ANNOTATE_PRECISIONS)}, "
            f"got {budget.annotate_precision!r}"
        )
    return budget


MEASURE_VARIANTS = ("int8", "onnx-fp32", "onnx-int8")  # harness/variants.py builds them


def _checked_measure(measure: MeasureConfig, path: str) -> MeasureConfig:
    for name in measure.variants:
        if name not in MEASURE_VARIANTS:
            raise BenchError(
                f"{path}: [measure].variants: unknown variant {name!r} "
                f"(variants: {', '.join(MEASURE_VARIANTS)})"
            )
    if len(set(measure.variants)) != len(measure.variants):
        raise BenchError(f"{path}: [measure].variants names a variant twice")
    if not 0 <= measure.max_background_load <= 1:
        raise BenchError(f"{path}: [measure].max_background_load must be between 0 and 1")
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
