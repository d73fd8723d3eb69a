"""A user's fine-tuned classifier as the teacher, untrained (``hf`` with ``finetune = false``).

The checkpoint's outputs are put in the dataset's label order: by its ``id2label`` names, or
by ``label_order`` (the dataset's names in the checkpoint's output order) for checkpoints
whose labels are unnamed (``LABEL_0``, ``LABEL_1``, ...).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from distill_bench import BenchError
from distill_bench.plugin_api.metrics import task_metric
from distill_bench.plugins.teachers.folder import head_labels, is_local

_UNNAMED = re.compile(r"^LABEL_\d+$")


def checkpoint_order(path: str, id2label: dict, label_order: Sequence[str], task) -> list[str]:
    """The dataset's label names in the checkpoint's output order, or a one-line error
    naming both sides."""
    names = [str(id2label[i]) for i in sorted(id2label, key=int)]
    wanted = ", ".join(task.label_names)
    if label_order:
        order = list(label_order)
        where = f"option label_order {order}"
    elif any(_UNNAMED.match(n) for n in names):
        raise BenchError(
            f"teacher model {path}: its labels are unnamed ({', '.join(names)}); give "
            f"label_order, the names of dataset {task.name!r} ({wanted}) in its output order"
        )
    else:
        order, where = names, f"its labels ({', '.join(names)})"
    if len(order) != len(task.label_names) or sorted(order) != sorted(task.label_names):
        raise BenchError(
            f"teacher model {path}: {where} are not the labels of dataset {task.name!r} ({wanted})"
        )
    return order


def save_as_given(path: str, task, order: Sequence[str], out_dir: Path) -> None:
    """The checkpoint with its classifier outputs permuted to the dataset's label order."""
    import torch
    from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer  # torch
    from torch import nn

    model = load_classifier(path)
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]  # the output layer
    if head.out_features != len(order):
        raise BenchError(
            f"teacher model {path}: its last layer has {head.out_features} outputs, not the "
            f"{len(order)} labels of dataset {task.name!r}"
        )
    rows = [order.index(name) for name in task.label_names]
    with torch.no_grad():
        head.weight.copy_(head.weight[rows].clone())
        if head.bias is not None:
            head.bias.copy_(head.bias[rows].clone())
    model.config.id2label = dict(enumerate(task.label_names))
    model.config.label2id = {name: i for i, name in enumerate(task.label_names)}
    model.save_pretrained(out_dir, safe_serialization=True)
    load_tokenizer(path).save_pretrained(out_dir)


def check_as_given(path: str, label_order: Sequence[str], task) -> None:
    """The pre-flight of ``finetune = false`` for a local checkpoint: it has a classifier
    head, and (once the task is loaded and its label names known) its labels are the
    dataset's."""
    import json

    if not is_local(path):
        return  # a Hub id: the teacher stage checks it when it loads
    config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    labels = head_labels(config)
    if labels is None:
        raise BenchError(
            f"teacher model {path}: finetune = false needs a fine-tuned classifier, and this "
            "checkpoint has no classification head (a base model: let the teacher fine-tune it)"
        )
    if getattr(task, "label_names", None):
        id2label = config.get("id2label") or {i: f"LABEL_{i}" for i in range(labels)}
        checkpoint_order(path, id2label, label_order, task)


def selection_score(ckpt_dir: Path, task, budget, device) -> float:
    """A saved classifier's score on the task's selection split (fp32)."""
    from distill_bench.stages.annotation.annotators import load_annotator  # torch

    annotator = load_annotator(
        ckpt_dir, "fp32", budget.max_length, budget.annotate_batch_size, device
    )
    logits = annotator.logits(task.select.texts)
    return task_metric(task)(task.select.labels, logits.argmax(-1))


def as_given(teacher, task, budget, out_dir: Path, device) -> dict:
    """The teacher stage without training: the checkpoint, relabelled, and its selection
    score (what a fine-tune would report)."""
    from transformers import AutoConfig

    started = time.perf_counter()
    config = AutoConfig.from_pretrained(teacher.path)
    order = checkpoint_order(teacher.path, config.id2label, teacher.options["label_order"], task)
    save_as_given(teacher.path, task, order, out_dir)
    return {
        "as_given": True,
        "finetune_seconds": time.perf_counter() - started,
        "steps": 0,
        "best_select_score": selection_score(out_dir, task, budget, device),
        "checkpoint_label_order": list(order),
        "device": str(device),
    }
