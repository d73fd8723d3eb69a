"""The distillation loop: one student, one loss, a transfer set with teacher logits."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.precision import use_bf16
from distill_bench.stages.student.unfreeze import GradualUnfreezing
from torch import nn

IGNORE = -100  # label id for transfer examples without a gold label


@dataclass
class Batch:
    """What a loss sees besides the student's output."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor  # gold ids, IGNORE where unknown
    teacher_logits: torch.Tensor | None
    # Teacher internals, present when the loss's spec asks for them (teacher_features):
    # layer -> [batch, teacher_len, hidden], padded over the teacher's own tokens
    teacher_hidden: dict[int, torch.Tensor] | None = None
    teacher_mask: torch.Tensor | None = None  # [batch, teacher_len], 1 on real teacher tokens
    # layer (1-based, as hidden states count) -> [batch, heads, teacher_len, teacher_len]
    teacher_attentions: dict[int, torch.Tensor] | None = None
    progress: float = 0.0  # share of training done (0 at the first step, -> 1), for schedules


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


def optimizer_step(optimizers: Sequence[torch.optim.Optimizer], loss: torch.Tensor) -> None:
    """Backward ``loss`` and step every optimizer (make_optimizers may give two)."""
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()


class WeightedSum(nn.Module):
    """A named composition of losses: sum of weight x part. A module, so the parts' own
    parameters (learned projections) are trained with the student."""

    def __init__(self, parts: Sequence[tuple[float, Callable]]):
        super().__init__()
        self.weights = [float(w) for w, _ in parts]
        self.fns = [fn for _, fn in parts]
        self.modules_with_parameters = nn.ModuleList(
            [fn for fn in self.fns if isinstance(fn, nn.Module)]
        )

    def forward(self, student_out: dict, batch: Batch) -> torch.Tensor:
        return sum(w * fn(student_out, batch) for w, fn in zip(self.weights, self.fns, strict=True))


class Staged(WeightedSum):
    """XtremeDistil's stage-wise schedule: part i alone (times its weight) until share
    ``stages[i]`` of the training steps, then the next; the last part to the end. Every
    part's parameters (projections) stay in the optimizer, so a later stage keeps them."""

    def __init__(
        self,
        parts: Sequence[tuple[float, Callable]],
        stages: Sequence[float],
        unfreeze: bool = False,
    ):
        super().__init__(parts)
        self.stages = [float(s) for s in stages]
        self.unfreeze = unfreeze  # distill() unfreezes the student gradually in each stage

    def forward(self, student_out: dict, batch: Batch) -> torch.Tensor:
        stage = sum(batch.progress >= s for s in self.stages)
        return self.weights[stage] * self.fns[stage](student_out, batch)


class TeacherFeatures:
    """Teacher internals for a batch of transfer examples (see ``Batch``)."""

    def batch(self, indices: Sequence[int], device: torch.device) -> dict:
        raise NotImplementedError


@dataclass(frozen=True)
class TrainingData:
    """What ``distill`` trains on and selects with.

    ``transfer_ids``: the transfer set's token ids (a memory-mapped ``TokenIds`` or lists);
    ``transfer_labels``: their gold label ids, negative where unknown; ``teacher_logits``:
    [examples, labels] or None when the loss reads none; ``select_ids`` and
    ``select_labels``: the held-out split that picks the best epoch by ``metric(gold,
    predicted)``; ``features``: the teacher internals the loss reads, or None.
    """

    transfer_ids: Sequence[Sequence[int]]
    transfer_labels: Sequence[int]
    teacher_logits: np.ndarray | None
    select_ids: Sequence[Sequence[int]]
    select_labels: Sequence[int]
    metric: Callable[[Sequence[int], Sequence[int]], float]
    num_labels: int
    features: TeacherFeatures | None = None


