"""Tokenised examples to padded batches: length-grouped, dynamically padded (the torch-free
parts are ``tokens``'; this module adds tensors and the device)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from distill_bench.stages.tokens import batched, length_grouped_batches, pad_arrays

__all__ = ["batched", "length_grouped_batches", "pad", "pick_device"]


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), padded to the longest sequence of this batch
    (``tokens.pad_arrays`` as tensors: an exported student pads the same way)."""
    ids, mask = pad_arrays(sequences, pad_id)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
