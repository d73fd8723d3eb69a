"""How much memory and room a model takes: resident peaks, a few training steps, parameters.

The resident-set peak is read from ``/proc/self/status`` (``VmHWM``, reset through
``/proc/self/clear_refs``), so on Linux the figure is the model's own when it runs in a
fresh interpreter; elsewhere these figures are left out. Parameter counts are given with
and without the embedding tables.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from distill_bench.stages.student.loop import make_optimizers, optimizer_step
from torch import nn

_STATUS = Path("/proc/self/status")


def status_kb(field_name: str) -> int | None:
    """A ``/proc/self/status`` figure in kB (``VmRSS``, ``VmHWM``), None where there is none."""
    try:
        match = re.search(rf"^{field_name}:\s+(\d+) kB", _STATUS.read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def reset_peak_rss() -> bool:
    """Start the ``VmHWM`` peak afresh; False where the system cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to current RSS
        return True
    except OSError:
        return False


def count_parameters(model) -> dict:
    """Parameters in all, in nn.Embedding / nn.EmbeddingBag tables, and in the rest."""
    total = sum(p.numel() for p in model.parameters())
    embedding_ids = {
        id(p)
        for m in model.modules()
        if isinstance(m, nn.Embedding | nn.EmbeddingBag)
        for p in m.parameters()
    }
    embedding = sum(p.numel() for p in model.parameters() if id(p) in embedding_ids)
    return {
        "params_total": total,
        "params_embedding": embedding,
        "params_no_embedding": total - embedding,
    }


def training_peak(
    model, logits_fn, encode, texts, cfg: dict, *, batch_size: int, num_labels: int
) -> dict:
    """Peak resident memory of a few training steps (forward, backward, optimizer) at
    the training batch size, and the median step time."""
    steps = cfg["train_steps"]
    batch = encode(list(texts[:batch_size]))
    labels = torch.arange(len(batch["input_ids"])) % num_labels
    model.train()
    optimizers = make_optimizers(model, 1e-5)
    reset_ok = reset_peak_rss()
    step_ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        optimizer_step(optimizers, F.cross_entropy(logits_fn(model, batch), labels))
        step_ms.append((time.perf_counter() - t0) * 1000)
    model.eval()
    out = {"train_steps": steps, "train_batch_size": len(labels)}
    out["train_step_ms"] = statistics.median(step_ms)
    peak = status_kb("VmHWM")
    if reset_ok and peak is not None:
        out["peak_kb"] = peak
    return out
