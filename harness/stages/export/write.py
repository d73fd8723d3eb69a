"""The files of an exported student, from its stage checkpoint: weights, tokenizer, labels.

``write_student`` fills a folder (the caller's temporary one) with what
``runtime.load_student`` reads: ``student.json`` (labels, how texts become inputs, how to
rebuild the module), the student's ``tokenizer.json`` (the teacher's WordPiece, or the
word-level vocabulary the harness built, normalised and split like the teacher's) and the
weights: ``model.onnx`` (the module's logits, checked against torch's on a padded batch;
onnxruntime's dynamic int8 quantisation with ``int8``) or ``model.safetensors``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import Registry
from distill_bench.stages.batching import pad
from distill_bench.stages.export.runtime import CONFIG, FORMAT_VERSION
from distill_bench.stages.export.torch_model import TEACHER
from distill_bench.stages.measure.variants import VariantUnavailable, export_onnx
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.loop import as_output
from distill_bench.stages.tokens import encode

FORMATS = ("onnx", "torch")
EXAMPLE_TEXTS = 16  # evaluation texts the ONNX graph is traced on and checked against torch


def _logits(model, batch):
    return as_output(model(batch["input_ids"], batch["attention_mask"]))["logits"]


def _onnx(ckpt: Path, registry: Registry, saved: dict, example_texts, max_length, out: Path):
    """The student's logits as an ONNX graph at ``out``, traced on a padded batch of
    evaluation texts and checked against torch's logits there."""
    model, ctx = student_io.load_student(ckpt, registry)
    ids = encode(ctx.tokenizer, example_texts, max_length, saved["special_tokens"])
    input_ids, mask = pad(ids)
    try:
        export_onnx(model, _logits, {"input_ids": input_ids, "attention_mask": mask}, out)
    except VariantUnavailable as exc:
        raise BenchError(
            f"student {saved['plugin']!r}: does not export to ONNX ({exc}); "
            "export it with --format torch"
        ) from None


def write_student(
    ckpt: Path,
    out: Path,
    *,
    registry: Registry,
    fmt: str,
    int8: bool,
    labels: Sequence[str],
    max_length: int,
    example_texts: Sequence[str],
    cell: dict,
) -> dict:
    """Write the exported student's files into ``out`` (an empty folder); its config."""
    if fmt not in FORMATS:
        raise BenchError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    saved = json.loads((ckpt / student_io.CONFIG).read_text())
    config = {
        "export_version": FORMAT_VERSION,
        "format": fmt,
        "int8": int8,
        "labels": list(labels),
        "tokenizer": student_io.TOKENIZER,
        "max_length": max_length,
        "special_tokens": bool(saved.get("special_tokens", False)),
        # a pair student reads each text as plugin_api.pairs.join_pair(first, second)
        "pairs": bool(saved.get("pairs", False)),
        "plugin": saved["plugin"],
        "options": saved["options"],
        "num_labels": saved["num_labels"],
        "teacher_dir": None,
        "cell": cell,
    }
    shutil.copyfile(ckpt / student_io.TOKENIZER, out / student_io.TOKENIZER)
    if fmt == "torch":
        config["weights"] = student_io.WEIGHTS
        shutil.copyfile(ckpt / student_io.WEIGHTS, out / student_io.WEIGHTS)
        teacher = Path(saved["teacher_dir"]) if saved.get("teacher_dir") else None
        if teacher is not None and (teacher / "config.json").is_file():
            # students built on the teacher's architecture read its config when rebuilt
            (out / TEACHER).mkdir()
            shutil.copyfile(teacher / "config.json", out / TEACHER / "config.json")
            config["teacher_dir"] = TEACHER
    else:
        config["weights"] = "model.onnx"
        examples = list(example_texts[:EXAMPLE_TEXTS])
        if not int8:
            _onnx(ckpt, registry, saved, examples, max_length, out / "model.onnx")
        else:
            # import here: the quantiser is onnxruntime's, needed by --int8 only
            from distill_bench.stages.annotation.onnx import quantize_onnx

            with tempfile.TemporaryDirectory(prefix="distill-bench-export-") as work:
                fp32 = Path(work) / "model-fp32.onnx"
                _onnx(ckpt, registry, saved, examples, max_length, fp32)
                quantize_onnx(fp32, out / "model.onnx")
    (out / CONFIG).write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    return config
