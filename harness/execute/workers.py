"""What a worker process needs to compute stages for a driver: the Ray and pool executors.

A worker rebuilds the driver's plan from the matrix text and the settings (the plan is
pure data), reads and writes the same stage cache, and reports what it computed and how
each stage ended; only the driver writes the results store.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from distill_bench.execute.runner import Runner
from distill_bench.matrix.capabilities import loss_profile
from distill_bench.matrix.model import parse_matrix
from distill_bench.matrix.plan import Cell, TeacherRow, make_plan
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import PrintProgress
from distill_bench.plugin_api.registry import Registry, collect, make_plugin_manager
from distill_bench.plugin_api.specs import TEACHER_LOGITS
from distill_bench.stages.context import StageFailed
from distill_bench.store.cache import Cache
from distill_bench.store.results import ResultRow

# the stages each stage reads, among those a worker computes ahead of the rows
UPSTREAM = {
    "teacher": (),
    "transfer": (),
    "annotate": ("teacher", "transfer"),
    "features": ("teacher", "transfer"),
    "student": ("teacher", "transfer", "annotate", "features"),
}


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to rebuild the driver's plan and runner."""

    matrix_text: str
    matrix_path: str
    data_source: str  # the plan's data fingerprint, so keys match the driver's
    cache_dir: str
    data_dir: str | None
    plugin_modules: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def worker_settings(runner: Runner, matrix_text: str, data_source: str) -> WorkerSettings:
    """The settings a worker rebuilds ``runner``'s plan from (paths made absolute)."""
    ctx = runner.ctx
    return WorkerSettings(
        matrix_text=matrix_text,
        matrix_path=runner.plan.matrix.path,
        data_source=data_source,
        cache_dir=str(Path(ctx.cache.root).resolve()),
        data_dir=str(Path(ctx.data_dir).resolve()) if ctx.data_dir else None,
        plugin_modules=tuple(ctx.plugin_modules),
        disabled=tuple(ctx.disabled),
    )


class CollectedRows:
    """A worker's stand-in for the store: rows are kept for the driver, never written."""

    def __init__(self):
        self.rows: list[ResultRow] = []

    def put(self, row: ResultRow) -> None:
        self.rows.append(row)


_RUNNERS: dict[str, tuple[Runner, dict]] = {}  # per worker process: settings id -> runner, items


class WorkerProgress(PrintProgress):
    """A worker's lines (a long loop's progress, a lock it waits for), each opening with the
    stage it is computing: two workers' lines interleave in one log."""

    stage = ""

    def log(self, message: str) -> None:
        super().log(f"[{self.stage}] {message}" if self.stage else message)


def worker_runner(settings: WorkerSettings) -> tuple[Runner, dict]:
    """The runner for these settings in this worker process, built once (its memo of
    loaded stages is then shared by the tasks this process runs)."""
    if settings.id not in _RUNNERS:
        extra = [importlib.import_module(m) for m in settings.plugin_modules]
        registry = collect(make_plugin_manager(disabled=settings.disabled, extra=extra))
        plan = make_plan(
            parse_matrix(settings.matrix_text, settings.matrix_path), registry, settings.data_source
        )
        runner = Runner(
            plan,
            registry,
            Cache(Path(settings.cache_dir)),
            CollectedRows(),
            Path(settings.data_dir) if settings.data_dir else None,
            plugin_modules=settings.plugin_modules,
            disabled=settings.disabled,
            progress=WorkerProgress(),
        )
        items = {r.key: ("teacher", r) for r in plan.teacher_rows} | {
            c.key: ("student", c) for c in plan.cells
        }
        _RUNNERS[settings.id] = (runner, items)
    return _RUNNERS[settings.id]


def counted(runner: Runner, work) -> dict:
    """Run ``work``; what it computed (stage kind -> count) and how it ended."""
    before = dict(runner.ctx.computed)
    outcome: dict = {}
    try:
        outcome["value"] = work()
    except StageFailed as failure:
        outcome["failed"] = [failure.stage, failure.error]
    except BenchError as exc:  # bad input: the driver stops the run with this message
        outcome["bench_error"] = str(exc)
    outcome["computed"] = {
        k: v - before.get(k, 0) for k, v in runner.ctx.computed.items() if v != before.get(k)
    }
    return outcome


def add_outcome(runner: Runner, outcome: dict) -> None:
    """A worker's ``counted`` outcome on the driver: its bad input stops the run, and what
    it computed is counted as if this process had."""
    if "bench_error" in outcome:
        raise BenchError(outcome["bench_error"])
    for kind, n in outcome.get("computed", {}).items():
        runner.ctx.computed[kind] = runner.ctx.computed.get(kind, 0) + n


def stage_kinds(registry: Registry, role: str, item: TeacherRow | Cell) -> tuple[str, ...]:
    """The stages a row reads that a worker may compute ahead of it, in dependency order
    (the student last; a teacher row reads its teacher only)."""
    if role == "teacher":
        return ("teacher",)
    kinds = ["teacher", "transfer"]
    if TEACHER_LOGITS in loss_profile(registry, item.loss).uses:
        kinds.append("annotate")
    if item.features_key:
        kinds.append("features")
    return (*kinds, "student")


def stage_key(kind: str, item: TeacherRow | Cell) -> str:
    """The cache key of one of an item's stages ("" where it has none)."""
    return {
        "teacher": item.teacher_key,
        "transfer": getattr(item, "transfer_key", ""),
        "annotate": getattr(item, "annotate_key", ""),
        "features": getattr(item, "features_key", "") or "",
        "student": getattr(item, "student_key", ""),
    }[kind]
