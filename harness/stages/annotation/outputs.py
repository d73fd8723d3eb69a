"""The annotation stage's shard format on disk, and reading it back lazily.

A teacher's outputs for a transfer set (``Outputs`` in memory) are written by
``distill_bench.stages.annotation.writer`` and read by ``OutputsReader``; ``SavedFeatures``
pads a batch's saved hidden states and attention maps for the student loop::

    outputs.json               index: examples, layers, shard table
    logits.safetensors         "logits" (N, labels) fp32 and "lengths" (N,) int64 tokens
    shard-00000.safetensors    examples [0, shard_size): per-example arrays concatenated
    ...                        without padding, with an offsets index:
                                 "token_offsets" (n+1,)            int64
                                 "hidden.{layer}" (tokens, hidden) fp16
                                 "attention_offsets" (n+1,)        int64
                                 "attention.{layer}" (elements,)   fp16, each example's
                                   (len, len) map (or (heads, len, len)) flattened

The reader memory-maps one shard only when an example in it is asked for.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.student.loop import TeacherFeatures

FORMAT = "distill-bench-outputs/1"
INDEX = "outputs.json"
LOGITS = "logits.safetensors"
DEFAULT_SHARD_SIZE = 2048


@dataclass
class Outputs:
    """A teacher's outputs for some sentences, in input order, without padding."""

    logits: np.ndarray  # (N, labels) float32
    lengths: np.ndarray  # (N,) tokens per example, special tokens included
    hidden: dict[int, list[np.ndarray]] = field(default_factory=dict)  # layer -> (len_i, H)
    # layer -> (len_i, len_i) when heads are averaged, else (heads, len_i, len_i)
    attentions: dict[int, list[np.ndarray]] = field(default_factory=dict)


