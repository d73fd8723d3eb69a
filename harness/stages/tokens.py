"""Texts to a student's inputs without torch: token ids, their batches, padded arrays.

What the harness and an exported student's loader (``distill_bench.load_student``) must
do alike, so it lives once, here, importing neither torch nor transformers: the
tokenizer file read with padding and truncation off, ``encode`` (truncation, [UNK] for
an empty text), inference batches grouped by length (``length_grouped_batches``) and
padding as int64 arrays (``pad_arrays``; ``batching.pad`` makes tensors of them).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

UNK, PAD = "[UNK]", "[PAD]"


def prepare(tokenizer):
    """Padding and truncation are the harness's job; a tokenizer.json may carry either."""
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_tokenizer_file(path: Path):
    """A ``tokenizers.Tokenizer`` from a tokenizer.json, padding and truncation off."""
    from tokenizers import Tokenizer

    return prepare(Tokenizer.from_file(str(path)))


def encode(
    tokenizer, texts: Sequence[str], max_length: int, special_tokens: bool = False
) -> list[list[int]]:
    """Token ids, truncated to ``max_length``. Without special tokens (RNN/bag-of-words
    students read words, not BERT's markers) an empty result becomes [UNK], so every
    sequence has at least one real token."""
    encoded = tokenizer.encode_batch(list(texts), add_special_tokens=special_tokens)
    unk = tokenizer.token_to_id(UNK)
    unk = 0 if unk is None else unk
    if special_tokens:
        return [
            e.ids[: max_length - 1] + e.ids[-1:] if len(e.ids) > max_length else e.ids
            for e in encoded
        ]
    return [e.ids[:max_length] or [unk] for e in encoded]


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


def pad_arrays(
    sequences: Sequence[Sequence[int]], pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) as int64 arrays, padded to the longest sequence."""
    width = max(1, max(len(s) for s in sequences))
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        if len(seq):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
    return ids, mask


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
