"""A leaderboard's rows as a committed JSON file: its page re-renders without the store.

``bench run`` and ``bench report`` write ``leaderboards/<matrix>.rows.json`` beside the
page: every row the page shows, as ``encode_row`` stores it (per-example predictions
included), so a later version of the report (new statistics, new columns) rewrites the page
from the file alone, on any machine, and a test checks each committed page is exactly what
its rows render to (no hand-edited figure). ``bench store import FILE`` loads one into a
store. Gold labels, the same for every row of a dataset, are written once per dataset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.results import COLUMNS, JSON_COLUMNS, ResultRow, decode_row, encode_row

ROWS_SUFFIX = ".rows.json"
FORMAT = 1  # bump when the file's layout changes; readers refuse a newer one
LABELS = "eval_labels"


def rows_text(matrix: str, rows: Sequence[ResultRow]) -> str:
    """The rows as JSON text: one row per line, so a re-run's diff is by row."""
    labels: dict[str, list[int]] = {}
    lines = []
    for row in sorted(rows, key=lambda r: (r.dataset, r.role != "teacher", r.key)):
        values = dict(zip(COLUMNS, encode_row(row), strict=True))
        metrics = json.loads(values["metrics"])
        if LABELS in metrics:
            mine = metrics.pop(LABELS)
            if labels.setdefault(row.dataset, mine) != mine:
                metrics[LABELS] = mine  # another split of the same dataset: kept in the row
        values["metrics"] = metrics
        for name in JSON_COLUMNS - {"metrics"}:
            values[name] = json.loads(values[name])
        lines.append(json.dumps(values, sort_keys=True, separators=(",", ":")))
    head = json.dumps({"format": FORMAT, "matrix": matrix, "eval_labels": labels},
                      sort_keys=True, separators=(",", ":"))  # fmt: skip
    return '{"head":' + head + ',\n"rows":[\n' + ",\n".join(lines) + "\n]}\n"


def write_rows_file(path: Path, matrix: str, rows: Sequence[ResultRow]) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(rows_text(matrix, rows))
    tmp.replace(path)


def read_rows_file(path: Path) -> tuple[str, list[ResultRow]]:
    """(matrix name, rows) of a rows file, or a one-line BenchError naming the file."""
    try:
        data = json.loads(Path(path).read_text())
        head = data["head"]
        if head.get("format", 0) > FORMAT:
            raise BenchError(
                f"{path}: rows file format {head['format']} is newer than this distill-bench "
                f"reads ({FORMAT}): upgrade distill-bench"
            )
        rows = []
        for values in data["rows"]:
            metrics = values["metrics"]
            if "eval_predictions" in metrics and LABELS not in metrics:
                metrics[LABELS] = head["eval_labels"][values["dataset"]]
            encoded = {
                c: json.dumps(values[c]) if c in JSON_COLUMNS else values[c] for c in COLUMNS
            }
            rows.append(decode_row(encoded))
        return head["matrix"], rows
    except FileNotFoundError:
        raise BenchError(f"{path}: no such rows file") from None
    except BenchError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BenchError(
            f"{path}: not a rows file bench wrote ({type(exc).__name__}: {exc})"
        ) from None
