"""Deployment variants of a trained model: dynamic int8 (torch) and ONNX Runtime (fp32, int8).

Each builder takes the fp32 model and its ``logits(model, batch)`` function and returns a
``batch -> logits`` callable running the variant, so the measure stage times and scores
every variant exactly like the model itself. A variant that cannot be built (a student
whose graph does not export, a missing package) raises ``VariantUnavailable`` with the
reason; the measure stage records it and goes on.
"""

from __future__ import annotations

import copy
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from distill_bench.matrix.model import MEASURE_VARIANTS as VARIANTS
from distill_bench.stages.annotation.onnx import (
    EXPORTER_NOISE,
    inference_session,
    native_stderr_without,
    onnx_file_bytes,
    quantize_onnx,
    quiet_loggers,
    require_onnx,
)
from distill_bench.stages.batching import batched
from distill_bench.stages.measure.timing import measure_speed
from torch import nn

# An export whose logits differ from torch's by more than this is not the same model.
MAX_EXPORT_ERROR = 1e-3


class VariantUnavailable(Exception):
    """This variant cannot be built for this model; the message says why."""


class _Logits(nn.Module):
    """``(input_ids, attention_mask) -> logits`` of any model, the signature ONNX exports."""

    def __init__(self, model: nn.Module, logits_fn: Callable):
        super().__init__()
        self.model, self.logits_fn = model, logits_fn

    def forward(self, input_ids, attention_mask):
        return self.logits_fn(
            self.model, {"input_ids": input_ids, "attention_mask": attention_mask}
        )


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``: exporters' errors run to pages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")


def torch_int8(model: nn.Module, logits_fn: Callable) -> Callable[[dict], torch.Tensor]:
    """torch dynamic quantisation: Linear weights int8 per output channel, LSTM weights
    int8; activations quantised on the fly. CPU only."""
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    with warnings.catch_warnings():  # torch.ao's eager quantisation is deprecated, not gone
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).cpu().eval(),
            {nn.Linear: per_channel_dynamic_qconfig, nn.LSTM: default_dynamic_qconfig},
        )
    if not any("quantized" in type(m).__module__ for m in quantized.modules()):
        raise VariantUnavailable("no Linear or LSTM layer to quantise")
    return lambda batch: logits_fn(quantized, batch)


def export_onnx(model: nn.Module, logits_fn: Callable, example: dict, path: Path) -> Path:
    """Export with dynamic batch and sequence axes: the torch.export-based exporter first,
    then the TorchScript tracer; the export must reproduce torch's logits on ``example``
    (a padded batch), else the variant is unavailable."""
    require_onnx()
    wrapped = _Logits(copy.deepcopy(model).float().cpu().eval(), logits_fn).eval()
    ids, mask = example["input_ids"], example["attention_mask"]
    with torch.inference_mode():
        expected = wrapped(ids, mask).float().numpy()
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    dynamic_shapes = {  # the torch.export-based exporter's way to say which axes vary
        "dynamic_shapes": {
            "input_ids": {0: batch, 1: sequence},
            "attention_mask": {0: batch, 1: sequence},
        }
    }
    dynamic_axes = {  # the TorchScript tracer's
        "dynamic_axes": {
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"},
        }
    }
    errors = []
    for dynamo in (True, False):
        try:
            with (
                warnings.catch_warnings(),
                quiet_loggers("torch.onnx"),
                native_stderr_without(EXPORTER_NOISE),
            ):
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapped,
                    (ids, mask),
                    str(path),
                    input_names=["input_ids", "attention_mask"],
                    output_names=["logits"],
                    dynamo=dynamo,
                    verbose=False,
                    **(dynamic_shapes if dynamo else dynamic_axes),
                )
            if dynamo:  # shape info recorded at the example's shapes trips the quantiser
                import onnx

                exported = onnx.load(str(path))
                del exported.graph.value_info[:]
                onnx.save(exported, str(path))  # weights inline now: drop the exporter's copy
                path.with_name(path.name + ".data").unlink(missing_ok=True)
            got = OnnxRunner(path)(example)
        except Exception as exc:  # the exporters' failures are many and long
            errors.append(f"{'dynamo' if dynamo else 'torchscript'} export: {first_line(exc)}")
            continue
        error = float(np.abs(got - expected).max())
        if error <= MAX_EXPORT_ERROR * max(1.0, float(np.abs(expected).max())):
            return path
        errors.append(
            f"{'dynamo' if dynamo else 'torchscript'} export gives logits {error:.2g} "
            "away from torch's on a padded batch"
        )
    raise VariantUnavailable("; ".join(errors))


