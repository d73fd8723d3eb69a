"""Content keys: what names a cached stage. Pure, no torch.

A stage's key is a hash of its resolved config, the keys of the stages it reads and the
stage's code version, so a changed option, input or code never reuses an old entry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Bump a stage's version when its code changes what it computes: old cache entries
# then miss instead of being silently reused.
STAGE_VERSIONS = {
    "data": 2,
    "teacher": 2,  # 2: bf16 autocast really applied on CPU (was recorded, not used)
    "transfer": 2,  # 2: harness-side leakage removal, dedup, size, composition
    "annotate": 2,
    "student": 3,  # 3: the teacher-confidence filter on the transfer set
    "measure": 2,  # 2: steady allocator in the measuring subprocess (small models were 2-3x slow)
    "features": 1,
    "timing": 1,  # a model's speed and memory, shared by the rows of one architecture
    "tokens": 1,  # a transfer set's student token ids, memory-mapped (stages/student/token_ids.py)
    "probe_sets": 1,  # bench analyze: Conneau et al.'s probe sets of a dataset (stages/probe)
    "probe": 1,  # one cached model's probe scores per layer
}


def content_key(stage: str, config: dict[str, Any], deps: tuple[str, ...] = ()) -> str:
    payload = {
        "stage": stage,
        "version": STAGE_VERSIONS[stage],
        "config": config,
        "deps": list(deps),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
