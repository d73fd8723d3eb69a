"""The library API: plan a matrix, run it, get a summary. The CLI and scripts call this.

``plan_matrix`` reads a matrix TOML file and plans it against the installed plugins
(pure: no torch), ``check_planned`` runs the pre-flight on the plan (extras, data files,
teachers: reads, never writes), ``run_planned`` runs that pre-flight then computes the
pending rows into the results store, and ``run_matrix`` does both. ``stored_statuses`` is
what a dry run reads of the store, without writing it. Printing, the leaderboard and
signal handling are the caller's (``bench run`` does them); the stage cache is
``$BENCH_CACHE_DIR`` or ~/.cache/distill-bench unless ``cache_dir`` says otherwise.

    if __name__ == "__main__":  # measuring starts a fresh interpreter that imports __main__
        summary = run_matrix("benchmarks/quick.toml", data_dir=resolve_data_dir(None))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill_bench.execute.preflight import check_plan, load_datasets
from distill_bench.execute.summary import RunSummary
from distill_bench.matrix.keys import STAGE_VERSIONS
from distill_bench.matrix.model import Matrix, load_matrix
from distill_bench.matrix.plan import Plan, make_plan
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.registry import (
    BUILTIN_PLUGINS,
    Registry,
    load_registry,
    make_plugin_manager,
)
from distill_bench.store.cache import Cache, default_cache_dir, fingerprint_tree
from distill_bench.store.peek import stored_statuses as _peek
from distill_bench.store.results import Store

DATA_ENV = "BENCH_DATA_DIR"
STORE_FILE = "bench.sqlite"  # the results store, in the results directory


@dataclass(frozen=True)
class PlannedMatrix:
    """A matrix planned against a registry: what ``run_planned`` runs."""

    matrix: Matrix
    registry: Registry
    plan: Plan
    data_dir: Path | None  # None: datasets load from the Hugging Face Hub
    cache: Cache


def resolve_data_dir(arg: str | None) -> Path | None:
    """The local data directory: ``arg`` (``--data-dir``), else ``$BENCH_DATA_DIR``, else
    None (datasets load from the Hugging Face Hub). A directory that does not exist is a
    ``BenchError`` naming where it came from."""
    value = arg or os.environ.get(DATA_ENV)
    if not value:
        return None  # datasets load from the Hugging Face Hub
    path = Path(value)
    if not path.is_dir():
        source = "--data-dir" if arg else DATA_ENV
        raise BenchError(
            f"{source}: data directory {path} does not exist (expected the layout of shared/data)"
        )
    return path


def data_source(data_dir: Path | None) -> str:
    """What stage keys say about where the data came from (the data dir is read whole to
    fingerprint it: do it once per run)."""
    return f"dir:{fingerprint_tree(data_dir)}" if data_dir else "hub"


def plan_matrix(
    matrix_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    disabled: Sequence[str] = (),
) -> PlannedMatrix:
    """Load and plan a matrix. ``data_dir``: the local data directory (the CLI passes
    ``resolve_data_dir(--data-dir)``), None for the Hub; ``disabled``: plugins blocked
    by name."""
    matrix = load_matrix(matrix_path)
    registry = load_registry(disabled)
    data = Path(data_dir) if data_dir is not None else None
    plan = make_plan(matrix, registry, data_source(data))
    cache = Cache(Path(cache_dir) if cache_dir else default_cache_dir())
    return PlannedMatrix(matrix, registry, plan, data, cache)


def open_store(results_dir: str | Path) -> Store:
    """The results store of ``results_dir`` (its bench.sqlite), created if missing."""
    return Store(Path(results_dir) / STORE_FILE)


def stored_statuses(results_dir: str | Path, matrix_name: str) -> dict[str, str]:
    """Row key -> status ("ok" / "failed") of a matrix's rows in ``results_dir``'s store,
    read without creating, changing or locking any file (none when there is no store)."""
    return _peek(Path(results_dir) / STORE_FILE, matrix_name)


def check_planned(planned: PlannedMatrix, executor: str = "local") -> None:
    """The pre-flight of a planned matrix (``preflight.check_plan``): the extras it needs
    (and Ray for ``executor="ray"``), each dataset's files and each teacher, checked
    without training, loading data or writing anything. ``BenchError`` on the first problem.
    ``bench run --dry-run`` runs it alone; ``run_planned`` runs it first."""
    check_plan(planned.plan, planned.registry, planned.data_dir, executor)


def plugin_modules(disabled: Sequence[str] = ()) -> tuple[str, ...]:
    """Plugins registered as modules, neither built in nor from an entry point: a
    measuring subprocess or a Ray worker imports them by name to see the same plugins."""
    pm = make_plugin_manager(disabled=disabled)
    entrypoint_plugins = {id(p) for p, _ in pm.list_plugin_distinfo()}
    return tuple(
        name
        for name, p in pm.list_name_plugin()
        if p is not None
        and name not in BUILTIN_PLUGINS
        and id(p) not in entrypoint_plugins
        and hasattr(p, "__name__")
    )


def run_planned(
    planned: PlannedMatrix,
    *,
    results_dir: str | Path = Path("results"),
    executor: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    gpus_per_task: float | None = None,
    jobs: int | None = None,
    retry_failed: bool = False,
    disabled: Sequence[str] = (),
    progress: Progress | None = None,
) -> RunSummary:
    """Compute the plan's pending rows into ``results_dir``'s store and say what was done.

    ``executor``: "local" (training on a pool of ``jobs`` processes, default one per core
    without a GPU; then evaluation and measurement in this process, one row at a time) or
    "ray" (with ``address``, ``num_cpus``, ``gpus_per_task``); ``retry_failed``: rerun rows
    stored as failed; ``progress``: where bars and log lines go (default: nowhere). The pre-flight (``check_planned``) runs
    before anything is written, then every dataset loads before anything trains: bad input
    is a ``BenchError``. Writes no leaderboard.
    """
    check_planned(planned, executor)  # as --dry-run does: nothing written before it passes
    # imported here, not above: they import torch, and planning (bench run --dry-run,
    # bench report) must not; after the pre-flight, so bad input fails in a second
    from distill_bench.execute.executors import make_executor
    from distill_bench.execute.runner import Runner
    from distill_bench.stages.measure.environment import git_commit

    git_commit()  # the code that runs is the code checked out now, not when a row is written

    plan, cache = planned.plan, planned.cache
    store = open_store(results_dir)
    run_with = make_executor(
        executor,
        Path(planned.matrix.path).read_text(encoding="utf-8"),
        plan.data_source,  # hashed once: the data dir is read whole to fingerprint it
        address,
        num_cpus,
        gpus_per_task,
        jobs,
    )
    cache.clean_scratch(STAGE_VERSIONS)  # what killed runs left; keys being written stay
    modules = plugin_modules(disabled)
    progress = quiet if progress is None else progress
    runner = Runner(
        plan,
        planned.registry,
        cache,
        store,
        planned.data_dir,
        progress,
        plugin_modules=modules,
        disabled=tuple(disabled),
        retry_failed=retry_failed,
    )
    with progress:
        load_datasets(runner.ctx)
        return run_with.run(runner)


def run_matrix(
    matrix_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    disabled: Sequence[str] = (),
    **options,
) -> RunSummary:
    """``plan_matrix`` then ``run_planned`` (``options``: run_planned's keywords)."""
    planned = plan_matrix(matrix_path, data_dir=data_dir, cache_dir=cache_dir, disabled=disabled)
    return run_planned(planned, disabled=disabled, **options)
