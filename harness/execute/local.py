"""The local executor: train on every core, then evaluate and measure one row at a time.

With ``jobs`` > 1 a run has two phases. First a pool of worker processes, each stage with
its share of the cores as torch threads (a stage alone, such as a matrix's one teacher,
with all of them), computes what the pending rows train: teacher
fine-tunes, transfer sets, annotation and features, and the students, each stage as soon
as the ones it reads are done (teachers first: they take longest). No measurement runs
meanwhile. Then this process computes the rows one at a time: every stage they read is in
the cache by then, so what is left is evaluation and measurement, alone on the machine
with its threads pinned. The rows are those of a one-at-a-time run: stages are seeded and keyed, not
ordered. With ``jobs`` = 1 everything runs in this process, as it always did.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from distill_bench.execute.runner import Runner
from distill_bench.execute.summary import RunSummary
from distill_bench.execute.workers import (
    UPSTREAM,
    WorkerSettings,
    add_outcome,
    counted,
    stage_key,
    stage_kinds,
    worker_runner,
    worker_settings,
)
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.context import StageFailed
from distill_bench.stages.processes import owned_pool

JOBS_ENV = "BENCH_JOBS"  # the default of --jobs, e.g. 1 in tests that need no pool


def default_jobs() -> int:
    """``$BENCH_JOBS``, else one training process per core on a CPU-only machine and one
    on a machine with a GPU (processes there would queue on the one device)."""
    value = os.environ.get(JOBS_ENV)
    if value:
        if not value.isdigit() or int(value) < 1:
            raise BenchError(f"{JOBS_ENV}: expected a whole number >= 1, got {value!r}")
        return int(value)
    import torch

    return 1 if torch.cuda.is_available() else max(1, os.cpu_count() or 1)


def thread_shares(
    ready: list[str], busy: list[int], cores: int, share: int, jobs: int
) -> list[tuple[str, int]]:
    """Which ready stages start now, each with its torch threads: as many as there are idle
    workers (``jobs`` less the ``busy`` ones), in ``ready``'s order, upstream kinds first.
    Nothing waits queued in the pool: a stage that becomes ready later (an annotation once
    its transfer set is built) would queue behind every student submitted before it, and
    then start on one core beside the last of them and keep one core to the end. A stage
    with nothing running beside it and nothing else ready takes every core (a matrix's lone
    teacher would otherwise fine-tune on one core while the others idle), and nothing starts
    beside it (threads beyond the cores stall at OpenMP's barriers); otherwise each its share."""
    if not ready or any(threads > share for threads in busy):
        return []
    if not busy and len(ready) == 1:
        return [(ready[0], cores)]
    return [(key, share) for key in ready[: max(0, jobs - len(busy))]]


_SETTINGS: WorkerSettings | None = None  # this worker process's settings
_IN_STAGE = False  # whether this worker is computing a stage (see _interrupt)


def _start_worker(settings: WorkerSettings) -> None:
    """A pool worker's start: the driver's plan, and a SIGTERM that stops the stage like
    Ctrl-C (the cache then removes its scratch folder)."""
    global _SETTINGS
    _SETTINGS = settings
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    if _IN_STAGE:  # stop the stage like Ctrl-C; the driver gets it as the stage's outcome
        raise KeyboardInterrupt
    raise SystemExit(0)  # an idle worker just leaves, without a traceback


def _stage_in_worker(kind: str, item_key: str, threads: int, label: str) -> dict:
    """Compute one stage of an item in a pool worker, on ``threads`` torch threads; its
    output stays in the cache."""
    global _IN_STAGE
    import torch

    torch.set_num_threads(threads)
    runner, items = worker_runner(_SETTINGS)
    runner.ctx.progress.stage = f"{kind} {label}"
    _, item = items[item_key]
    started = time.perf_counter()
    _IN_STAGE = True
    try:
        outcome = counted(runner, lambda: runner.shared_stage(kind, item))
    finally:
        _IN_STAGE = False
    outcome.pop("value", None)
    runner.ctx.memo.clear()  # the next wave reads from the cache; keep the worker small
    outcome["seconds"] = time.perf_counter() - started
    return outcome


@dataclass(frozen=True)
class LocalExecutor:
    """In this process, after a pool of ``jobs`` processes has trained what it reads."""

    matrix_text: str = ""
    data_source: str = ""
    jobs: int = 1

    def run(self, runner: Runner) -> RunSummary:
        started = time.perf_counter()
        todo = runner.pending()
        if self.jobs > 1:  # with one job the rows compute their own stages, as they always did
            units = training_units(runner, todo)
            if units:
                self._train(runner, units)
        summary = runner.run(todo)  # evaluation and measurement, one row at a time
        summary.seconds = time.perf_counter() - started
        return summary

    def _train(self, runner: Runner, units: dict[str, TrainingUnit]) -> None:
        """Every unit on the pool, each as soon as the stages it reads are done."""
        settings = worker_settings(runner, self.matrix_text, self.data_source)
        cores = os.cpu_count() or 1
        share = max(1, cores // self.jobs)
        runner.ctx.progress.log(
            f"training on {self.jobs} processes x {share} threads (a stage alone: {cores})"
        )
        pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=multiprocessing.get_context("spawn"),  # no forked torch threads
            initializer=_start_worker,
            initargs=(settings,),
        )
        waiting, running = dict(units), {}  # running: future -> (key, threads)
        # a SIGTERM to this pid alone must stop the workers too; each stops its stage like
        # Ctrl-C (see _start_worker), and nothing keeps training for a run that is gone
        with owned_pool(pool):
            while waiting or running:
                ready, started = [], {r for r, _ in running.values()}
                for key, unit in list(waiting.items()):
                    if any(k in runner.ctx.failed for k in unit.upstream):
                        del waiting[key]  # left to its rows, which fail with that stage
                    elif not any(k in waiting or k in started for k in unit.upstream):
                        ready.append(key)
                busy = [threads for _, threads in running.values()]
                for key, threads in thread_shares(ready, busy, cores, share, self.jobs):
                    unit = waiting.pop(key)
                    future = pool.submit(
                        _stage_in_worker, unit.kind, unit.item_key, threads, unit.label
                    )
                    running[future] = (key, threads)
                if not running:  # nothing left that can start
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._collect(runner, units[running.pop(future)[0]], future)

    @staticmethod
    def _collect(runner: Runner, unit: TrainingUnit, future: Future) -> None:
        """Count a finished stage; a failed one fails the rows that read it, and a worker
        that died (killed for memory) fails its stage the same way."""
        try:
            outcome = future.result()
        except BrokenProcessPool as exc:
            outcome = {"failed": ["worker", f"{type(exc).__name__}: {exc}"]}
        add_outcome(runner, outcome)
        if "failed" in outcome:
            runner.ctx.failed[unit.key] = StageFailed(*outcome["failed"])
            runner.ctx.progress.log(f"FAILED {unit.kind} {unit.label}: {outcome['failed'][1]}")
        elif outcome.get("computed"):
            runner.ctx.progress.log(
                f"trained {unit.kind} {unit.label} in {outcome['seconds']:.0f} s"
            )


@dataclass(frozen=True)
class TrainingUnit:
    """One stage the pool computes: of what kind, for which item, after which stages."""

    kind: str
    key: str
    label: str  # for the log line when it ends
    item_key: str  # a row that reads it: the worker computes it as that row would
    upstream: tuple[str, ...]  # keys of the stages it reads


def training_units(runner: Runner, todo) -> dict[str, TrainingUnit]:
    """The pending rows' stages not yet in the cache, by key: teachers first (the longest),
    then each kind in the order it is read."""
    kinds_of = [(item, stage_kinds(runner.registry, role, item)) for role, item in todo]
    units: dict[str, TrainingUnit] = {}
    for kind in UPSTREAM:
        for item, kinds in kinds_of:
            key = stage_key(kind, item) if kind in kinds else ""
            if key and key not in units and not runner.cache.exists(kind, key):
                label = (
                    item.label
                    if kind == "student"
                    else f"{item.teacher.name} on {item.dataset.name}"
                )
                upstream = tuple(stage_key(k, item) for k in UPSTREAM[kind] if k in kinds)
                if kind == "annotate" and item.assistant is not None:  # its assistant first
                    upstream += (item.assistant.student_key,)
                units[key] = TrainingUnit(kind, key, label, item.key, upstream)
    return units