def distill(
    model: nn.Module,
    loss_fn: Callable[[dict, Batch], torch.Tensor],
    data: TrainingData,
    *,
    budget: Budget,
    seed: int,
    device: torch.device,
    progress: Progress = quiet,
) -> dict:
    """Train ``model`` in place; it ends with the weights of its best epoch on ``select``."""
    transfer_ids, features = data.transfer_ids, data.features
    torch.manual_seed(seed)
    model.to(device)
    labels = torch.tensor([y if y >= 0 else IGNORE for y in data.transfer_labels], dtype=torch.long)
    targets = (
        None
        if data.teacher_logits is None
        else torch.from_numpy(np.asarray(data.teacher_logits, np.float32))
    )
    # a memory-mapped TokenIds knows its lengths; iterating it would touch every sentence
    lengths = getattr(transfer_ids, "lengths", None)
    lengths = lengths.tolist() if lengths is not None else [len(x) for x in transfer_ids]
    # a student may carry its own count (pretrained transformers: BERT's 2-4 epochs)
    epochs = getattr(model, "epochs", None) or budget.student_epochs
    steps_per_epoch = math.ceil(len(transfer_ids) / budget.student_batch_size)

    def make_batch(index: Sequence[int], step: int) -> Batch:
        input_ids, mask = pad([transfer_ids[i] for i in index])
        return Batch(
            input_ids.to(device),
            mask.to(device),
            labels[index].to(device),
            None if targets is None else targets[index].to(device),
            **(features.batch(index, device) if features is not None else {}),
            progress=step / max(1, epochs * steps_per_epoch),
        )

    # optimizers: the student's, plus a loss's own parameters (learned projections); lazy
    # layers in a loss get their shapes from one forward on a first batch
    trainable = nn.ModuleList([model])
    if isinstance(loss_fn, nn.Module):
        loss_fn.to(device)
        if any(isinstance(p, nn.parameter.UninitializedParameter) for p in loss_fn.parameters()):
            with torch.no_grad():
                first = make_batch(
                    list(range(min(len(transfer_ids), budget.student_batch_size))), 0
                )
                loss_fn(as_output(model(first.input_ids, first.attention_mask)), first)
        trainable.append(loss_fn)
    # a student may carry its own rate (pretrained weights want ~5e-5, not the budget's 1e-3)
    optimizers = make_optimizers(
        trainable, getattr(model, "learning_rate", None) or budget.student_lr
    )
    # a transformer student may train under bf16 autocast (``model.precision``, auto where
    # native); the loss and the optimizer step stay fp32
    bf16 = use_bf16(getattr(model, "precision", "fp32"), device)
    # a staged loss may unfreeze the student's layers from the top within each stage
    unfreezing = (
        GradualUnfreezing(model, loss_fn.stages) if getattr(loss_fn, "unfreeze", False) else None
    )
    best_score, best_state, best_epoch, losses = -math.inf, None, 0, []
    started, steps = time.perf_counter(), 0
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        batches = length_grouped_batches(
            lengths, budget.student_batch_size, seed=seed * 1000 + epoch
        )
        for index in progress.track(batches, f"distill epoch {epoch + 1}/{epochs}"):
            # batch: pad this batch's ids, gather gold labels and teacher outputs
            batch = make_batch(index, steps)
            if unfreezing is not None:
                unfreezing.apply(batch.progress)
            # forward, loss, backward, step
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = as_output(model(batch.input_ids, batch.attention_mask))
            loss = loss_fn({k: _fp32(v) for k, v in out.items()}, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss is {loss.item()} at epoch {epoch + 1}, step {steps + 1}"
                )
            optimizer_step(optimizers, loss)
            total, count, steps = total + loss.item() * len(index), count + len(index), steps + 1
        losses.append(total / max(1, count))
        if epochs == 1:  # one epoch: nothing to select between, skip the selection pass
            best_epoch = 1
            break
        # select: keep the epoch that scores best on the held-out split
        logits = predict(model, data.select_ids, 512, device, data.num_labels)
        score = data.metric(data.select_labels, logits.argmax(-1))
        if score > best_score:
            best_score, best_epoch = score, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
    if unfreezing is not None:
        unfreezing.restore()
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.perf_counter() - started
    return {
        "train_seconds": seconds,
        "steps": steps,
        "epochs": epochs,
        "best_epoch": best_epoch,
        "best_select_score": best_score if best_state is not None else None,
        "epoch_losses": losses,
        "train_examples_per_second": epochs * len(transfer_ids) / max(seconds, 1e-9),
        "autocast": "bf16" if bf16 else "fp32",
    }


def _fp32(value):
    """A student output as the loss reads it: fp32, whatever the forward ran in."""
    if isinstance(value, torch.Tensor):
        return value.float()
    if isinstance(value, tuple):
        return tuple(_fp32(v) for v in value)
    return value
