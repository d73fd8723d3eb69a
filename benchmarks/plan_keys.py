"""Every cell's and teacher row's content keys of some matrices, as JSON: a re-layout or a
refactor that changes no behaviour leaves them identical (so every cached stage is still
found). Runs on this layout and on the flat one before it (commit cda8bad), which is how
issue 15's "plans unchanged" was checked:

    mkdir -p /tmp/old && git archive cda8bad harness plugins | tar -x -C /tmp/old
    mv /tmp/old/harness /tmp/old/distill_bench && mv /tmp/old/plugins /tmp/old/distill_bench/
    PYTHONPATH=/tmp/old BENCH_DATA_DIR=../shared/data python benchmarks/plan_keys.py /tmp/keys-old benchmarks/*.toml
    BENCH_DATA_DIR=../shared/data python benchmarks/plan_keys.py /tmp/keys-new benchmarks/*.toml
    diff -r /tmp/keys-old /tmp/keys-new   # nothing: same cells, same keys
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

try:  # this layout
    from distill_bench.matrix.model import load_matrix
    from distill_bench.matrix.plan import make_plan
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.store.cache import fingerprint_tree
except ImportError:  # the flat layout before issue 15
    from distill_bench.cache import fingerprint_tree
    from distill_bench.matrix import load_matrix
    from distill_bench.plan import make_plan
    from distill_bench.registry import load_registry

CELL_KEYS = (
    "label",
    "key",
    "data_key",
    "teacher_key",
    "transfer_key",
    "annotate_key",
    "features_key",
    "student_key",
)


def plan_keys(matrix_path: str, registry, data_source: str) -> dict:
    plan = make_plan(load_matrix(matrix_path), registry, data_source)
    return {
        "cells": [{k: getattr(c, k) for k in CELL_KEYS} for c in plan.cells],
        "teachers": [
            {"key": t.key, "teacher_key": t.teacher_key, "data_key": t.data_key}
            for t in plan.teacher_rows
        ],
        "stages": [[s.kind, s.key, s.label] for s in plan.stages],
        "dropped": [[d.label, d.reason] for d in plan.dropped],
    }


def main(out_dir: str, *matrices: str) -> None:
    data_dir = os.environ.get("BENCH_DATA_DIR")
    source = f"dir:{fingerprint_tree(Path(data_dir))}" if data_dir else "hub"
    registry = load_registry()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for matrix in matrices:
        keys = plan_keys(matrix, registry, source)
        Path(out_dir, Path(matrix).stem + ".json").write_text(
            json.dumps(keys, indent=1, sort_keys=True)
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
