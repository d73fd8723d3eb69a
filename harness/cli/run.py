"""``bench run``: run a matrix through the library (``distill_bench.execute.api``), or with
``--dry-run`` check it and print its plan: each shared stage cached or to compute, each
cell done, failed, cached or to run. A dry run runs the real run's pre-flight (extras,
data files, teachers: the same one-line error for the same bad input) and writes nothing:
no store, cache entry, lock or data cache. After a run: the leaderboard, then one
summary line.
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path

from distill_bench.cli.common import console
from distill_bench.cli.report import (
    add_matrix_arguments,
    add_table_arguments,
    planned,
    write_and_show_leaderboard,
)
from distill_bench.execute.api import check_planned, open_store, run_planned, stored_statuses
from distill_bench.plugin_api.progress import PrintProgress, RichProgress
from distill_bench.report.page import planned_rows
from distill_bench.report.render import row_label
from distill_bench.report.timing import breakdown_text, slowest_rows


def print_plan(plan, cache, statuses: dict[str, str], out) -> None:
    """The plan, each stage and row with its state: ``statuses`` are the stored rows'
    (``stored_statuses``), the cache is only looked at."""
    out.print(f"matrix {plan.matrix.name} ({plan.matrix.path})", style="bold")
    out.print(
        f"{len(plan.cells)} cells + {len(plan.teacher_rows)} teacher rows; "
        f"{len(plan.dropped)} dropped as incompatible; "
        + (f"{plan.excluded} excluded by the matrix; " if plan.excluded else "")
        + "pre-flight passed (extras, data files, teachers)"
    )
    out.print("\nshared stages", style="bold")
    for stage in plan.stages:
        state = "cached" if cache.exists(stage.kind, stage.key) else "to compute"
        out.print(f"  {stage.kind:<9} {stage.key}  {state:<10}  {stage.label}")
    out.print("\ncells", style="bold")
    # failed rows stay failed on a plain run; --retry-failed reruns them
    stored = {k: {"ok": "done"}.get(v, v) for k, v in statuses.items()}
    for row in plan.teacher_rows:
        done = stored.get(row.key, "to run")
        out.print(
            f"  {done:<7} {row.dataset.name} | {row.teacher.name} (teacher row, seed {row.seed})"
        )
    for cell in plan.cells:
        done = stored.get(cell.key) or (
            "cached" if cache.exists("student", cell.student_key) else "to run"
        )
        out.print(f"  {done:<7} {cell.label}")
    if plan.dropped:
        out.print("\ndropped", style="bold")
        for d in plan.dropped:
            out.print(f"  {d.label}: {d.reason}")


def _stop_on_sigterm() -> None:
    """A scheduler's SIGTERM (preemption) stops the run like Ctrl-C: rows written stay."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def cmd_run(args) -> int:
    matrix = planned(args)
    out = console()
    if args.dry_run:  # the real run's checks, then the plan; nothing is written
        check_planned(matrix, args.executor)
        statuses = stored_statuses(args.results_dir, matrix.plan.matrix.name)
        print_plan(matrix.plan, matrix.cache, statuses, out)
        return 0
    _stop_on_sigterm()
    started = time.perf_counter()
    summary = run_planned(
        matrix,
        results_dir=Path(args.results_dir),
        executor=args.executor,
        address=args.address,
        num_cpus=args.num_cpus,
        gpus_per_task=args.gpus_per_task,
        jobs=args.jobs,
        retry_failed=args.retry_failed,
        disabled=tuple(args.disable_plugin),
        progress=RichProgress(out) if out.is_terminal else PrintProgress(),
    )
    seconds = time.perf_counter() - started
    store = open_store(args.results_dir)
    write_and_show_leaderboard(matrix.plan, store, args, out)
    rows = planned_rows(matrix.plan, store)[0]
    if rows:  # where the time of the rows on the page went, shared stages counted once
        out.print(f"stage compute: {breakdown_text(rows)}")
        slowest = "; ".join(f"{row_label(r)} {s:.0f} s" for r, s in slowest_rows(rows))
        out.print(f"slowest rows: {slowest}")
    computed = ", ".join(f"{k} {v}" for k, v in summary.computed.items()) or "nothing (all cached)"
    out.print(
        f"{summary.ok} rows ok, {summary.failed} failed, {summary.skipped} already in the store; "
        f"computed: {computed}; {seconds:.1f} s"
    )
    if summary.failed_before:
        out.print(
            f"{summary.failed_before} rows failed in an earlier run and were left alone "
            "(bench run --retry-failed reruns them)"
        )
    return summary.exit_code


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a matrix (or --dry-run: check it as a run would, see its plan, write nothing)",
    )
    add_matrix_arguments(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the matrix as a run would (extras, data files, teachers) and print its "
        "plan; run and write nothing",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="rerun rows stored as failed (a plain run leaves them and reports them)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: train on a pool of --jobs processes, then evaluate and measure here one "
        "row at a time; ray: stages as Ray tasks",
    )
    p.add_argument(
        "--jobs",
        type=int,
        help="local: processes that train at once, each with its share of the cores "
        "(default: $BENCH_JOBS, else one per core without a GPU, 1 with one)",
    )
    p.add_argument(
        "--address",
        help="Ray cluster to join (default: $RAY_ADDRESS, "
        "else start a local one); the cache dir must be on a path every node sees",
    )
    p.add_argument("--num-cpus", type=int, help="CPUs of a local Ray cluster (default: all)")
    p.add_argument(
        "--gpus-per-task",
        type=float,
        help="GPUs a Ray model stage asks for (default: 1 if the cluster has GPUs)",
    )
    add_table_arguments(p)
    p.set_defaults(func=cmd_run)