class OnnxRunner:
    """An onnxruntime CPU session with torch's thread count: ``batch -> logits``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.session = inference_session(self.path)
        self.inputs = {i.name for i in self.session.get_inputs()}

    def __call__(self, batch: dict) -> np.ndarray:
        feed = {k: v.numpy() for k, v in batch.items() if k in self.inputs}
        return self.session.run(None, feed)[0]


class VariantBuilder:
    """Builds the variants of one model; the ONNX export is shared by fp32 and int8."""

    def __init__(self, model: nn.Module, logits_fn: Callable, example: dict):
        self.model, self.logits_fn, self.example = model, logits_fn, example
        self._tmp = tempfile.TemporaryDirectory(prefix="distill-bench-variants-")
        self.work = Path(self._tmp.name)
        self._onnx: Path | VariantUnavailable | None = None

    def _fp32_onnx(self) -> Path:
        if self._onnx is None:
            try:
                self._onnx = export_onnx(
                    self.model, self.logits_fn, self.example, self.work / "model.onnx"
                )
            except VariantUnavailable as exc:
                self._onnx = exc
            except Exception as exc:
                self._onnx = VariantUnavailable(first_line(exc))
        if isinstance(self._onnx, VariantUnavailable):
            raise self._onnx
        return self._onnx

    def build(self, name: str) -> tuple[Callable[[dict], object], int | None]:
        """(``batch -> logits``, bytes on disk or None) for the variant ``name``."""
        if name == "int8":
            return torch_int8(self.model, self.logits_fn), None
        if name == "onnx-fp32":
            path = self._fp32_onnx()
            return OnnxRunner(path), onnx_file_bytes(path)
        if name == "onnx-int8":
            path = quantize_onnx(self._fp32_onnx(), self.work / "model-int8.onnx")
            return OnnxRunner(path), onnx_file_bytes(path)
        raise VariantUnavailable(f"unknown variant {name!r} (variants: {', '.join(VARIANTS)})")

    def close(self) -> None:
        self._tmp.cleanup()


def variant_logits(run, encode, texts: list[str], batch_size: int) -> np.ndarray:
    """A variant's logits over ``texts``, float32, in order."""
    with torch.inference_mode():
        parts = [run(encode(list(b))) for b in batched(texts, batch_size)]
    return np.concatenate(
        [p.float().numpy() if isinstance(p, torch.Tensor) else p for p in parts]
    ).astype(np.float32)


def measure_variant(
    name: str, builder: VariantBuilder, encode, *, texts, encoded, singles, n_sentences, cfg
) -> dict:
    """One deployment variant: timed like the model, and its logits over every
    evaluation sentence (the runner scores them)."""
    started = time.perf_counter()
    try:
        run, disk = builder.build(name)
        speed = measure_speed(run, encoded, singles, n_sentences, cfg)
        logits = variant_logits(run, encode, texts, cfg["batch_size"])
    except VariantUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    except Exception as exc:  # a variant that crashes is unavailable, not a failed cell
        return {"available": False, "reason": first_line(exc)}
    out = {"available": True, **speed, "logits": logits}
    out["seconds"] = time.perf_counter() - started
    if disk is not None:
        out["disk_bytes"] = disk
    return out


def score_variant(name: str, builder: VariantBuilder, encode, texts, batch_size: int) -> dict:
    """One deployment variant's logits over every evaluation sentence, untimed."""
    try:
        run, _ = builder.build(name)
        return {"available": True, "logits": variant_logits(run, encode, texts, batch_size)}
    except VariantUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    except Exception as exc:  # as measure_variant: unavailable, not a failed cell
        return {"available": False, "reason": first_line(exc)}
