"""Writing a teacher's outputs in the shard format of ``outputs.py``, one shard at a time.

``OutputsWriter`` takes examples in input order and sends each full shard to disk as soon
as it fills, so memory holds one shard's hidden states, never a whole transfer set's;
``save_outputs`` writes outputs already in memory in one call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from distill_bench.stages.annotation.outputs import DEFAULT_SHARD_SIZE, FORMAT, INDEX, LOGITS


class OutputsWriter:
    """Append outputs in input order; each full shard goes to disk as soon as it fills."""

    def __init__(self, path_dir: Path, shard_size: int = DEFAULT_SHARD_SIZE):
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        self.dir = Path(path_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self._logits: list[np.ndarray] = []
        self._lengths: list[int] = []
        self._hidden: dict[int, list[np.ndarray]] | None = None
        self._maps: dict[int, list[np.ndarray]] | None = None
        self._pending = 0  # examples appended but not yet in a shard
        self._shards: list[dict] = []
        self._hidden_size: int | None = None
        self._map_shape: str | None = None
        self.examples = 0

    def append(
        self,
        logits: np.ndarray,
        hidden: dict[int, Sequence[np.ndarray]] | None = None,
        attentions: dict[int, Sequence[np.ndarray]] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> None:
        """Examples in input order: logits (n, labels), and per layer a list of n
        per-example arrays; ``lengths`` (token counts) when no per-token arrays are given."""
        logits = np.asarray(logits, dtype=np.float32)
        hidden, attentions = dict(hidden or {}), dict(attentions or {})
        n = len(logits)
        for name, arrays in (("hidden", hidden), ("attentions", attentions)):
            for layer, items in arrays.items():
                if len(items) != n:
                    raise ValueError(f"{name}[{layer}] has {len(items)} examples, logits {n}")
        if self._hidden is None:
            self._hidden = {layer: [] for layer in sorted(hidden)}
            self._maps = {layer: [] for layer in sorted(attentions)}
        if set(hidden) != set(self._hidden) or set(attentions) != set(self._maps):
            raise ValueError("every append must carry the same hidden and attention layers")
        found = self._example_lengths(n, hidden, attentions)
        if lengths is not None:
            if len(lengths) != n or ((hidden or attentions) and list(map(int, lengths)) != found):
                raise ValueError("lengths disagree with the logits or the per-token arrays")
            found = [int(x) for x in lengths]
        lengths = found
        self._logits.append(logits)
        self._lengths.extend(lengths)
        for layer, items in hidden.items():
            self._hidden[layer].extend(items)
        for layer, items in attentions.items():
            self._maps[layer].extend(items)
        self._pending += n
        self.examples += n
        while self._pending >= self.shard_size and (self._hidden or self._maps):
            self._flush(self.shard_size)

    def _example_lengths(self, n, hidden, attentions) -> list[int]:
        lengths = [None] * n
        for layer, items in hidden.items():
            for i, h in enumerate(items):
                if h.ndim != 2:
                    raise ValueError(f"hidden[{layer}][{i}] must be (tokens, hidden)")
                if self._hidden_size is None:
                    self._hidden_size = h.shape[1]
                lengths[i] = self._check(lengths[i], h.shape[0], layer, i)
        for layer, items in attentions.items():
            for i, a in enumerate(items):
                shape = "mean" if a.ndim == 2 else "heads"
                if a.ndim not in (2, 3) or a.shape[-1] != a.shape[-2]:
                    raise ValueError(
                        f"attentions[{layer}][{i}] must be (len, len) or (heads, len, len)"
                    )
                if self._map_shape is None:
                    self._map_shape = shape
                lengths[i] = self._check(lengths[i], a.shape[-1], layer, i)
        return [0 if length is None else length for length in lengths]

    @staticmethod
    def _check(known, length, layer, i):
        if known is not None and known != length:
            raise ValueError(f"example {i}: layer {layer} has {length} tokens, another {known}")
        return length

    def _flush(self, count: int) -> None:
        from safetensors.numpy import save_file

        start = self.examples - self._pending
        lengths = self._lengths[start : start + count]
        tensors = {"token_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)}
        for layer, items in self._hidden.items():
            chunk, self._hidden[layer] = items[:count], items[count:]
            tensors[f"hidden.{layer}"] = np.ascontiguousarray(
                np.concatenate(chunk) if chunk else np.zeros((0, self._hidden_size or 0)),
                dtype=np.float16,
            )
        if self._maps:
            sizes = None
            for layer, items in self._maps.items():
                chunk, self._maps[layer] = items[:count], items[count:]
                sizes = [a.size for a in chunk]
                flat = [a.reshape(-1) for a in chunk]
                tensors[f"attention.{layer}"] = np.ascontiguousarray(
                    np.concatenate(flat) if flat else np.zeros(0), dtype=np.float16
                )
            tensors["attention_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        name = f"shard-{len(self._shards):05d}.safetensors"
        save_file(tensors, str(self.dir / name))
        self._shards.append({"file": name, "start": start, "stop": start + count})
        self._pending -= count

    def close(self) -> dict:
        """Write what is left, the logits and the index; returns the index."""
        from safetensors.numpy import save_file

        if self._pending and (self._hidden or self._maps):
            self._flush(self._pending)
        self._pending = 0
        logits = np.concatenate(self._logits) if self._logits else np.zeros((0, 0), np.float32)
        save_file(
            {
                "logits": np.ascontiguousarray(logits, dtype=np.float32),
                "lengths": np.asarray(self._lengths, dtype=np.int64),
            },
            str(self.dir / LOGITS),
        )
        index = {
            "format": FORMAT,
            "examples": self.examples,
            "num_labels": int(logits.shape[1]) if logits.ndim == 2 else 0,
            "shard_size": self.shard_size,
            "hidden_layers": sorted(self._hidden or {}),
            "hidden_size": self._hidden_size,
            "hidden_dtype": "float16",
            "attention_layers": sorted(self._maps or {}),
            "attention_maps": self._map_shape,  # "mean" (len, len) or "heads" (h, len, len)
            "shards": self._shards,
        }
        (self.dir / INDEX).write_text(json.dumps(index, indent=1))
        return index


def save_outputs(
    path_dir: Path,
    logits: np.ndarray,
    hidden: dict[int, Sequence[np.ndarray]] | None = None,
    attentions: dict[int, Sequence[np.ndarray]] | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    lengths: Sequence[int] | None = None,
) -> dict:
    """Write logits (fp32) and per-example hidden states / attention maps (fp16, unpadded,
    ``shard_size`` examples a file) under ``path_dir``; returns the index."""
    writer = OutputsWriter(path_dir, shard_size)
    writer.append(logits, hidden, attentions, lengths)
    return writer.close()
