"""The `bench` command: list plugins, plan and run matrices, write leaderboards.

Listing and planning never import torch; only `bench run` without --dry-run does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import KINDS

DATA_ENV = "BENCH_DATA_DIR"


def _console():
    from rich.console import Console

    # soft_wrap: long plan lines stay whole in logs; markup off: labels contain [brackets]
    console = Console(highlight=False, soft_wrap=True, markup=False)
    if not console.is_terminal:  # logs and CI: wide enough that leaderboards stay readable
        console.width = max(console.width, 200)
    return console


def _data_dir(arg: str | None) -> Path | None:
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


def cmd_list(args) -> int:
    from distill_bench.plugin_api.registry import load_registry

    registry = load_registry(args.disable_plugin)
    if args.kind and args.kind not in KINDS:
        raise BenchError(f"unknown kind {args.kind!r} (kinds: {', '.join(KINDS)})")
    console = _console()
    for kind in [args.kind] if args.kind else KINDS:
        console.print(kind, style="bold")
        for name, spec in sorted(registry.specs[kind].items()):
            flags = []
            for attr in (
                "primary_metric",
                "exposes",
                "needs",
                "uses",
                "gold_labels",
                "needs_teacher",
            ):
                value = getattr(spec, attr, None)
                if value is not None and value != frozenset():
                    shown = ", ".join(sorted(value)) if isinstance(value, frozenset) else value
                    flags.append(f"{attr}={shown}")
            console.print(f"  {name}  {spec.description}")
            if flags:
                console.print(f"      {'; '.join(flags)}", style="dim")
            for opt in spec.options:
                default = "required" if opt.default is None else repr(opt.default)
                console.print(f"      {opt.name} = {default}  ({opt.type.__name__}) {opt.help}")
        console.print()
    return 0


def cmd_dataset_show(args) -> int:
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.stages.data.stats import describe_dataset, parse_options

    registry = load_registry(args.disable_plugin)
    names = sorted(registry.specs["datasets"]) if args.dataset == "all" else [args.dataset]
    for name in names:
        print(
            describe_dataset(
                registry,
                name,
                parse_options(args.option),
                _data_dir(args.data_dir),
                tokenizer_file=args.tokenizer,
                max_examples=args.max_examples or None,
            ),
            flush=True,
        )
    return 0


def cmd_augment_preview(args) -> int:
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.stages.data.stats import parse_options
    from distill_bench.stages.transfer.preview import preview, render

    if args.n < 1 or args.per_example < 1 or args.pool < 0:
        raise BenchError("augment preview: -n and --per-example must be >= 1, --pool >= 0")
    result = preview(
        load_registry(args.disable_plugin),
        args.augmenter,
        args.dataset,
        parse_options(args.option),
        _data_dir(args.data_dir),
        dataset_options=parse_options(args.dataset_option),
        n=args.n,
        per_example=args.per_example,
        pool=args.pool,
        seed=args.seed,
        teacher=args.teacher,
    )
    render(result, _console())
    return 0


def cmd_plugins(args) -> int:
    from distill_bench.plugin_api.registry import make_plugin_manager, plugin_origins

    console = _console()
    pm = make_plugin_manager(disabled=args.disable_plugin)
    for name, origin, hooks in plugin_origins(pm):
        console.print(f"{name}: {origin}" + (f"\n    hooks: {hooks}" if hooks else ""))
    return 0


def _data_source(data_dir: Path | None) -> str:
    """What stage keys say about where the data came from."""
    from distill_bench.store.cache import fingerprint_tree

    return f"dir:{fingerprint_tree(data_dir)}" if data_dir else "hub"


def _planned(args):
    from distill_bench.matrix.model import load_matrix
    from distill_bench.matrix.plan import make_plan
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.store.cache import Cache, default_cache_dir

    matrix = load_matrix(args.matrix)
    registry = load_registry(args.disable_plugin)
    data_dir = _data_dir(args.data_dir)
    plan = make_plan(matrix, registry, _data_source(data_dir))
    cache = Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    return matrix, registry, data_dir, plan, cache


def _store(args):
    from distill_bench.store.results import Store

    return Store(Path(args.results_dir) / "bench.sqlite")


def print_plan(plan, cache, store, console) -> None:
    console.print(f"matrix {plan.matrix.name} ({plan.matrix.path})", style="bold")
    console.print(
        f"{len(plan.cells)} cells + {len(plan.teacher_rows)} teacher rows; "
        f"{len(plan.dropped)} dropped as incompatible"
    )
    console.print("\nshared stages", style="bold")
    for stage in plan.stages:
        state = "cached" if cache.exists(stage.kind, stage.key) else "to compute"
        console.print(f"  {stage.kind:<9} {stage.key}  {state:<10}  {stage.label}")
    console.print("\ncells", style="bold")
    # failed rows stay failed on a plain run; --retry-failed reruns them
    stored = {k: {"ok": "done"}.get(v, v) for k, v in store.statuses(plan.matrix.name).items()}
    for row in plan.teacher_rows:
        done = stored.get(row.key, "to run")
        console.print(
            f"  {done:<7} {row.dataset.name} | {row.teacher.name} (teacher row, seed {row.seed})"
        )
    for cell in plan.cells:
        done = stored.get(cell.key) or (
            "cached" if cache.exists("student", cell.student_key) else "to run"
        )
        console.print(f"  {done:<7} {cell.label}")
    if plan.dropped:
        console.print("\ndropped", style="bold")
        for d in plan.dropped:
            console.print(f"  {d.label}: {d.reason}")


def _preamble(plan, rows) -> str:
    """How the table was made, from the rows themselves: rewriting the report from the
    store (or re-running a finished matrix) gives the same file."""
    from distill_bench.report.leaderboard import total_compute_seconds

    b, m = plan.matrix.budget, plan.matrix
    env = rows[0].environment if rows else {}
    commits = sorted({r.environment.get("git_commit") or "?" for r in rows})
    stamps = sorted(r.created_at[:16].replace("T", " ") for r in rows)  # ISO, to the minute
    lines = [
        f"Matrix `{m.path}`" + (f": {m.description}" if m.description else ""),
        "",
        f"Reproduce: `bench run --matrix {m.path}` (with `BENCH_DATA_DIR` pointing at the data).",
        f"Hardware: {env.get('cpu', '?')}, {env.get('cpu_count', '?')} CPUs, GPU: {env.get('gpu') or 'none'};"
        f" measured with {m.measure.threads} thread{'s' if m.measure.threads != 1 else ''}; torch {env.get('packages', {}).get('torch', '?')},"
        f" Python {env.get('python', '?')}; commit{'s' if len(commits) > 1 else ''} {', '.join(commits) or '?'}.",
        f"Budget: train examples {b.max_train_examples or 'all'}, selection {b.max_select_examples or 'all'}, "
        f"teacher {b.teacher_epochs} epochs at lr {b.teacher_lr:g}, students {b.student_epochs} epochs "
        f"at lr {b.student_lr:g}, max length {b.max_length}; seeds {list(m.seeds)}"
        + (
            f" (students; one teacher from seed {b.teacher_seed})"
            if b.teacher_seed is not None
            else ""
        )
        + ".",
        f"Time: {total_compute_seconds(rows) / 60:.1f} min of stage compute (each shared stage counted "
        f"once), rows written {stamps[0] if stamps else '?'} to {stamps[-1] if stamps else '?'} UTC.",
    ]
    return "\n".join(lines)


def _report_options(args) -> tuple[list[str] | None, str | None]:
    from distill_bench.report.leaderboard import COLUMNS, check_columns

    names = None
    if getattr(args, "columns", None):
        try:
            names = check_columns([c.strip() for c in args.columns.split(",") if c.strip()])
        except ValueError as exc:
            raise BenchError(f"--columns: {exc}") from None
    sort = getattr(args, "sort", None)
    if sort and sort not in COLUMNS:
        raise BenchError(f"--sort: unknown column {sort!r} (columns: {', '.join(COLUMNS)})")
    return names, sort


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two runs may write at once
    tmp.write_text(text)
    tmp.replace(path)


def planned_rows(plan, store) -> tuple[list, int]:
    """The stored rows of the plan's cells and teacher rows, and how many other rows of the
    same matrix name the store holds (an older version of it, or another data dir)."""
    planned = {c.key for c in plan.cells} | {t.key for t in plan.teacher_rows}
    stored = store.rows(plan.matrix.name)
    rows = [r for r in stored if r.key in planned]
    return rows, len(stored) - len(rows)


def write_report(plan, store, args, console) -> Path:
    from distill_bench.report.leaderboard import (
        render_csv,
        render_json,
        render_markdown,
        rich_tables,
    )

    names, sort = _report_options(args)
    rows, others = planned_rows(plan, store)
    if others:  # an older version of the matrix, or another data dir
        console.print(
            f"note: {others} stored rows of matrix {plan.matrix.name!r} belong to "
            "another configuration (options, budget or data dir) and are not shown"
        )
    results = Path(args.results_dir)
    fmt = getattr(args, "format", "md")
    if fmt in ("csv", "json"):
        out = results / f"{plan.matrix.name}.{fmt}"
        _write_atomic(out, (render_csv if fmt == "csv" else render_json)(rows, names, sort))
        console.print(f"{fmt.upper()} written to {out}")
        return out
    plots = []
    if not getattr(args, "no_plots", False):
        try:
            from distill_bench.report.plots import write_plots

            plots = write_plots(rows, results, plan.matrix.name)
        except BenchError as exc:  # matplotlib is optional: the tables still get written
            console.print(f"note: no plots: {exc}")
    markdown = render_markdown(
        f"Leaderboard: {plan.matrix.name}",
        rows,
        dropped=[(d.label, d.reason) for d in plan.dropped],
        preamble=_preamble(plan, rows),
        names=names,
        sort=sort,
        plots=plots,
    )
    out = results / f"{plan.matrix.name}.md"
    _write_atomic(out, markdown)
    for table in rich_tables(rows, names, sort):
        console.print(table)
    console.print(f"leaderboard written to {out}")
    return out


def cmd_run(args) -> int:
    matrix, registry, data_dir, plan, cache = _planned(args)
    store = _store(args)
    console = _console()
    if args.dry_run:
        print_plan(plan, cache, store, console)
        return 0
    from distill_bench.execute.executors import make_executor
    from distill_bench.execute.runner import Runner, StageFailed
    from distill_bench.matrix.plan import STAGE_VERSIONS
    from distill_bench.plugin_api.progress import PrintProgress, RichProgress
    from distill_bench.plugin_api.registry import BUILTIN_PLUGINS, make_plugin_manager

    _stop_on_sigterm()
    executor = make_executor(
        args.executor,
        Path(args.matrix).read_text(encoding="utf-8"),
        plan.data_source,  # hashed once: the data dir is read whole to fingerprint it
        args.address,
        args.num_cpus,
        args.gpus_per_task,
    )
    cache.clean_scratch(STAGE_VERSIONS)  # what killed runs left; keys being written stay

    pm = make_plugin_manager(disabled=args.disable_plugin)
    entrypoint_plugins = {id(p) for p, _ in pm.list_plugin_distinfo()}
    modules = tuple(
        name
        for name, p in pm.list_name_plugin()
        if p is not None
        and name not in BUILTIN_PLUGINS
        and id(p) not in entrypoint_plugins
        and hasattr(p, "__name__")
    )
    started = time.perf_counter()
    progress = RichProgress(console) if console.is_terminal else PrintProgress()
    runner = Runner(
        plan, registry, cache, store, data_dir, progress, modules, tuple(args.disable_plugin),
        retry_failed=args.retry_failed,
    )  # fmt: skip
    with progress:
        # load every dataset first: a missing file stops the run before any training
        for cell in [*plan.teacher_rows, *plan.cells]:
            try:
                runner.task(cell.dataset, cell.data_seed, cell.data_key)
            except StageFailed as failure:
                raise BenchError(f"dataset {cell.dataset.name!r}: {failure.error}") from None
        # and every teacher against its dataset: a bad model path fails here, not mid-matrix
        for row in plan.teacher_rows:
            teacher = runner.teacher_model(row.teacher)
            if hasattr(teacher, "check"):
                teacher.check(runner.task(row.dataset, row.data_seed, row.data_key))
        summary = executor.run(runner)
    seconds = time.perf_counter() - started
    write_report(plan, store, args, console)
    computed = ", ".join(f"{k} {v}" for k, v in summary.computed.items()) or "nothing (all cached)"
    console.print(
        f"{summary.ok} rows ok, {summary.failed} failed, {summary.skipped} already in the store; "
        f"computed: {computed}; {seconds:.1f} s"
    )
    if summary.failed_before:
        console.print(
            f"{summary.failed_before} rows failed in an earlier run and were left alone "
            "(bench run --retry-failed reruns them)"
        )
    return summary.exit_code


def _stop_on_sigterm() -> None:
    """A scheduler's SIGTERM (preemption) stops the run like Ctrl-C: rows written stay."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def cmd_report(args) -> int:
    _, _, _, plan, _ = _planned(args)
    write_report(plan, _store(args), args, _console())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="block a plugin by name (repeatable; also BENCH_DISABLE_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="registered components, their options and defaults")
    p.add_argument("kind", nargs="?", help=f"one of: {', '.join(KINDS)}")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("datasets", help="dataset statistics: splits, labels, token lengths")
    datasets_sub = p.add_subparsers(dest="datasets_command", required=True)
    p = datasets_sub.add_parser("show", help="load a dataset and describe its splits")
    p.add_argument("dataset", help="a dataset name, or 'all'")
    p.add_argument("-o", "--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a dataset option (repeatable), e.g. -o include_oos=true")  # fmt: skip
    p.add_argument("--data-dir", help=f"local data directory (default ${DATA_ENV}; none: the Hub)")
    p.add_argument("--tokenizer", help="tokenizer.json for lengths (default: MiniLM's WordPiece)")
    p.add_argument("--max-examples", type=int, default=5000,
                   help="texts per split tokenized for lengths (0 = all; sizes are always exact)")  # fmt: skip
    p.set_defaults(func=cmd_dataset_show)

    p = sub.add_parser("augment", help="see what an augmenter does")
    augment_sub = p.add_subparsers(dest="augment_command", required=True)
    p = augment_sub.add_parser("preview", help="training sentences next to their augmentations")
    p.add_argument("augmenter", help="an augmenter name (bench list augmenters)")
    p.add_argument("--dataset", default="sst2", help="dataset whose training split is augmented")
    p.add_argument("-d", "--dataset-option", action="append", default=[], metavar="NAME=VALUE",
                   help="a dataset option (repeatable), e.g. -d max_labeled=1000")  # fmt: skip
    p.add_argument("-n", type=int, default=5, help="original sentences shown")
    p.add_argument("--per-example", type=int, default=3, help="augmentations shown per original")
    p.add_argument("-o", "--option", action="append", default=[], metavar="NAME=VALUE",
                   help="an augmenter option (repeatable), e.g. -o p_mask=0.3")  # fmt: skip
    p.add_argument("--pool", type=int, default=2000,
                   help="training sentences the augmenter runs on (a seeded sample; 0 = all)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="sampling and augmentation seed")
    p.add_argument("--teacher", default="minilm-l6",
                   help="teacher whose pretrained vocabulary/embeddings eda reads")  # fmt: skip
    p.add_argument("--data-dir", help=f"local data directory (default ${DATA_ENV}; none: the Hub)")
    p.set_defaults(func=cmd_augment_preview)

    p = sub.add_parser("plugins", help="loaded plugins and where they come from")
    p.set_defaults(func=cmd_plugins)

    for name, func, text in (
        ("run", cmd_run, "run a matrix (or --dry-run to see its plan)"),
        ("report", cmd_report, "rewrite a matrix's leaderboard from the store"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--matrix", required=True, help="matrix TOML file")
        p.add_argument(
            "--data-dir", help=f"local data directory (default ${DATA_ENV}; none: the Hub)"
        )
        p.add_argument(
            "--cache-dir", help="stage cache (default $BENCH_CACHE_DIR or ~/.cache/distill-bench)"
        )
        p.add_argument(
            "--results-dir", default="results", help="where bench.sqlite and leaderboards live"
        )
        if name == "run":
            p.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
            p.add_argument(
                "--retry-failed",
                action="store_true",
                help="rerun rows stored as failed (a plain run leaves them and reports them)",
            )
            p.add_argument("--executor", choices=("local", "ray"), default="local",
                           help="local: this process, one row at a time; ray: stages as Ray tasks")  # fmt: skip
            p.add_argument("--address", help="Ray cluster to join (default: $RAY_ADDRESS, "
                           "else start a local one); the cache dir must be on a path every node sees")  # fmt: skip
            p.add_argument(
                "--num-cpus", type=int, help="CPUs of a local Ray cluster (default: all)"
            )
            p.add_argument("--gpus-per-task", type=float,
                           help="GPUs a Ray model stage asks for (default: 1 if the cluster has GPUs)")  # fmt: skip
        if name == "report":
            p.add_argument("--format", choices=("md", "csv", "json"), default="md",
                           help="md: results/<matrix>.md with plots (default); csv/json: every "
                           "entry and variant, raw values, to results/<matrix>.csv|json")  # fmt: skip
        p.add_argument("--columns", metavar="A,B,...",
                       help="columns of the table (default: a compact view); "
                       "see distill_bench.report.leaderboard.COLUMNS")  # fmt: skip
        p.add_argument("--sort", metavar="COLUMN",
                       help="order students by a column, best first (teachers stay on top)")  # fmt: skip
        p.add_argument("--no-plots", action="store_true", help="write no PNG/SVG plots")
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "bench: interrupted; finished rows are in the store, run again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
