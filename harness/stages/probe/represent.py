"""A cached model's layers as sentence vectors: mean-pooled over real tokens, one array per
layer the model exposes, computed in length-sorted batches as annotation does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.specs import HIDDEN_STATES
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.loop import as_output

# (texts of one batch) -> the model's layers for it: [batch, width] or [batch, seq, width]
# each, with the batch's attention mask
Forward = Callable[[Sequence[str]], tuple[Sequence[torch.Tensor], torch.Tensor]]


def layer_names(states: Sequence[torch.Tensor]) -> list[str]:
    """Per-token layers are an embedding output then one per transformer layer; pooled
    ones (an MLP's or BiLSTM's sentence vector) are named "pooled"."""
    if states[0].dim() == 3:
        return ["embeddings", *(f"layer {i}" for i in range(1, len(states)))]
    return ["pooled"] if len(states) == 1 else [f"pooled {i}" for i in range(1, len(states) + 1)]


def mean_pooled(state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if state.dim() == 2:
        return state
    weights = mask[..., None].to(state.dtype)
    return (state * weights).sum(1) / weights.sum(1).clamp(min=1)


@torch.inference_mode()
def sentence_vectors(
    forward: Forward, texts: Sequence[str], batch_size: int
) -> dict[str, np.ndarray]:
    """Every layer's mean-pooled vector of every text, in the texts' order."""
    lengths = [len(t.split()) for t in texts]  # the sort only needs to group like lengths
    layers: dict[str, np.ndarray] = {}
    for batch in length_grouped_batches(lengths, batch_size, seed=None):
        states, mask = forward([texts[i] for i in batch])
        for name, state in zip(layer_names(states), states, strict=True):
            pooled = mean_pooled(state.float(), mask).numpy()
            if name not in layers:
                layers[name] = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            layers[name][batch] = pooled
    return layers


def teacher_forward(teacher, ckpt_dir: Path, max_length: int, label: str) -> Forward:
    """The teacher plugin's inference model, asked for its hidden states."""
    model, encode = teacher.inference_model(ckpt_dir, max_length)
    model.eval()

    def forward(texts):
        batch = encode(texts)
        try:
            out = model(**batch, output_hidden_states=True)
        except TypeError:
            out = None
        states = getattr(out, "hidden_states", None)
        if not states:
            raise BenchError(
                f"teacher {label!r}: its inference model exposes no hidden layers to probe"
            )
        return states, batch["attention_mask"]

    return forward


def student_forward(ckpt_dir: Path, registry, max_length: int, label: str) -> Forward:
    """A saved student, rebuilt, with its hidden states turned on where that is a switch."""
    model, ctx = student_io.load_student(ckpt_dir, registry)
    if hasattr(model, "expose"):  # transformer students return hidden states on request
        model.expose(frozenset({HIDDEN_STATES}))

    def forward(texts):
        ids, mask = pad(student_io.encode(ctx.tokenizer, texts, max_length, ctx.special_tokens))
        states = as_output(model(ids, mask)).get(HIDDEN_STATES)
        if not states:
            raise BenchError(f"student {label!r}: exposes no hidden states to probe")
        return tuple(states), mask

    return forward
