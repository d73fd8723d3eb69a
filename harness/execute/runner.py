"""Execute a plan: each stage computed at most once per key, each cell a result row.

    data -> teacher fine-tune -> transfer set -> annotate -> student distill -> evaluate -> measure

``Runner`` is a small facade: it holds the ``StageContext`` the stages share (the
stages themselves live in ``distill_bench.stages``), decides which rows are pending,
and computes and stores them one at a time. A stage's output lives in the cache under
its key; a cell whose row is already in the store is skipped. A failing cell is
recorded with its stage and error; the rest go on.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import torch
from distill_bench.execute.rows import cell_row, summary_line, teacher_row
from distill_bench.execute.summary import RunSummary
from distill_bench.matrix.plan import Cell, Plan, TeacherRow
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.registry import Registry
from distill_bench.stages.annotation.stage import features
from distill_bench.stages.batching import pick_device
from distill_bench.stages.context import StageContext
from distill_bench.stages.student.stage import student_checkpoint, teacher_logits
from distill_bench.stages.teacher.stage import teacher_checkpoint
from distill_bench.stages.transfer.stage import transfer_set
from distill_bench.store.cache import Cache
from distill_bench.store.results import ResultRow, Store

# the stages an executor may compute on their own, ahead of the rows reading them
SHARED_STAGES = {
    "teacher": teacher_checkpoint,
    "transfer": transfer_set,
    "annotate": teacher_logits,  # the teacher's, or a teacher assistant's
    "features": features,
    "student": student_checkpoint,  # a cell's own, not shared: the pool trains it ahead
}


class Runner:
    """A plan's rows computed in this process, over one ``StageContext`` (``ctx``)."""

    def __init__(
        self,
        plan: Plan,
        registry: Registry,
        cache: Cache,
        store: Store,
        data_dir: Path | None,
        progress: Progress = quiet,
        plugin_modules: tuple[str, ...] = (),
        disabled: tuple[str, ...] = (),
        device: torch.device | None = None,
        retry_failed: bool = False,
    ):
        self.ctx = StageContext(
            plan=plan,
            registry=registry,
            cache=cache,
            data_dir=data_dir,
            device=device or pick_device(),
            progress=progress,
            plugin_modules=plugin_modules,
            disabled=disabled,
        )
        self.store = store
        self.summary = RunSummary(computed=self.ctx.computed)  # one count, kept by the stages
        self.retry_failed = retry_failed  # rerun rows stored as failed; else leave them
        self._recorded: dict[str, str] = {}  # row key -> status in the store when planned

    # what callers read of the context, by the names they had on the runner
    @property
    def plan(self) -> Plan:
        return self.ctx.plan

    @property
    def registry(self) -> Registry:
        return self.ctx.registry

    @property
    def cache(self) -> Cache:
        return self.ctx.cache

    @property
    def matrix_name(self) -> str:
        return self.ctx.plan.matrix.name

    def shared_stage(self, kind: str, item: TeacherRow | Cell):
        """Compute (or load) one stage of an item: teacher, transfer, annotate, features,
        student."""
        return SHARED_STAGES[kind](self.ctx, item)

    def row(self, role: str, item: TeacherRow | Cell) -> ResultRow:
        """Compute a teacher row or a cell's row and record it."""
        made = teacher_row(self.ctx, item) if role == "teacher" else cell_row(self.ctx, item)
        return self.record(made)

    def record(self, row: ResultRow) -> ResultRow:
        """Store a finished row and count it."""
        if row.status == "ok":
            self.summary.ok += 1
        else:
            self.summary.failed += 1
        self.store.put(row)
        return row

    def pending(self) -> list[tuple[str, TeacherRow | Cell]]:
        """The rows this run computes, teacher rows first. Ok rows in the store are done;
        recorded failures are left alone (and counted) unless ``retry_failed`` is set."""
        work = [("teacher", r) for r in self.plan.teacher_rows] + [
            ("student", c) for c in self.plan.cells
        ]
        self._recorded = self.store.statuses(self.matrix_name)
        todo = []
        for role, item in work:
            status = self._recorded.get(item.key)
            if status == "ok":
                self.summary.skipped += 1
            elif status is not None and not self.retry_failed:
                self.summary.failed_before += 1
            else:
                todo.append((role, item))
        return todo

    def run_item(self, role: str, item: TeacherRow | Cell, block: bool = True) -> bool:
        """Compute and store one row under its row lock; False if another run holds it
        and ``block`` is off. A row another run wrote meanwhile is taken as it is."""
        lock = self.store.row_lock(self.matrix_name, item.key)
        if not lock.acquire(block=block, log=self.ctx.progress.log):
            return False
        try:
            now = self.store.statuses(self.matrix_name, item.key).get(item.key)
            if now != self._recorded.get(item.key):  # written by a concurrent run
                if now == "ok":
                    self.summary.skipped += 1
                else:
                    self.summary.failed_before += 1
                return True
            row = self.row(role, item)
            self.ctx.progress.log(summary_line(row))
            if "MemoryError" in row.error:  # torch.OutOfMemoryError too: give it back
                free_memory()
        finally:
            lock.release()
        return True

    def run(self, todo: list[tuple[str, TeacherRow | Cell]] | None = None) -> RunSummary:
        """Every pending row (``todo``: what ``pending()`` returned, when the caller asked),
        one at a time. A row another run is computing is put off to the end, then waited
        for: two runs on one store share the work, never repeat it."""
        started = time.perf_counter()
        todo = self.pending() if todo is None else todo
        busy = [
            (role, item)
            for role, item in self.ctx.progress.track(todo, f"matrix {self.matrix_name}")
            if not self.run_item(role, item, block=False)
        ]
        for role, item in self.ctx.progress.track(busy, "rows other runs were computing"):
            self.run_item(role, item)
        self.summary.seconds = time.perf_counter() - started
        return self.summary


def free_memory() -> None:
    """After an out-of-memory failure: the failed cell's tensors are garbage by now."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
