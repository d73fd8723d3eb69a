"""Texts to a student's inputs without torch: token ids, their batches, padded arrays.

What the harness and an exported student's loader (``distill_bench.load_student``) must
do alike, so it lives once, here, importing neither torch nor transformers: the
tokenizer file read with padding and truncation off, ``encode`` (truncation, [UNK] for
an empty text, sentence pairs as ``a [SEP] b`` or the tokenizer's pair template), inference batches grouped by length (``length_grouped_batches``) and
padding as int64 arrays (``pad_arrays``; ``batching.pad`` makes tensors of them).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import split_pairs

UNK, PAD, SEP = "[UNK]", "[PAD]", "[SEP]"


def prepare(tokenizer):
    """Padding and truncation are the harness's job; a tokenizer.json may carry either."""
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_tokenizer_file(path: Path):
    """A ``tokenizers.Tokenizer`` from a tokenizer.json, padding and truncation off."""
    from tokenizers import Tokenizer

    return prepare(Tokenizer.from_file(str(path)))


def pair_separator(tokenizer) -> int:
    """The id that separates a pair's sides in a student's input: the vocabulary's [SEP]
    (a word vocabulary built from pairs has one) or a BPE model's </s>."""
    for token in (SEP, "</s>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    raise BenchError(
        f"student vocabulary of {tokenizer.get_vocab_size()} tokens: no separator ({SEP} or "
        "</s>) to join the sides of sentence pairs; expected a vocabulary that has one"
    )


def _cut_longest_first(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the end of the longer side until both fit in ``budget``."""
    while len(a) + len(b) > budget and (a or b):
        if len(a) >= len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    return a, b


def _encode_pairs(tokenizer, firsts, seconds, max_length: int, special_tokens: bool):
    """Pairs: the tokenizer's own pair template (``[CLS] a [SEP] b [SEP]``) for transformer
    students, else ``a [SEP] b``; truncation takes from the longer side first."""
    if special_tokens:
        tokenizer.enable_truncation(max_length, strategy="longest_first")
        try:
            encoded = tokenizer.encode_batch(
                list(zip(firsts, seconds, strict=True)), add_special_tokens=True
            )
        finally:
            tokenizer.no_truncation()
        return [e.ids for e in encoded]
    sep, unk = pair_separator(tokenizer), _unk(tokenizer)
    a_side = tokenizer.encode_batch(list(firsts), add_special_tokens=False)
    b_side = tokenizer.encode_batch(list(seconds), add_special_tokens=False)
    out = []
    for a, b in zip(a_side, b_side, strict=True):
        a_ids, b_ids = _cut_longest_first(a.ids or [unk], b.ids or [unk], max(2, max_length - 1))
        out.append((a_ids or [unk]) + [sep] + (b_ids or [unk]))
    return out


def _unk(tokenizer) -> int:
    unk = tokenizer.token_to_id(UNK)
    return 0 if unk is None else unk


def encode(
    tokenizer, texts: Sequence[str], max_length: int, special_tokens: bool = False
) -> list[list[int]]:
    """Token ids, truncated to ``max_length``. Without special tokens (RNN/bag-of-words
    students read words, not BERT's markers) an empty result becomes [UNK], so every
    sequence has at least one real token. Sentence pairs (``plugin_api.pairs``): see
    ``_encode_pairs``."""
    sides = split_pairs(texts)
    if sides is not None:
        return _encode_pairs(tokenizer, *sides, max_length, special_tokens)
    encoded = tokenizer.encode_batch(list(texts), add_special_tokens=special_tokens)
    unk = _unk(tokenizer)
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
