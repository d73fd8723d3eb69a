"""Token ids of a large transfer set, on disk and memory-mapped.

A student epoch over a 500k-sentence transfer set should not hold 500k Python lists: the
ids are written once, in chunks, as one flat int32 array plus offsets (two ``.npy`` files,
never pickled), and read back memory-mapped, so what a process holds in anonymous memory
does not grow with the transfer set (the OS pages the file in and out as it likes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from distill_bench.stages.batching import batched

IDS = "token_ids.npy"
OFFSETS = "token_offsets.npy"
CHUNK = 10_000  # sentences tokenised per call: bounds the lists alive at any time


class TokenIds(Sequence):
    """``ids[i]`` is sentence i's int32 token ids (a view into the flat array)."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray):
        self.flat, self.offsets = flat, offsets
        self.lengths = np.diff(offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def take(self, indices: Sequence[int]) -> TakenIds:
        """The sentences at ``indices`` (a filtered transfer set), without copying ids."""
        return TakenIds(self, np.asarray(indices, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path) -> TokenIds:
        # plain ndarray views of the maps: slicing an np.memmap costs a subclass round trip
        return cls(
            np.load(folder / IDS, mmap_mode="r", allow_pickle=False).view(np.ndarray),
            np.load(folder / OFFSETS, mmap_mode="r", allow_pickle=False).view(np.ndarray),
        )


class TakenIds(Sequence):
    """A view of some sentences of a ``TokenIds``, in the order of ``index``."""

    def __init__(self, base: TokenIds, index: np.ndarray):
        self.base, self.index = base, index
        self.lengths = base.lengths[index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.base[int(self.index[i])]


def write_token_ids(
    folder: Path,
    texts: Sequence[str],
    encode: Callable[[Sequence[str]], list[list[int]]],
    chunk: int = CHUNK,
) -> dict:
    """Tokenise ``texts`` chunk by chunk into ``folder``; returns sentence and token counts."""
    parts, lengths = [], []
    for batch in batched(texts, chunk):
        ids = encode(batch)
        lengths.extend(len(x) for x in ids)
        parts.append(np.fromiter((t for x in ids for t in x), dtype=np.int32))
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    np.save(folder / IDS, flat, allow_pickle=False)
    np.save(folder / OFFSETS, offsets, allow_pickle=False)
    return {"sentences": len(lengths), "tokens": int(offsets[-1])}