class OutputsReader:
    """Lazy, memory-mapped access to saved outputs: a shard is opened (header only, via
    ``safetensors.safe_open``) the first time one of its examples is read, and an
    example's rows are sliced out of it without reading the rest of the shard."""

    def __init__(self, path_dir: Path):
        self.dir = Path(path_dir)
        try:
            self.index = json.loads((self.dir / INDEX).read_text())
        except (OSError, ValueError) as exc:
            raise BenchError(f"{self.dir}: no readable {INDEX} ({exc})") from None
        if self.index.get("format") != FORMAT:
            raise BenchError(
                f"{self.dir / INDEX}: format {self.index.get('format')!r}, not {FORMAT}"
            )
        self.hidden_layers = tuple(self.index["hidden_layers"])
        self.attention_layers = tuple(self.index["attention_layers"])
        self._starts = [s["start"] for s in self.index["shards"]]
        self._open: dict[int, tuple] = {}  # shard number -> (handle, token offsets, map offsets)
        self._logits_file = None
        self._lengths = None

    def __len__(self) -> int:
        return self.index["examples"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._open.clear()
        self._logits_file = None

    def _logits_handle(self):
        from safetensors import safe_open

        if self._logits_file is None:
            self._logits_file = safe_open(str(self.dir / LOGITS), framework="numpy")
        return self._logits_file

    @property
    def lengths(self) -> np.ndarray:
        if self._lengths is None:
            self._lengths = self._logits_handle().get_tensor("lengths")
        return self._lengths

    def logits(self, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Logits of ``indices`` (all when None), float32, in the order asked for."""
        handle = self._logits_handle()
        if indices is None:
            return handle.get_tensor("logits")
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return np.zeros((0, self.index["num_labels"]), dtype=np.float32)
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= len(self):
            raise IndexError(f"example index out of range 0..{len(self) - 1}")
        return handle.get_slice("logits")[low : high + 1][indices - low]

    def _shard(self, i: int) -> tuple[int, tuple]:
        from safetensors import safe_open

        if not 0 <= i < len(self):
            raise IndexError(f"example {i} out of range 0..{len(self) - 1}")
        number = bisect.bisect_right(self._starts, i) - 1
        if number < 0:
            raise KeyError(f"{self.dir}: no hidden states or attention maps were saved")
        if number not in self._open:
            path = self.dir / self.index["shards"][number]["file"]
            handle = safe_open(str(path), framework="numpy")
            keys = set(handle.keys())
            maps = handle.get_tensor("attention_offsets") if "attention_offsets" in keys else None
            self._open[number] = (handle, handle.get_tensor("token_offsets"), maps)
        return number, self._open[number]

    def hidden(self, i: int, layer: int) -> np.ndarray:
        """Example ``i``'s hidden states at ``layer``: (tokens, hidden) float16."""
        if layer not in self.hidden_layers:
            raise KeyError(f"hidden layer {layer} was not saved (saved: {self.hidden_layers})")
        number, (handle, offsets, _) = self._shard(i)
        row = i - self._starts[number]
        return handle.get_slice(f"hidden.{layer}")[int(offsets[row]) : int(offsets[row + 1])]

    def hidden_batch(self, indices: Sequence[int], layer: int) -> list[np.ndarray]:
        return [self.hidden(int(i), layer) for i in indices]

    def attention(self, i: int, layer: int) -> np.ndarray:
        """Example ``i``'s attention map at ``layer``: (len, len), or (heads, len, len)."""
        if layer not in self.attention_layers:
            raise KeyError(
                f"attention layer {layer} was not saved (saved: {self.attention_layers})"
            )
        number, (handle, offsets, maps) = self._shard(i)
        row = i - self._starts[number]
        n = int(offsets[row + 1] - offsets[row])
        flat = handle.get_slice(f"attention.{layer}")[int(maps[row]) : int(maps[row + 1])]
        return flat.reshape((n, n) if self.index["attention_maps"] == "mean" else (-1, n, n))

    def length(self, i: int) -> int:
        """Example ``i``'s token count (from its shard's offsets)."""
        number, (_, offsets, _) = self._shard(i)
        row = i - self._starts[number]
        return int(offsets[row + 1] - offsets[row])

    @property
    def shards_opened(self) -> tuple[int, ...]:
        return tuple(sorted(self._open))

    def features(
        self,
        hidden_layers: Sequence[int] | None = None,
        attention_layers: Sequence[int] | None = None,
    ) -> SavedFeatures:
        """A ``distill.TeacherFeatures`` over these outputs (all saved layers by default)."""
        return SavedFeatures(
            self,
            tuple(self.hidden_layers if hidden_layers is None else hidden_layers),
            tuple(self.attention_layers if attention_layers is None else attention_layers),
        )


class SavedFeatures(TeacherFeatures):
    """Saved teacher internals as ``distill.Batch`` fields, padded per batch only:
    ``teacher_hidden`` {layer: [B, T, H]}, ``teacher_mask`` [B, T] and
    ``teacher_attentions`` {layer: [B, heads, T, T]} (heads = 1 when saved head-averaged),
    all float32, T the batch's longest teacher sequence."""

    def __init__(self, reader: OutputsReader, hidden_layers, attention_layers):
        for layer in hidden_layers:
            if layer not in reader.hidden_layers:
                raise BenchError(
                    f"{reader.dir}: teacher hidden layer {layer} was not annotated "
                    f"(annotated: {list(reader.hidden_layers)})"
                )
        for layer in attention_layers:
            if layer not in reader.attention_layers:
                raise BenchError(
                    f"{reader.dir}: teacher attention layer {layer} was not annotated "
                    f"(annotated: {list(reader.attention_layers)})"
                )
        self.reader = reader
        self.hidden_layers, self.attention_layers = hidden_layers, attention_layers

    def batch(self, indices: Sequence[int], device: torch.device) -> dict:
        indices = [int(i) for i in indices]
        lengths = [self.reader.length(i) for i in indices]
        width = max(lengths, default=0)
        mask = torch.zeros((len(indices), width), dtype=torch.long)
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
        out: dict = {"teacher_mask": mask.to(device)}
        if self.hidden_layers:
            hidden = {}
            for layer in self.hidden_layers:
                rows = [self.reader.hidden(i, layer) for i in indices]
                size = rows[0].shape[-1] if rows else self.reader.index["hidden_size"] or 0
                padded = np.zeros((len(indices), width, size), dtype=np.float32)
                for row, (h, n) in enumerate(zip(rows, lengths, strict=True)):
                    padded[row, :n] = h
                hidden[layer] = torch.from_numpy(padded).to(device)
            out["teacher_hidden"] = hidden
        if self.attention_layers:
            maps = {}
            for layer in self.attention_layers:
                rows = [self.reader.attention(i, layer) for i in indices]
                rows = [a[None] if a.ndim == 2 else a for a in rows]  # head-averaged: 1 head
                heads = rows[0].shape[0] if rows else 1
                padded = np.zeros((len(indices), heads, width, width), dtype=np.float32)
                for row, (a, n) in enumerate(zip(rows, lengths, strict=True)):
                    padded[row, :, :n, :n] = a
                maps[layer] = torch.from_numpy(padded).to(device)
            out["teacher_attentions"] = maps
        return out
