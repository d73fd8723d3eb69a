"""ONNX tooling shared by teacher annotation and the measure stage's deployment variants.

Exporting a sequence classifier's logits (``export_onnx``), onnxruntime's dynamic int8
quantisation (``quantize_onnx``), a CPU inference session with torch's thread count
(``inference_session``), the optional packages' check (``require_onnx``) and the exporters'
loggers silenced while they run (``quiet_loggers``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from distill_bench.plugin_api.errors import BenchError

ONNX_OPSET = 18
ONNX_INSTALL = "pip install onnx onnxruntime onnxscript"


def onnx_file_bytes(path: Path) -> int:
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
    with warnings.catch_warnings(), quiet_loggers("torch.onnx"):
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
    with warnings.catch_warnings(), quiet_loggers("root"):  # "consider pre-processing"
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
def quiet_loggers(*names: str):
    """Only errors from these loggers while the block runs (the exporters are chatty)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# what torch's TorchScript exporter prints for an RNN's packed sequences: C++ warnings that
# the graph's shapes may be inferred wrongly, which export_onnx checks itself by comparing
# the exported model's logits with torch's on a padded batch
EXPORTER_NOISE = re.compile(
    r"shape_type_inference\.cpp.*The shape inference of prim::(PackPadded|PadPacked) type is missing"
)


@contextlib.contextmanager
def native_stderr_without(noise: re.Pattern):
    """Hold what C++ code writes to file descriptor 2 while the block runs (it goes past
    Python's warnings filters and loggers), then pass on every line but ``noise``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [
                line
                for line in held.read().decode(errors="replace").splitlines(keepends=True)
                if not noise.search(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def inference_session(path: Path):
    """An onnxruntime CPU session for ``path`` using as many threads as torch does."""
    ort = require_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same threads as torch
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
