"""Fast teacher annotation of transfer sets: one annotator per precision, and ``load_annotator``.

An annotator turns sentences into a teacher's logits (and, on the torch paths, hidden
states and attention maps), batched as the ``Annotator`` base class does (``base.py``),
at one of five precisions:

    fp32       the checkpoint as trained
    bf16       the same model under bf16 autocast (native on CPUs with AVX512-BF16/AMX, CUDA)
    int8       torch dynamic quantisation of every nn.Linear, int8 weights per output
               channel (CPU)
    onnx-fp32  a torch.onnx export (dynamic batch and sequence axes) run by onnxruntime (CPU)
    onnx-int8  onnxruntime's dynamic quantisation of that export, per channel too (CPU)

Per-channel weights: on all-MiniLM-L6-v2 with a probe head they kept 92% (torch) and
96% (onnxruntime) of fp32's labels where per-tensor kept 85% and 90%, at the same speed.
What a speed-up costs is measured, not assumed: ``agreement`` compares any precision's
logits with fp32's (label agreement, mean and max absolute logit error), and
``benchmarks/bench_annotation.py`` puts both side by side.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from distill_bench.matrix.model import ANNOTATE_PRECISIONS
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.stages.annotation.base import TORCH_PRECISIONS, Annotator
from distill_bench.stages.annotation.onnx import (
    export_onnx,
    inference_session,
    onnx_file_bytes,
    quantize_onnx,
    require_onnx,
)
from distill_bench.stages.annotation.outputs import Outputs
from distill_bench.stages.batching import pick_device
from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer

PRECISIONS = ANNOTATE_PRECISIONS


def agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """How far ``candidate`` logits are from ``reference`` ones (e.g. int8 against fp32)."""
    reference, candidate = np.asarray(reference), np.asarray(candidate)
    if reference.shape != candidate.shape:
        raise ValueError(f"logits of shapes {reference.shape} and {candidate.shape} differ")
    if len(reference) == 0:
        return {"examples": 0, "label_agreement": 1.0, "mean_abs_error": 0.0, "max_abs_error": 0.0}
    error = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    return {
        "examples": len(reference),
        "label_agreement": float((reference.argmax(-1) == candidate.argmax(-1)).mean()),
        "mean_abs_error": float(error.mean()),
        "max_abs_error": float(error.max()),
    }


class TorchAnnotator(Annotator):
    """fp32, bf16 (autocast) and int8 (dynamic quantisation): a transformers model run by
    torch; the only path that also gives hidden states and attention maps."""

    def __init__(self, model, tokenizer, precision: str, max_length, batch_size, device):
        super().__init__(tokenizer, model.config.num_labels, max_length, batch_size, device)
        self.model = model.eval()
        self.precision = precision
        self.num_layers = model.config.num_hidden_layers

    def _context(self):
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
        )

    def _logits(self, input_ids, mask):
        out = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device))
        return out.logits.float().cpu().numpy()

    def _layers(self, layers, first: int, what: str) -> tuple[int, ...]:
        """Layer numbers in first..num_layers (negative: from the last), checked."""
        resolved = []
        for layer in layers:
            number = self.num_layers + 1 + layer if layer < 0 else layer
            if not first <= number <= self.num_layers:
                raise BenchError(
                    f"teacher {what} layer {layer} does not exist: the teacher has "
                    f"{first}..{self.num_layers}{' (0 = embeddings)' if first == 0 else ''}"
                )
            resolved.append(number)
        return tuple(dict.fromkeys(resolved))

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
        """Logits plus, per example and unpadded, the hidden states of ``hidden_layers``
        (0 = embeddings, l = layer l's output: transformers' ``hidden_states[l]``) and, with
        ``attentions``, the attention maps of ``attention_layers`` (1-based, all by default:
        layer l's map is transformers' ``attentions[l - 1]``, the map that produced
        ``hidden_states[l]``), head-averaged unless ``average_heads`` is False."""
        hidden_layers = self._layers(hidden_layers, 0, "hidden state")
        attn_layers = ()
        if attentions:
            chosen = range(1, self.num_layers + 1) if attention_layers is None else attention_layers
            attn_layers = self._layers(chosen, 1, "attention")
        ids = self.encode(texts)
        logits = np.zeros((len(ids), self.num_labels), dtype=np.float32)
        hidden: dict[int, list] = {layer: [None] * len(ids) for layer in hidden_layers}
        maps: dict[int, list] = {layer: [None] * len(ids) for layer in attn_layers}
        previous = getattr(self.model.config, "_attn_implementation", None)
        if attn_layers and previous != "eager":  # sdpa and flash kernels return no maps
            self.model.set_attn_implementation("eager")
        try:

            def step(batch, input_ids, mask):
                out = self.model(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    output_hidden_states=bool(hidden_layers),
                    output_attentions=bool(attn_layers),
                )
                logits[batch] = out.logits.float().cpu().numpy()
                lengths = [len(ids[i]) for i in batch]
                for layer in hidden_layers:
                    states = out.hidden_states[layer].float().cpu().numpy()
                    for row, (i, n) in enumerate(zip(batch, lengths, strict=True)):
                        hidden[layer][i] = states[row, :n].copy()
                for layer in attn_layers:
                    probs = out.attentions[layer - 1].float()
                    if average_heads:
                        probs = probs.mean(dim=1)
                    probs = probs.cpu().numpy()
                    for row, (i, n) in enumerate(zip(batch, lengths, strict=True)):
                        maps[layer][i] = probs[row, ..., :n, :n].copy()

            with torch.inference_mode(), self._context():
                self._run_batches(ids, progress, description, step)
        finally:
            if attn_layers and previous != "eager":
                self.model.set_attn_implementation(previous)
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        return Outputs(logits, lengths, hidden, maps)


class OnnxAnnotator(Annotator):
    """onnx-fp32 and onnx-int8: an exported model run by an onnxruntime CPU session."""

    def __init__(self, session, tokenizer, precision, num_labels, max_length, batch_size, path):
        super().__init__(tokenizer, num_labels, max_length, batch_size, torch.device("cpu"))
        self.session = session
        self.precision = precision
        self.path = Path(path)
        self.input_names = {i.name for i in session.get_inputs()}
        self._tmp = None  # a TemporaryDirectory to keep alive when no work_dir was given

    def _logits(self, input_ids, mask):
        feed = {"input_ids": input_ids.numpy(), "attention_mask": mask.numpy()}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0]

    def describe(self) -> dict:
        return super().describe() | {
            "onnx_file": self.path.name,
            "onnx_bytes": onnx_file_bytes(self.path),
        }


def load_annotator(
    ckpt_dir: Path,
    precision: str,
    max_length: int,
    batch_size: int,
    device: torch.device | str | None = None,
    work_dir: Path | None = None,
) -> Annotator:
    """An annotator for a fine-tuned checkpoint folder (save_pretrained layout).

    ``device`` is used by fp32 and bf16 (default: CUDA if present); int8 and the ONNX
    paths run on CPU. The ONNX paths write their model files under ``work_dir`` (a
    temporary folder, removed with the annotator, when None).
    """
    if precision not in PRECISIONS:
        raise BenchError(
            f"annotation precision {precision!r} is unknown; choose one of {', '.join(PRECISIONS)}"
        )
    if precision.startswith("onnx"):
        require_onnx()  # fail before loading anything
    started = time.perf_counter()
    device = torch.device(device) if device is not None else pick_device()
    if precision not in ("fp32", "bf16"):
        device = torch.device("cpu")
    tokenizer = load_tokenizer(str(ckpt_dir))
    model = load_classifier(str(ckpt_dir)).eval()
    if precision in TORCH_PRECISIONS:
        if precision == "int8":
            with warnings.catch_warnings():  # torch.ao's eager quantisation is deprecated
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
                )
        annotator = TorchAnnotator(
            model.to(device), tokenizer, precision, max_length, batch_size, device
        )
    else:
        tmp = None
        if work_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="distill-bench-onnx-")
            work_dir = Path(tmp.name)
        work_dir = Path(work_dir)
        path = export_onnx(model, work_dir / "teacher.onnx")
        if precision == "onnx-int8":
            path = quantize_onnx(path, work_dir / "teacher-int8.onnx")
        annotator = OnnxAnnotator(
            inference_session(path),
            tokenizer,
            precision,
            num_labels=model.config.num_labels,
            max_length=max_length,
            batch_size=batch_size,
            path=path,
        )
        annotator._tmp = tmp
        del model
    annotator.setup_seconds = time.perf_counter() - started
    return annotator
