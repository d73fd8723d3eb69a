"""``bench analyze``: what a matrix's students learnt, read from the per-example predictions
its run stored (``distill_bench.analysis``); writes ``results/<matrix>-analysis.md``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from distill_bench.analysis.errors import softmax_top, teacher_errors
from distill_bench.analysis.page import Evaluation, analysis_markdown, entry_runs
from distill_bench.analysis.probe_plots import write_probe_plot
from distill_bench.analysis.probes import built, probe_section, verdicts
from distill_bench.cli.common import console
from distill_bench.cli.report import add_matrix_arguments, planned
from distill_bench.execute.api import open_store
from distill_bench.execute.probes import ProbePlan, probe_jobs, run_probes
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import PrintProgress
from distill_bench.plugin_api.tasks import subsample
from distill_bench.report.page import planned_rows
from distill_bench.stages.probe.plan import CLASSIFIERS, ProbeConfig


def evaluations(planned_matrix, only: set[str]) -> dict[str, Evaluation]:
    """Each dataset's evaluation split as its data stage made it (the dataset plugin, then
    the budget's subsample with the first teacher row's data seed), for datasets ``only``."""
    budget, out = planned_matrix.matrix.budget, {}
    for row in planned_matrix.plan.teacher_rows:
        if row.dataset.name in out or row.dataset.name not in only:
            continue
        spec = planned_matrix.registry.get("datasets", row.dataset.plugin)
        task = subsample(
            spec.factory(row.dataset.options_dict(), planned_matrix.data_dir),
            budget.max_train_examples,
            budget.max_select_examples,
            row.data_seed,
            budget.max_eval_examples,
        )
        out[row.dataset.name] = Evaluation(
            row.dataset.name,
            task.evaluation.texts,
            task.label_names,
            task.primary_metric,
            row.dataset.plugin,
        )
    return out


# the teacher stage's evaluation logits (stages.teacher.stage.PREDICTIONS; a test keeps
# the two names equal): read here with numpy, so analyze imports no torch
TEACHER_PREDICTIONS = "predictions.safetensors"


def teacher_confidence(planned_matrix) -> dict[str, np.ndarray]:
    """Per dataset, the first teacher row's top probability on each evaluation example,
    from its stage-cache entry; a dataset whose entry is gone is left out."""
    from safetensors.numpy import load_file  # numpy only, no torch

    out: dict[str, np.ndarray] = {}
    for row in planned_matrix.plan.teacher_rows:
        entry = planned_matrix.cache.get("teacher", row.teacher_key)
        if row.dataset.name in out or entry is None or not (entry / TEACHER_PREDICTIONS).is_file():
            continue
        logits = load_file(str(entry / TEACHER_PREDICTIONS))["evaluation"]
        out[row.dataset.name] = softmax_top(logits.astype(np.float64))
    return out


def probe_config(args, planned_matrix) -> ProbeConfig:
    return ProbeConfig(
        per_probe=args.probe_examples,
        pool=args.probe_pool,
        classifier=args.probe_classifier,
        runs=args.probe_runs,
        max_length=planned_matrix.matrix.budget.max_length,
    )


def print_probe_plan(out, plan: ProbePlan) -> None:
    for dataset, why in plan.skipped.items():
        out.print(f"{dataset}: no probes ({why})", highlight=False)
    for dataset, key in plan.sets.items():
        state = "cached" if plan.sets_cached[dataset] else "to compute"
        out.print(f"  probe_sets {key}  {state:<10}  {dataset}", highlight=False)
        for job in (j for j in plan.jobs if j.dataset == dataset):
            state = "cached" if job.cached else "to compute"
            out.print(
                f"  probe      {job.key}  {state:<10}  {job.entry} (teacher seed {job.unit[0]}, "
                f"seed {job.unit[1]})",
                highlight=False,
            )


def probe_sections(found, usable, args) -> dict[str, list[str]]:
    """Per dataset, the probing section's markdown (probes computed where not cached)."""
    config = probe_config(args, found)
    plan = probe_jobs(found, usable, config)
    sections = {
        d: [f"### {d}: probing", "", f"No probes: {why}.", ""] for d, why in plan.skipped.items()
    }
    with PrintProgress() as progress:
        results = run_probes(found, plan, config, progress)
    for dataset, probes in results.items():
        plot = None
        if not args.no_plots and probes.entries:
            name = f"{found.matrix.name}-probes-{dataset}"
            shown = built(probes.sets)
            chance = {p: probes.entries[0].majority(p) for p in shown}
            plot = "plots/" + write_probe_plot(
                probes.entries, shown, chance, Path(args.results_dir) / "plots" / name
            )
        sections[dataset] = probe_section(dataset, probes.sets, probes.entries, plot)
        print_verdicts(dataset, probes)
    return sections


