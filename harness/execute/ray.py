"""The Ray executor: a run's pending rows computed as Ray tasks.

The plan's stages become Ray tasks: teacher fine-tunes and transfer sets first, then
annotation and teacher features, then one task per row (student training, evaluation, measurement),
each task waiting on the ones it reads. Workers rebuild the plan from the matrix text and
the settings (the plan is pure data), read and write the stage cache on a path every node
sees, and send their rows back; the driver alone writes the results store.

A stage that fails in a worker fails the rows that read it (with its stage and error), not
the matrix; a worker that dies (killed for memory, a lost node) fails its row the same way
once Ray's own retries are spent.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from distill_bench.execute.rows import summary_line
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
from distill_bench.matrix.plan import Cell
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.context import StageFailed

GPU_STAGES = ("teacher", "annotate", "features", "row")  # stages that run a model


def _inherit_failures(runner: Runner, upstream: tuple[dict, ...]) -> None:
    """Mark stages that failed in other tasks as failed here: the rows reading them fail
    with that stage and error, and nothing is recomputed."""
    for result in upstream:
        if "failed" in result:
            runner.ctx.failed[result["key"]] = StageFailed(*result["failed"])


def _task_runner(settings: WorkerSettings) -> tuple[Runner, dict]:
    """The worker's runner, on the device Ray gave this task: a worker process is reused
    by tasks with and without a GPU."""
    import ray
    import torch

    runner, items = worker_runner(settings)
    runner.ctx.device = torch.device("cuda" if ray.get_gpu_ids() else "cpu")
    return runner, items


def stage_task(settings: WorkerSettings, kind: str, item_key: str, *upstream: dict) -> dict:
    """Compute one shared stage (teacher, transfer, annotate, features) of an item."""
    runner, items = _task_runner(settings)
    _, item = items[item_key]
    _inherit_failures(runner, upstream)
    outcome = counted(runner, lambda: runner.shared_stage(kind, item))
    outcome.pop("value", None)  # the stage's output stays in the cache (and this worker's memo)
    return {"key": stage_key(kind, item), **outcome}


def row_task(settings: WorkerSettings, item_key: str, *upstream: dict) -> dict:
    """Compute one row (a cell's student, or a teacher's row) and send it back."""
    runner, items = _task_runner(settings)
    role, item = items[item_key]
    _inherit_failures(runner, upstream)
    runner.store.rows.clear()
    outcome = counted(runner, lambda: runner.row(role, item))
    outcome["row"] = outcome.pop("value", None)
    return outcome


@dataclass
class RayExecutor:
    """Stages as Ray tasks on an existing cluster (``address``) or a local one."""

    matrix_text: str
    data_source: str
    address: str | None = None
    num_cpus: int | None = None  # for a local cluster started here; None: all of them
    gpus_per_task: float | None = None  # None: 1 when the cluster has GPUs, else 0
    _cluster: dict | None = field(default=None, repr=False)  # resources, asked once a run

    def _init(self):
        try:
            import ray
        except ImportError:
            raise BenchError("--executor ray needs Ray: pip install 'distill-bench[ray]'") from None
        address = self.address or os.environ.get("RAY_ADDRESS")
        if not ray.is_initialized():
            if address:
                try:
                    ray.init(address=address)
                except ConnectionError as exc:
                    raise BenchError(f"Ray address {address}: no cluster there ({exc})") from None
            else:  # a new cluster for this run, even if `ray start` left one on this machine
                ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False)
        return ray

    def _resources(self, ray, runner: Runner, kind: str, item) -> dict:
        if self._cluster is None:
            self._cluster = ray.cluster_resources()
        cluster = self._cluster
        gpus = self.gpus_per_task
        if gpus is None:
            gpus = 1.0 if cluster.get("GPU", 0) > 0 else 0.0
        elif gpus > cluster.get("GPU", 0):  # such a task would wait forever
            raise BenchError(
                f"--gpus-per-task {gpus:g}: the Ray cluster has {cluster.get('GPU', 0):g} GPUs"
            )
        cpus = 1.0
        if kind == "row":  # measuring throughput with N threads wants N free cores
            cpus = float(min(max(1, runner.plan.matrix.measure.threads), cluster.get("CPU", 1)))
        resources = {"num_cpus": cpus, "num_gpus": gpus if kind in GPU_STAGES else 0.0}
        # a plugin spec may say what it needs, e.g. resources = {"num_gpus": 1, "memory": 8e9}
        spec = None
        if kind in ("teacher", "annotate", "features"):
            spec = runner.registry.get("teachers", item.teacher.plugin)
        elif kind == "row":
            spec = runner.registry.get(
                "students" if isinstance(item, Cell) else "teachers",
                item.student.plugin if isinstance(item, Cell) else item.teacher.plugin,
            )
        resources.update(getattr(spec, "resources", None) or {})
        return resources

    def run(self, runner: Runner) -> RunSummary:
        ray = self._init()
        started = time.perf_counter()
        settings = worker_settings(runner, self.matrix_text, self.data_source)
        remote_stage = ray.remote(stage_task)
        remote_row = ray.remote(row_task)
        settings_ref = ray.put(settings)
        stages: dict[str, object] = {}  # stage key -> its task's result ref

        def stage(kind: str, item, *upstream):
            key = stage_key(kind, item)
            if key not in stages:
                options = self._resources(ray, runner, kind, item)
                stages[key] = remote_stage.options(**options).remote(
                    settings_ref, kind, item.key, *upstream
                )
            return stages[key]

        rows: dict[object, tuple[str, object]] = {}
        for role, item in runner.pending():
            refs: dict[str, object] = {}  # stage kind -> its task, for this item
            for kind in stage_kinds(runner.registry, role, item):
                if kind != "student":  # a Ray row task trains its own student
                    refs[kind] = stage(kind, item, *(refs[k] for k in UPSTREAM[kind] if k in refs))
            upstream = list(refs.values())
            options = self._resources(ray, runner, "row", item)
            ref = remote_row.options(**options).remote(settings_ref, item.key, *upstream)
            rows[ref] = (role, item)
        waiting = list(rows)
        try:
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1)
                self._collect(ray, runner, done[0], *rows[done[0]])
            for ref in stages.values():  # stages' counts; every one has finished by now
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError:  # its worker died; its rows say so
                    continue
                add_outcome(runner, outcome)
        finally:  # interrupted: nothing keeps computing for a driver that is gone
            for ref in [*waiting, *stages.values()]:
                ray.cancel(ref)
        runner.summary.seconds = time.perf_counter() - started
        return runner.summary

    def _collect(self, ray, runner: Runner, ref, role: str, item) -> None:
        """Store a finished row; a worker that died fails its row here, on the driver."""
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BenchError):
                raise BenchError(str(cause)) from None
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300]}"
            # fail the row through the runner, so it has the same names and config; every
            # stage it reads is marked failed, so the driver computes none of them itself
            for kind in UPSTREAM:  # every stage a row reads
                key = stage_key(kind, item)
                if key and key not in runner.ctx.memo:
                    runner.ctx.failed[key] = StageFailed("worker", error)
            row = runner.row(role, item)
            runner.ctx.progress.log(summary_line(row))
            return
        add_outcome(runner, outcome)
        row = runner.record(outcome["row"])
        runner.ctx.progress.log(summary_line(row))
