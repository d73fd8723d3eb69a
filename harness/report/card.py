"""The model card of an exported student (its folder's README.md). Pure, no torch.

Everything on it comes from the results store: the row's own score (the exported seed),
its leaderboard line's figures as the leaderboard prints them (mean over seeds, intervals,
size, speed, memory, with the leaderboard's column headers), the teacher's score, the
row's configuration and environment, and the commands that made it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from distill_bench.plugin_api.metrics import METRIC_LABELS
from distill_bench.report.columns import COLUMNS
from distill_bench.report.entries import Entry
from distill_bench.report.render import row_label
from distill_bench.store.results import ResultRow

# the leaderboard's columns the card shows, in this order
SCORE_COLUMNS = ("score", "score_std", "score_crossed", "score_ci", "gain", "pct_teacher",
                 "retention", "agreement", "n")  # fmt: skip
COST_COLUMNS = ("params", "params_no_emb", "params_emb", "disk_mb", "compression", "throughput",
                "speedup", "latency_p50", "latency_p90", "peak_mb", "train_s", "noisy")  # fmt: skip


@dataclass(frozen=True)
class CardFacts:
    """What the card says beyond the store: how the folder was made and checked."""

    fmt: str  # "onnx" or "torch"
    int8: bool
    labels: Sequence[str]
    commands: Sequence[str]  # the run, then the export
    files: Sequence[tuple[str, int]]  # (name, bytes) of the folder's files
    agreement: tuple[int, int] | None  # (equal, total) predictions vs the stored ones
    version: str


def _table(entry: Entry, names: Sequence[str], metric: str) -> list[str]:
    lines = ["| figure | value |", "| --- | --- |"]
    for name in names:
        text = COLUMNS[name].text(entry)
        if text:
            lines.append(f"| {COLUMNS[name].header.format(metric=metric)} | {text} |")
    return lines


def card_markdown(
    row: ResultRow, entry: Entry | None, teacher: Entry | None, facts: CardFacts
) -> str:
    m = row.metrics
    metric = f"{METRIC_LABELS.get(m['primary_metric'], m['primary_metric'])} ({m['eval_split']})"
    weights = "ONNX" + (" int8 (onnxruntime dynamic quantisation)" if facts.int8 else " fp32")
    if facts.fmt == "torch":
        weights = "safetensors (the harness's own module)"
    needs = (
        "`pip install onnxruntime tokenizers`; no torch"
        if facts.fmt == "onnx"
        else "distill-bench with torch (and the plugin of student "
        f"`{row.config.get('student', {}).get('plugin', row.student)}`)"
    )
    lines = [
        f"# {row.student} distilled from {row.teacher} on {row.dataset}",
        "",
        f"Exported by distill-bench {facts.version} from matrix `{row.matrix}`, cell "
        f"`{row_label(row)}`. Weights: {weights}. Needs {needs}.",
        "",
        "```python",
        "from distill_bench import load_student",
        "",
        'student = load_student("path/to/this/folder")',
        'student.predict(["some text"])        # label names',
        'student.predict_proba(["some text"])  # probabilities, columns in student.labels order',
        "```",
        "",
        f"Labels, in output order: {', '.join(f'`{x}`' for x in facts.labels)}.",
        "",
        "## Scores",
        "",
        f"This seed ({row.seed}): {metric} {100 * m['primary']:.1f} on "
        f"{m['eval_examples']} examples"
        + (f"; the teacher: {teacher.score:.1f}" if teacher is not None else "")
        + ".",
    ]
    if facts.agreement is not None:
        equal, total = facts.agreement
        lines.append(
            f"This folder's predictions on the evaluation split equal the harness's own on "
            f"{equal} of {total} examples{' (int8 rounds differently)' if facts.int8 else ''}."
        )
    if entry is not None:
        lines += [
            "",
            f"Its leaderboard line (every seed of {row.student} [{row.loss}, {row.augmenter}]), "
            "as the leaderboard shows it:",
            "",
            *_table(entry, SCORE_COLUMNS, metric),
            "",
            "## Size, speed and memory",
            "",
            "From the results store: the fp32 module in the harness, measured as the "
            "leaderboard's figures are (CPU, "
            f"{row.measurements.get('threads', '?')} thread(s)):",
            "",
            *_table(entry, COST_COLUMNS, metric),
        ]
    lines += [
        "",
        "Files: "
        + ", ".join(f"`{name}` ({size / 1e6:.2f} MB)" for name, size in facts.files)
        + ".",
        "",
        "## Configuration",
        "",
        "```json",
        json.dumps(row.config, indent=1, sort_keys=True),
        "```",
        "",
        "## How it was made",
        "",
        "```bash",
        *facts.commands,
        "```",
        "",
        f"Row written {row.created_at[:19].replace('T', ' ')} UTC; commit "
        f"{row.environment.get('git_commit') or '?'}, torch "
        f"{row.environment.get('packages', {}).get('torch', '?')}, "
        f"{row.environment.get('cpu', '?')}.",
        "",
    ]
    return "\n".join(lines)
