"""The ``Annotator`` base class: sentences to teacher outputs, batched the same way on every path.

An annotator tokenises a call's sentences once, sorts them by length so padding stays
small, runs under ``torch.inference_mode`` and, when memory runs out, halves its batch
size and retries. ``annotate_to`` writes the outputs shard by shard. The precisions'
subclasses and ``load_annotator`` are in ``distill_bench.stages.annotation.annotators``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.stages.annotation.outputs import DEFAULT_SHARD_SIZE, Outputs
from distill_bench.stages.annotation.writer import OutputsWriter
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.teacher.checkpoint import tokenize

TORCH_PRECISIONS = ("fp32", "bf16", "int8")


def auto_batch_size(device: torch.device) -> int:
    """Where annotation starts when the budget says 0 (auto): large on a GPU, where it
    backs off on out-of-memory; 128 on CPU, past which throughput no longer grows."""
    return 1024 if device.type == "cuda" else 128


class Annotator:
    """Sentences to teacher logits, length-sorted and batched; see ``load_annotator``."""

    precision: str

    def __init__(self, tokenizer, num_labels: int, max_length: int, batch_size: int, device):
        self.tokenizer = tokenizer
        self.num_labels = num_labels
        self.max_length = max_length
        self.device = device
        self.batch_size = batch_size if batch_size > 0 else auto_batch_size(device)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.setup_seconds = 0.0
        self.oom_backoffs = 0  # times the batch size was halved to fit in memory

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """One tokeniser call for all of ``texts`` (the teacher's own truncation)."""
        if not texts:
            return []
        return tokenize(
            self.tokenizer,
            texts,
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def _run_batches(self, ids: list[list[int]], progress: Progress, description: str, step):
        """``step(batch, input_ids, mask)`` over length-sorted batches of the largest size
        that fits: an out-of-memory error halves the batch size for the rest of the run
        and retries the batch that failed, down to one sentence."""
        batches = length_grouped_batches([len(x) for x in ids], self.batch_size, seed=None)
        for batch in progress.track(batches, description):
            pending = [batch]
            while pending:
                part, size = pending.pop(0), self.batch_size  # size shrinks when memory runs out
                if len(part) > size:
                    pending[:0] = [part[i : i + size] for i in range(0, len(part), size)]
                    continue
                input_ids, mask = pad([ids[i] for i in part], self.pad_id)
                try:
                    step(part, input_ids, mask)
                except (torch.OutOfMemoryError, MemoryError):
                    if len(part) == 1:
                        raise
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    self.batch_size = len(part) // 2
                    self.oom_backoffs += 1
                    pending.insert(0, part)

    def _logits(self, input_ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def logits(
        self, texts: Sequence[str], progress: Progress = quiet, description: str = "annotate"
    ) -> np.ndarray:
        """(len(texts), labels) float32 logits, in input order."""
        return self.logits_of_ids(self.encode(texts), progress, description)

    def logits_of_ids(
        self,
        ids: Sequence[Sequence[int]],
        progress: Progress = quiet,
        description: str = "annotate",
    ) -> np.ndarray:
        """The same, for ids already made by this annotator's tokenizer."""
        out = np.zeros((len(ids), self.num_labels), dtype=np.float32)

        def step(batch, input_ids, mask):
            out[batch] = self._logits(input_ids, mask)

        with torch.inference_mode(), self._context():
            self._run_batches(ids, progress, description, step)
        return out

    def _context(self):
        return contextlib.nullcontext()

    def outputs(
        self,
        texts: Sequence[str],
        hidden_layers: tuple[int, ...] = (),
        attentions: bool = False,
        *,
        attention_layers: tuple[int, ...] | None = None,
        average_heads: bool = True,
        progress: Progress = quiet,
        description: str = "annotate",
    ) -> Outputs:
        raise BenchError(
            f"annotation precision {self.precision} gives logits only; hidden states and "
            f"attention maps need one of {', '.join(TORCH_PRECISIONS)}"
        )

    def annotate_to(
        self,
        out_dir: Path,
        texts: Sequence[str],
        hidden_layers: tuple[int, ...] = (),
        attentions: bool = False,
        *,
        attention_layers: tuple[int, ...] | None = None,
        average_heads: bool = True,
        shard_size: int = DEFAULT_SHARD_SIZE,
        progress: Progress = quiet,
        description: str = "annotate",
    ) -> dict:
        """Annotate ``texts`` into ``out_dir`` one shard at a time, so memory holds one
        shard's hidden states, never the whole transfer set's. Returns the index."""
        writer = OutputsWriter(out_dir, shard_size)
        if not hidden_layers and not attentions:
            ids = self.encode(texts)
            logits = self.logits_of_ids(ids, progress, description)
            writer.append(logits, lengths=[len(x) for x in ids])
            return writer.close()
        chunks = range(0, len(texts), shard_size)
        for n, start in enumerate(chunks):
            out = self.outputs(
                texts[start : start + shard_size],
                hidden_layers,
                attentions,
                attention_layers=attention_layers,
                average_heads=average_heads,
                progress=progress,
                description=f"{description} (shard {n + 1}/{len(chunks)})",
            )
            writer.append(out.logits, out.hidden, out.attentions)
        return writer.close()

    def describe(self) -> dict:
        return {
            "precision": self.precision,
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "batch_size": self.batch_size,  # after any out-of-memory back-off
            "oom_backoffs": self.oom_backoffs,
            "max_length": self.max_length,
            "setup_seconds": self.setup_seconds,
        }