def print_verdicts(dataset: str, probes) -> None:
    """The probing summary in the terminal: per student entry, which probes it keeps."""
    from rich.table import Table  # as the other commands: rich loads when it prints

    if len(probes.entries) < 2:
        return
    shown = built(probes.sets)
    chance = {p: probes.entries[0].majority(p) for p in shown}
    table = Table(title=f"{dataset}: probes against the teacher", title_justify="left")
    words = ("kept", "less", "more", "lost (at chance)", "undecided", "teacher at chance")
    for name in ("student", *words):
        table.add_column(name)
    found = verdicts(probes.entries[0], probes.entries[1:], shown, chance)
    for entry, by_word in found.items():
        table.add_row(entry, *(", ".join(by_word.get(w, [])) for w in words))
    console().print(table)


def reproduce_flags(args) -> str:
    """The options that shaped the page, for its reproduce line (defaults left out)."""
    defaults = ProbeConfig()
    flags = [f"--datasets {args.datasets}"] if args.datasets else []
    if not args.no_probes:
        for flag, value, default in (
            ("--probe-runs", args.probe_runs, defaults.runs),
            ("--probe-examples", args.probe_examples, defaults.per_probe),
            ("--probe-pool", args.probe_pool, defaults.pool),
            ("--probe-classifier", args.probe_classifier, defaults.classifier),
        ):
            if value != default:
                flags.append(f"{flag} {value}")
    return "".join(f" {f}" for f in flags)


def cmd_analyze(args) -> int:
    found = planned(args)
    rows, _ = planned_rows(found.plan, open_store(args.results_dir))
    usable = [r for r in rows if r.status == "ok" and "eval_predictions" in r.metrics]
    if args.datasets:
        known = {t.dataset.name for t in found.plan.teacher_rows}
        wanted = [d.strip() for d in args.datasets.split(",") if d.strip()]
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise BenchError(
                f"--datasets: {unknown[0]!r} is no dataset entry of {args.matrix} "
                f"({', '.join(sorted(known))})"
            )
        usable = [r for r in usable if r.dataset in wanted]
    if not usable:
        raise BenchError(
            f"{args.matrix}: no finished rows with per-example predictions in "
            f"{Path(args.results_dir) / 'bench.sqlite'}; run `bench run --matrix {args.matrix}` first"
        )
    if args.dry_run:
        out = console()
        for dataset, runs in entry_runs(usable).items():
            out.print(f"{dataset}: {len(runs)} entries, {sum(len(r.by_unit) for r in runs)} runs")
        if not args.no_probes:
            print_probe_plan(out, probe_jobs(found, usable, probe_config(args, found)))
        return 0
    splits = evaluations(found, {r.dataset for r in usable})
    for r in usable:
        split = splits.get(r.dataset)
        if split is None or len(split.texts) != len(r.metrics["eval_labels"]):
            raise BenchError(
                f"dataset {r.dataset!r}: its evaluation split ({len(split.texts) if split else 0} "
                f"examples) is not the one row {r.key[:12]} was scored on "
                f"({len(r.metrics['eval_labels'])}); did the data dir change?"
            )
    probes = None if args.no_probes else probe_sections(found, usable, args)
    path = Path(args.results_dir) / f"{found.matrix.name}-analysis.md"
    page = analysis_markdown(
        found.matrix.name,
        args.matrix + reproduce_flags(args),
        splits,
        usable,
        teacher_confidence(found),
        probes,
    )
    path.write_text(page)
    out = console()
    for dataset, runs in entry_runs(usable).items():
        if len(runs) < 2:
            continue
        gold = next(r for r in usable if r.dataset == dataset).metrics["eval_labels"]
        for student in runs[1:]:
            e = teacher_errors(np.asarray(gold), runs[0], student)
            out.print(
                f"{dataset} | {student.label}: repeats {e.repeated.mean:.1f}% of the "
                f"teacher's {e.teacher_errors:.0f} errors, fixes {e.fixed:.1f}%",
                highlight=False,
            )
    out.print(f"analysis written to {path}")
    return 0


def add_analyze_parser(sub) -> None:
    p = sub.add_parser(
        "analyze",
        help="what the students learnt, from the stored predictions (results/<matrix>-analysis.md)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_matrix_arguments(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be analysed and probed; write nothing",
    )
    defaults = ProbeConfig()
    p.add_argument(
        "--no-probes",
        action="store_true",
        help="leave out the probing section (no spaCy, no models loaded)",
    )
    p.add_argument(
        "--probe-runs", type=int, default=defaults.runs, metavar="N",
        help="runs of each entry to probe, spread over teacher seeds first",
    )  # fmt: skip
    p.add_argument(
        "--probe-examples", type=int, default=defaults.per_probe, metavar="N",
        help="examples per probe task (train, dev and test together)",
    )  # fmt: skip
    p.add_argument(
        "--probe-pool", type=int, default=defaults.pool, metavar="N",
        help="training sentences parsed to build the probe sets",
    )  # fmt: skip
    p.add_argument(
        "--probe-classifier", choices=CLASSIFIERS, default=defaults.classifier,
        help="logistic regression, or an MLP with one hidden layer",
    )  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="write no probe plots")
    p.add_argument(
        "--datasets", metavar="A,B,...", help="analyse these dataset entries only (default: all)"
    )
    p.set_defaults(func=cmd_analyze)
