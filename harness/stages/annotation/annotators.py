"""Fast teacher annotation of transfer sets, and where the outputs are stored.

An annotator turns sentences into a teacher's logits (and, on the torch paths, hidden
states and attention maps) at one of five precisions:

    fp32       the checkpoint as trained
    bf16       the same model under bf16 autocast (native on CPUs with AVX512-BF16/AMX, CUDA)
    int8       torch dynamic quantisation of every nn.Linear, int8 weights per output
               channel (CPU)
    onnx-fp32  a torch.onnx export (dynamic batch and sequence axes) run by onnxruntime (CPU)
    onnx-int8  onnxruntime's dynamic quantisation of that export, per channel too (CPU)

Per-channel weights: on all-MiniLM-L6-v2 with a probe head they kept 92% (torch) and
96% (onnxruntime) of fp32's labels where per-tensor kept 85% and 90%, at the same speed.

Every path tokenises a call's sentences once, sorts them by length so padding stays small,
and runs under ``torch.inference_mode``. What a speed-up costs is measured, not assumed:
``agreement`` compares any precision's logits with fp32's (label agreement, mean and max
absolute logit error), and ``benchmarks/bench_annotation.py`` puts both side by side.

Outputs on disk (``save_outputs`` / ``OutputsWriter``, read by ``OutputsReader``)::

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
import contextlib
import json
import logging
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from distill_bench.matrix.model import ANNOTATE_PRECISIONS
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.stages.batching import length_grouped_batches, pad, pick_device
from distill_bench.stages.student.loop import TeacherFeatures

PRECISIONS = ANNOTATE_PRECISIONS
TORCH_PRECISIONS = ("fp32", "bf16", "int8")
ONNX_OPSET = 18
ONNX_INSTALL = "pip install onnx onnxruntime onnxscript"
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


# -- annotators -------------------------------------------------------------------------


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
        return self.tokenizer(
            list(texts),
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


class TorchAnnotator(Annotator):
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
        return super().describe() | {"onnx_file": self.path.name, "onnx_bytes": _bytes(self.path)}


def _bytes(path: Path) -> int:
    """An ONNX model's size, external data files included."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def require_onnx():
    """The optional ONNX packages, or a one-line error naming the pip command."""
    missing = []
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise BenchError(
            f"annotation precisions onnx-fp32/onnx-int8 need {', '.join(missing)}: {ONNX_INSTALL}"
        )
    import onnxruntime

    return onnxruntime


def export_onnx(model, path: Path, opset: int = ONNX_OPSET) -> Path:
    """Export a sequence classifier's logits with dynamic batch and sequence axes.

    The torch.export-based exporter is used: the legacy TorchScript tracer bakes
    transformers 5's mask handling into constants and gives wrong logits on padded batches.
    """
    require_onnx()
    model = model.float().eval().cpu()
    config = model.config
    width = min(16, getattr(config, "max_position_embeddings", 16) - 2)
    ids = torch.randint(5, max(6, config.vocab_size), (2, width))  # batch 2: not a 0/1 special case
    mask = torch.ones_like(ids)
    mask[1, width // 2 :] = 0  # a padded row, so the mask path is the general one
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    big = sum(p.numel() * p.element_size() for p in model.parameters()) > 1.5e9
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), _quiet_loggers("torch.onnx"):
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                _LogitsOnly(model),
                (ids, mask),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_shapes={
                    "input_ids": {0: batch, 1: sequence},
                    "attention_mask": {0: batch, 1: sequence},
                },
                opset_version=opset,
                dynamo=True,
                external_data=big,
                verbose=False,
            )
        except Exception as exc:  # the exporter's messages are long; keep its first line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RuntimeError(f"ONNX export of the teacher failed: {first}") from exc
    # The exporter records value_info at the example's shapes, which onnx's shape inference
    # (run by the quantiser) rejects once the axes are dynamic: keep only the graph.
    import onnx

    exported = onnx.load(str(path), load_external_data=big)
    del exported.graph.value_info[:]
    onnx.save(exported, str(path), save_as_external_data=big, location=path.name + ".data")
    return path


def quantize_onnx(source: Path, target: Path) -> Path:
    """onnxruntime dynamic quantisation: int8 weights per output channel, activations
    quantised per batch."""
    require_onnx()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    big = _has_external_data(source)
    with warnings.catch_warnings(), _quiet_loggers("root"):  # "consider pre-processing"
        warnings.simplefilter("ignore")
        quantize_dynamic(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            use_external_data_format=big,
        )
    return target


def _has_external_data(path: Path) -> bool:
    return any(p != path for p in path.parent.glob(path.name + "*"))


@contextlib.contextmanager
def _quiet_loggers(*names: str):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _session(path: Path):
    ort = require_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same threads as torch
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def auto_batch_size(device: torch.device) -> int:
    """Where annotation starts when the budget says 0 (auto): large on a GPU, where it
    backs off on out-of-memory; 128 on CPU, past which throughput no longer grows."""
    return 1024 if device.type == "cuda" else 128


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
    from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer

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
            _session(path), tokenizer, precision, model.config.num_labels, max_length,
            batch_size, path,
        )  # fmt: skip
        annotator._tmp = tmp
        del model
    annotator.setup_seconds = time.perf_counter() - started
    return annotator


# -- storage ----------------------------------------------------------------------------


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
