"""Tokenised examples to padded batches: length-grouped, dynamically padded."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, seed: int | None, group: int = 50
) -> list[list[int]]:
    """Batches of similar-length indices, so little compute is spent on padding.

    With a seed: shuffle, sort within windows of ``group`` batches, shuffle the batches
    (training). Without: sort everything by length (inference).
    """
    order = list(range(len(lengths)))
    if seed is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = random.Random(seed)
    rng.shuffle(order)
    window = batch_size * group
    for start in range(0, len(order), window):
        order[start : start + window] = sorted(
            order[start : start + window], key=lambda i: lengths[i]
        )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), padded to the longest sequence of this batch."""
    width = max(1, max(len(s) for s in sequences))
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if len(seq):
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
    return ids, mask


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
