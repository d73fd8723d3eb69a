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
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from distill_bench.matrix.model import MEASURE_VARIANTS as VARIANTS  # noqa: E402
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


def _first_line(exc: BaseException) -> str:
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
    from distill_bench.stages.annotation.annotators import _quiet_loggers, require_onnx

    require_onnx()
    wrapped = _Logits(copy.deepcopy(model).float().cpu().eval(), logits_fn).eval()
    ids, mask = example["input_ids"], example["attention_mask"]
    with torch.inference_mode():
        expected = wrapped(ids, mask).float().numpy()
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    errors = []
    for dynamo in (True, False):
        try:
            with warnings.catch_warnings(), _quiet_loggers("torch.onnx"):
                warnings.simplefilter("ignore")
                kwargs = (
                    {"dynamic_shapes": {"input_ids": {0: batch, 1: sequence},
                                        "attention_mask": {0: batch, 1: sequence}}}
                    if dynamo
                    else {"dynamic_axes": {"input_ids": {0: "batch", 1: "sequence"},
                                           "attention_mask": {0: "batch", 1: "sequence"},
                                           "logits": {0: "batch"}}}
                )  # fmt: skip
                torch.onnx.export(
                    wrapped, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                    output_names=["logits"], dynamo=dynamo, verbose=False, **kwargs,
                )  # fmt: skip
            if dynamo:  # shape info recorded at the example's shapes trips the quantiser
                import onnx

                exported = onnx.load(str(path))
                del exported.graph.value_info[:]
                onnx.save(exported, str(path))  # weights inline now: drop the exporter's copy
                path.with_name(path.name + ".data").unlink(missing_ok=True)
            got = OnnxRunner(path)(example)
        except Exception as exc:  # the exporters' failures are many and long
            errors.append(f"{'dynamo' if dynamo else 'torchscript'} export: {_first_line(exc)}")
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
        from distill_bench.stages.annotation.annotators import _session

        self.path = Path(path)
        self.session = _session(self.path)
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
                self._onnx = VariantUnavailable(_first_line(exc))
        if isinstance(self._onnx, VariantUnavailable):
            raise self._onnx
        return self._onnx

    def build(self, name: str) -> tuple[Callable[[dict], object], int | None]:
        """(``batch -> logits``, bytes on disk or None) for the variant ``name``."""
        if name == "int8":
            return torch_int8(self.model, self.logits_fn), None
        if name == "onnx-fp32":
            path = self._fp32_onnx()
            return OnnxRunner(path), _bytes(path)
        if name == "onnx-int8":
            from distill_bench.stages.annotation.annotators import quantize_onnx

            path = quantize_onnx(self._fp32_onnx(), self.work / "model-int8.onnx")
            return OnnxRunner(path), _bytes(path)
        raise VariantUnavailable(f"unknown variant {name!r} (variants: {', '.join(VARIANTS)})")

    def close(self) -> None:
        self._tmp.cleanup()


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
