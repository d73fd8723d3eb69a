"""The distillation loop: one student, one loss, a transfer set with teacher logits."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .batching import length_grouped_batches, pad
from .matrix import Budget
from .progress import Progress, quiet

IGNORE = -100  # label id for transfer examples without a gold label


@dataclass
class Batch:
    """What a loss sees besides the student's output."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor  # gold ids, IGNORE where unknown
    teacher_logits: torch.Tensor | None


def as_output(out) -> dict:
    """Students may return bare logits or a dict with "logits" and more."""
    return out if isinstance(out, dict) else {"logits": out}


def make_optimizers(model: nn.Module, lr: float) -> list[torch.optim.Optimizer]:
    """SparseAdam for sparse embeddings (a step touches only the batch's rows), AdamW
    for the rest: a dense update of a 30k x 300 table would dominate every CPU step."""
    sparse_ids = {
        id(m.weight)
        for m in model.modules()
        if isinstance(m, nn.Embedding | nn.EmbeddingBag) and m.sparse and m.weight.requires_grad
    }
    sparse = [p for p in model.parameters() if id(p) in sparse_ids]
    dense = [p for p in model.parameters() if id(p) not in sparse_ids and p.requires_grad]
    optimizers: list[torch.optim.Optimizer] = []
    if sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=lr))
    if dense:
        try:
            optimizers.append(torch.optim.AdamW(dense, lr=lr, fused=True))
        except (RuntimeError, TypeError):  # no fused kernel for this device or dtype
            optimizers.append(torch.optim.AdamW(dense, lr=lr))
    return optimizers


@torch.inference_mode()
def predict(
    model: nn.Module,
    ids: Sequence[Sequence[int]],
    batch_size: int,
    device: torch.device,
    num_labels: int,
) -> np.ndarray:
    model.eval()
    out = np.zeros((len(ids), num_labels), dtype=np.float32)
    for batch in length_grouped_batches([len(x) for x in ids], batch_size, seed=None):
        input_ids, mask = pad([ids[i] for i in batch])
        out[batch] = (
            as_output(model(input_ids.to(device), mask.to(device)))["logits"].float().cpu().numpy()
        )
    return out


def distill(
    model: nn.Module,
    loss_fn: Callable[[dict, Batch], torch.Tensor],
    transfer_ids: Sequence[Sequence[int]],
    transfer_labels: Sequence[int],
    teacher_logits: np.ndarray | None,
    select_ids: Sequence[Sequence[int]],
    select_labels: Sequence[int],
    metric: Callable[[Sequence[int], Sequence[int]], float],
    budget: Budget,
    seed: int,
    device: torch.device,
    num_labels: int,
    progress: Progress = quiet,
) -> dict:
    """Train ``model`` in place; it ends with the weights of its best epoch on ``select``."""
    torch.manual_seed(seed)
    model.to(device)
    optimizers = make_optimizers(model, budget.student_lr)
    labels = torch.tensor([y if y >= 0 else IGNORE for y in transfer_labels], dtype=torch.long)
    targets = (
        None if teacher_logits is None else torch.from_numpy(np.asarray(teacher_logits, np.float32))
    )
    lengths = [len(x) for x in transfer_ids]
    best_score, best_state, best_epoch, losses = -math.inf, None, 0, []
    started, steps = time.perf_counter(), 0
    for epoch in range(budget.student_epochs):
        model.train()
        total, count = 0.0, 0
        batches = length_grouped_batches(
            lengths, budget.student_batch_size, seed=seed * 1000 + epoch
        )
        for index in progress.track(batches, f"distill epoch {epoch + 1}/{budget.student_epochs}"):
            # batch: pad this batch's ids, gather gold labels and teacher logits
            input_ids, mask = pad([transfer_ids[i] for i in index])
            batch = Batch(
                input_ids.to(device),
                mask.to(device),
                labels[index].to(device),
                None if targets is None else targets[index].to(device),
            )
            # forward, loss, backward, step
            loss = loss_fn(as_output(model(batch.input_ids, batch.attention_mask)), batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss is {loss.item()} at epoch {epoch + 1}, step {steps + 1}"
                )
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in optimizers:
                opt.step()
            total, count, steps = total + loss.item() * len(index), count + len(index), steps + 1
        losses.append(total / max(1, count))
        # select: keep the epoch that scores best on the held-out split
        logits = predict(model, select_ids, 512, device, num_labels)
        score = metric(select_labels, logits.argmax(-1))
        if score > best_score:
            best_score, best_epoch = score, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.perf_counter() - started
    return {
        "train_seconds": seconds,
        "steps": steps,
        "epochs": budget.student_epochs,
        "best_epoch": best_epoch,
        "best_select_score": best_score,
        "epoch_losses": losses,
        "train_examples_per_second": budget.student_epochs * len(transfer_ids) / max(seconds, 1e-9),
    }
