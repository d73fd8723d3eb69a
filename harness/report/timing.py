"""Where a run's time went, from the stage timings its rows carry. Pure: no torch.

Each row records, per stage it read, the stage's content key and the seconds its cached
entry took to compute; a shared stage (a teacher every student reads) is counted once.
Measurement is counted once per architecture (its timing stage) and splits into the fp32
model's timing and its deployment variants'; scoring the variants on each row's weights is
per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from distill_bench.store.results import ResultRow

# stage kind in the rows' timings -> what the summary calls it, in pipeline order
STAGE_NAMES = {
    "data": "data",
    "teacher": "teacher fine-tuning",
    "transfer": "transfer sets",
    "annotate": "annotation",
    "features": "teacher features",
    "student": "student training",
    "measure": "measurement",
    "variants": "variants",
    "scoring": "variant scoring",
}


def compute_seconds(rows: Iterable[ResultRow]) -> dict[str, float]:
    """Seconds per stage kind (``STAGE_NAMES`` order), each shared stage counted once."""
    seen: dict[tuple[str, str], float] = {}
    for row in rows:
        for stage, t in row.timings.items():
            if isinstance(t, dict) and t.get("seconds") is not None:
                seen[(stage, t["key"])] = t["seconds"]
        variants = (row.measurements.get("variants") or {}).values()
        spent = sum(v.get("seconds") or 0.0 for v in variants if isinstance(v, dict))
        measured = (row.timings.get("measure") or {}).get("key")
        if spent and ("measure", measured) in seen:  # the variants' share of the row's measuring
            seen[("measure", measured)] -= spent
            seen[("variants", measured)] = spent
    by_kind: dict[str, float] = {}
    for (stage, _), seconds in seen.items():
        by_kind[stage] = by_kind.get(stage, 0.0) + seconds
    order = list(STAGE_NAMES)
    return dict(
        sorted(by_kind.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    )


def breakdown_text(rows: Sequence[ResultRow]) -> str:
    """ "teacher fine-tuning 3.3 min, student training 9.0 min, measurement 8.1 min" """
    parts = [
        f"{STAGE_NAMES.get(kind, kind)} {seconds / 60:.1f} min"
        for kind, seconds in compute_seconds(rows).items()
        if seconds >= 0.05 * 60  # leave out what rounds to nothing
    ]
    return ", ".join(parts)


def slowest_rows(rows: Iterable[ResultRow], n: int = 3) -> list[tuple[ResultRow, float]]:
    """The ``n`` rows whose own work (training or fine-tuning, and measuring) took longest."""

    def own(row: ResultRow) -> float:
        kind = "teacher" if row.role == "teacher" else "student"
        return sum((row.timings.get(k) or {}).get("seconds") or 0.0 for k in (kind, "measure"))

    timed = [(r, own(r)) for r in rows if r.status == "ok"]
    return sorted(timed, key=lambda rt: -rt[1])[:n]
