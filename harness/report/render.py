"""Leaderboard pages and tables: markdown for the repository, CSV and JSON of every
entry, rich tables for the terminal, and the small helpers they share (failed-row labels,
the legend, the total stage compute). Pure: no torch; the page around the markdown (its
header, where it is written) is ``page``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from distill_bench.matrix.plan import cell_label
from distill_bench.report.columns import (
    COMPACT,
    DETAILS,
    VARIANTS,
    columns,
    headers,
    records,
    sort_entries,
)
from distill_bench.report.entries import DIRECT, Entry, leaderboards, variant_boards
from distill_bench.report.gpu import gpu_boards, gpu_table
from distill_bench.report.timing import compute_seconds
from distill_bench.store.results import ResultRow


def render_csv(
    rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort: str | None = None
) -> str:
    import csv
    import io
    import json

    table = records(rows, names, sort)
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        for record in table:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, list) else v for k, v in record.items()}
            )
    return buffer.getvalue()


def render_json(
    rows: Sequence[ResultRow], names: Sequence[str] | None = None, sort: str | None = None
) -> str:
    import json

    return json.dumps(records(rows, names, sort), indent=1, sort_keys=False) + "\n"


def row_label(row: ResultRow) -> str:
    if row.role == "teacher":
        return f"{row.dataset} | {row.teacher} (teacher, seed {row.seed})"
    teacher_seed = row.config.get("teacher_seed") if row.config.get("several_teachers") else None
    return cell_label(
        row.dataset, row.teacher, row.student, row.loss, row.augmenter, row.seed, teacher_seed
    )


def failures(rows: Iterable[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if r.status != "ok"]


def _table(entries: Sequence[Entry], names: Sequence[str]) -> str:
    from tabulate import tabulate

    return tabulate(
        [columns(e, names) for e in entries],
        headers=headers(entries, names),
        tablefmt="github",
        disable_numparse=True,
    )


ASSISTANT_LEGEND = (
    "A student named '<student> via <assistant>' learnt from a teacher assistant (the matrix's "
    "[assistants]): the assistant cell's student of the same seeds gave the logits the teacher "
    "would have. Its gain, marked 'vs direct', is against the same student and loss taught by "
    "the teacher itself, paired by seed and example: what the assistant adds."
)

GPU_LEGEND = (
    "The same fp32 models on the GPU named in the header, timed with CUDA synchronised "
    "(median of timed passes, ± relative range), at the [measure] batch size and with every "
    "evaluation sentence in one batch; latency at batch 1; peak alloc.: "
    "torch.cuda.max_memory_allocated while timing. Speed-up is relative to the teacher on "
    "the same GPU."
)

LEGEND = (
    "Columns: the score is the dataset's primary metric x 100 on the named split, mean ± sample "
    "std over seeds. Intervals are 95% and say what they cover: 95% CI (seeds) is a Student-t "
    "interval over the student seeds (over the teachers' means when there are several teachers), "
    "the spread a re-run with other seeds on these same examples would show; 95% CI (seeds + "
    "examples) adds the evaluation set's own sampling noise, which all seeds share (with one seed "
    "it is the evaluation set's interval alone). Gain vs ce-hard: the score minus the same "
    "student's ce-hard score (same data, teacher, augmenter; for an augmenter of unlabelled text, "
    "which has no ce-hard cell, the ce-hard cell on the labelled set alone, marked 'vs none'), "
    "paired by (teacher seed, student seed) and by evaluation example, with its seeds + examples "
    "interval (seeds only, said in 'gain CI covers', for rows without per-example predictions); "
    "* marks a gain whose interval excludes 0. Gain p: exact McNemar (accuracy: examples one side "
    "gets right and the other wrong, pooled over the paired seeds) or a paired permutation test "
    "(other metrics): whether the two cells' predictions on these examples differ, not whether "
    "another seed would. Seeds × teachers; examples: what each entry's intervals rest on (student "
    "seeds per teacher × teacher seeds; evaluation examples). Std "
    "teacher / student: the spread of per-teacher means, and of student seeds around their "
    "teacher's mean. % of teacher divides by the score of the teacher each student learnt from; "
    "% of teacher above chance is (student - chance) / (teacher - chance), chance being the score "
    "of always predicting the evaluation split's majority class (its share for accuracy, 0 for "
    "MCC). Compression and "
    "speed-up are relative to the teacher. Speed and memory are an architecture's: without "
    "deployment variants each model shape is timed once and its seeds and losses share the "
    "figures. CPU sent/s: median of timed passes at a large batch "
    "over real evaluation sentences (± relative range of the passes; passes disturbed by other "
    "processes are re-run, and a figure that could not be measured quietly is marked noisy). "
    "Latency: batch-1 over real sentences. Pareto: the entry is on the board's frontier of score "
    "vs parameters (size) or vs batch-1 latency (no other entry is both smaller/faster and better). "
    "Peak RSS: inference (train: a few training steps) peak resident memory above the measuring "
    "process's baseline, in a fresh process. ECE: expected calibration error x 100 (15 bins); "
    "teacher errors repeated: of the evaluation examples the teacher gets wrong, the share the "
    "student gets wrong too. Variants: torch dynamic int8 and ONNX Runtime fp32/int8 builds of the "
    "same weights, re-scored on the evaluation split and re-timed the same way. Train: the "
    "teacher's fine-tuning or the student's distillation wall time (selection included)."
)


def render_markdown(
    title: str,
    rows: Sequence[ResultRow],
    dropped: Sequence[tuple[str, str]] = (),
    preamble: str = "",
    names: Sequence[str] | None = None,
    sort: str | None = None,
    plots: Sequence[tuple[str, str]] = (),
    boards: dict[str, list[Entry]] | None = None,
) -> str:
    """The leaderboard page. Default view: per dataset a compact table, a details table
    (size, memory, diagnostics) and a deployment-variants table; ``names`` picks the
    main table's columns instead (and leaves out the others); ``plots``: (caption, path).
    ``boards``: ``leaderboards(rows)`` when the caller has it already (its intervals
    resample every cell's predictions: seconds for a large page)."""
    out = [f"# {title}", ""]
    if preamble:
        out += [preamble.rstrip(), ""]
    variants = variant_boards(rows)
    on_gpu = gpu_boards(rows)
    boards = boards if boards is not None else leaderboards(rows)
    for dataset, entries in boards.items():
        if sort:
            entries = sort_entries(entries, sort)
        out += [f"## {dataset}", "", _table(entries, names or COMPACT), ""]
        if names is None:
            out += [f"### {dataset}: size, memory, diagnostics", "", _table(entries, DETAILS), ""]
            if on_gpu.get(dataset):
                out += [f"### {dataset}: GPU", "", GPU_LEGEND, "", gpu_table(on_gpu[dataset]), ""]
            if variants.get(dataset):
                out += [
                    f"### {dataset}: deployment variants",
                    "",
                    _table(variants[dataset], VARIANTS),
                    "",
                ]
    if plots:
        out += ["## Plots", ""]
        for caption, path in plots:
            out += [f"![{caption}]({path})", ""]
    failed = failures(rows)
    if failed:
        out += ["## Failed cells", ""]
        out += [f"- {row_label(r)}: {r.stage}: {r.error}" for r in failed]
        out.append("")
    if dropped:
        out += ["## Cells not run (incompatible)", ""]
        out += [f"- {label}: {reason}" for label, reason in dropped]
        out.append("")
    out += [LEGEND, ""]
    if any(e.gain_vs == DIRECT for entries in boards.values() for e in entries):
        out += [ASSISTANT_LEGEND, ""]
    return "\n".join(out)


def rich_tables(
    rows: Sequence[ResultRow],
    names: Sequence[str] | None = None,
    sort=None,
    boards: dict[str, list[Entry]] | None = None,
):
    from rich.table import Table

    names = names or COMPACT
    tables = []
    boards = boards if boards is not None else leaderboards(rows)
    for dataset, entries in boards.items():
        if sort:
            entries = sort_entries(entries, sort)
        table = Table(title=f"{dataset}", title_justify="left")
        text_columns = {"dataset", "teacher", "student", "loss", "augmenter", "variant", "pareto"}
        for n, h in zip(names, headers(entries, names), strict=True):
            table.add_column(h, justify="left" if n in text_columns else "right")
        for e in entries:
            table.add_row(*columns(e, names), style="bold" if e.role == "teacher" else None)
        tables.append(table)
    return tables


def total_compute_seconds(rows: Iterable[ResultRow]) -> float:
    """Each stage counted once, however many rows share it."""
    return sum(compute_seconds(rows).values())
