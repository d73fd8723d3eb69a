"""The pre-flight look at a Hugging Face model folder: no torch, nothing written.

``check_model(path, task)`` is every built-in teacher's ``check``: a local folder must
hold a readable config.json and a tokenizer (the check loading runs too:
``distill_bench.stages.teacher.folder.check_local_model``), and a fine-tuned classifier's
head must have the task's label count; a Hub id is left to transformers when it loads.
Nothing here imports transformers, so that ``bench run --dry-run`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

from distill_bench.plugin_api.contexts import TaskLabels
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.teacher.folder import check_local_model, is_local


def head_labels(config: dict) -> int | None:
    """The label count of a fine-tuned classifier's head, or None for a model without one
    (a base model, which the teacher stage gives a new head of the task's size)."""
    if not any("ForSequenceClassification" in a for a in config.get("architectures") or []):
        return None
    # transformers writes no label fields for its default of 2 labels
    return len(config.get("id2label") or {}) or config.get("num_labels") or 2


def check_model(path: str, task: TaskLabels) -> None:
    """Refuse a model that cannot work before anything trains: a local folder without a
    config or tokenizer, or a classifier whose head has another label count than ``task``."""
    check_local_model(path)
    if not is_local(path):
        return  # a Hub id: transformers reports what is wrong with it
    config_file = Path(path) / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchError(
            f"teacher model {path}: config.json is not readable JSON ({exc})".splitlines()[0]
        ) from None
    if not isinstance(config, dict):
        raise BenchError(f"teacher model {path}: config.json is not a JSON object")
    has = head_labels(config)
    if has is not None and has != task.num_labels:
        raise BenchError(
            f"teacher model {path}: its classifier head has {has} labels, "
            f"dataset {task.name!r} has {task.num_labels}"
        )
