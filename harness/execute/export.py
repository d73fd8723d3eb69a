"""Ship a student: one finished cell of a matrix, out of the stage cache, into a folder.

``export_cell`` selects the cell (``report.select``: ``--cell``'s conditions must name one
cell with an ok row), checks what it needs before writing anything (the store, the cache
entries of the student and its data, the output folder), writes the folder in a temporary
sibling (``stages.export.write``: weights, tokenizer, labels; the model card from the
store), loads that folder as a user would (``stages.export.runtime``: onnxruntime, no
torch) to count how many evaluation predictions equal the stored ones, and only then
renames it into place: a failure leaves no half-written folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from distill_bench import __version__
from distill_bench.execute.api import STORE_FILE, PlannedMatrix, open_store
from distill_bench.plugin_api.errors import BenchError
from distill_bench.report.card import CardFacts, card_markdown
from distill_bench.report.entries import leaderboards
from distill_bench.report.page import planned_rows
from distill_bench.report.select import Candidate, parse_selector, select_cell
from distill_bench.stages.export.runtime import load_student
from distill_bench.store.cache import read_json
from distill_bench.store.results import ResultRow

FORMATS = ("onnx", "torch")


@dataclass(frozen=True)
class Exported:
    """What ``export_cell`` wrote, for the caller to report."""

    out: Path
    row: ResultRow
    files: tuple[tuple[str, int], ...]
    agreement: tuple[int, int]  # (equal, total) evaluation predictions vs the stored ones


def check_export_options(out: Path, fmt: str, int8: bool, force: bool) -> None:
    """The options on their own, before the matrix or the store is read."""
    if fmt not in FORMATS:
        raise BenchError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if int8 and fmt != "onnx":
        raise BenchError(
            "--int8: quantises the ONNX graph (onnxruntime); use it with --format onnx, "
            f"not --format {fmt}"
        )
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out}: exists and is not a folder; expected a new folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BenchError(
            f"--out {out}: exists and is not empty; expected a new or empty folder "
            "(--force replaces it)"
        )


def _entry_of(boards: dict, row: ResultRow, role: str = "student"):
    for e in boards.get(row.dataset, []):
        if e.variant != "fp32" or e.role != role or e.teacher != row.teacher:
            continue
        if role == "teacher" or (e.student, e.loss, e.augmenter) == (
            row.student,
            row.loss,
            row.augmenter,
        ):
            return e
    return None


def _cached(planned: PlannedMatrix, kind: str, key: str, label: str) -> Path:
    entry = planned.cache.get(kind, key)
    if entry is None:
        raise BenchError(
            f"cell {label}: its {kind} entry {key} is not in the stage cache "
            f"{planned.cache.root}; expected the cache the run wrote (pass the same "
            "--cache-dir or BENCH_CACHE_DIR)"
        )
    return entry


def _replace(tmp: Path, out: Path) -> None:
    """``tmp`` renamed to ``out``; an existing ``out`` (``--force``) goes only after."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old)


def export_cell(
    planned: PlannedMatrix,
    *,
    results_dir: str | Path,
    selector: str,
    out: str | Path,
    fmt: str = "onnx",
    int8: bool = False,
    force: bool = False,
    commands: tuple[str, ...] = (),
) -> Exported:
    """Export the cell ``selector`` names into ``out``; ``commands``: what made it, for
    the card. ``BenchError`` (nothing written) on bad input."""
    out = Path(out)
    check_export_options(out, fmt, int8, force)
    conditions = parse_selector(selector)
    store_path = Path(results_dir) / STORE_FILE
    if not store_path.is_file():
        raise BenchError(
            f"--results-dir {results_dir}: no results store ({STORE_FILE}); expected the "
            "results of bench run --matrix"
        )
    rows, _ = planned_rows(planned.plan, open_store(results_dir))
    ok = [r for r in rows if r.status == "ok"]
    boards = leaderboards(ok)
    stored = {r.key: r for r in rows}
    candidates = [
        Candidate(cell, stored.get(cell.key), None)
        for cell in planned.plan.cells  # entries only for finished rows
    ]
    candidates = [
        Candidate(c.cell, c.row, _entry_of(boards, c.row) if c.finished else None)
        for c in candidates
    ]
    found = select_cell(candidates, conditions, selector)
    cell, row = found.cell, found.row
    ckpt = _cached(planned, "student", cell.student_key, cell.label)
    # the data stage's task.json (stages.data.stage reads it with torch around: not here)
    task = read_json(_cached(planned, "data", cell.data_key, cell.label) / "task.json")
    labels, texts = task["label_names"], task["splits"]["evaluation"]["texts"]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        # torch and the exporters here, once the input is known to be good
        from distill_bench.stages.export.write import write_student

        write_student(
            ckpt,
            tmp,
            registry=planned.registry,
            fmt=fmt,
            int8=int8,
            labels=labels,
            max_length=planned.plan.matrix.budget.max_length,
            example_texts=texts,
            cell={"matrix": row.matrix, "key": row.key, "label": cell.label}
            | {name: found.field(name) for name in ("dataset", "teacher", "student", "loss")}
            | {name: found.field(name) for name in ("augmenter", "seed", "teacher_seed")},
        )
        # the folder as a user loads it, against the harness's own evaluation predictions
        predicted = load_student(tmp).predict_ids(texts).tolist()
        stored_predictions = row.metrics.get("eval_predictions") or []
        equal = sum(a == b for a, b in zip(predicted, stored_predictions, strict=False))
        agreement = (equal, len(predicted))
        files = tuple(
            (p.relative_to(tmp).as_posix(), p.stat().st_size)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        )
        facts = CardFacts(fmt, int8, labels, commands, files, agreement, version=__version__)
        card = card_markdown(row, found.entry, _entry_of(boards, row, "teacher"), facts)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        files += (("README.md", (tmp / "README.md").stat().st_size),)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Exported(out, row, files, agreement)
