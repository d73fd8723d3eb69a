"""Load an exported student and predict: onnxruntime and tokenizers, no torch.

``load_student(DIR)`` reads a folder ``bench export`` wrote and returns an
``ExportedStudent``: ``predict(texts)`` gives label names, ``predict_proba`` the
probabilities and ``logits`` the raw scores (columns in ``labels`` order). Texts become
inputs exactly as the harness made them when it scored the student (``stages.tokens``:
the same tokenizer file, truncation and length-sorted batches), so the folder's
predictions on the evaluation split are the leaderboard's. This module imports neither
torch nor transformers (``tests/contracts`` checks it): a service that only predicts
installs ``onnxruntime`` and ``tokenizers``. A ``--format torch`` folder is rebuilt as the
harness's own module instead, which needs distill-bench and torch.

    from distill_bench import load_student
    student = load_student("my-student")
    student.predict(["i feel wonderful today"])  # ['joy']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import join_pair
from distill_bench.stages.tokens import (
    encode,
    length_grouped_batches,
    load_tokenizer_file,
    pad_arrays,
)

CONFIG = "student.json"  # what the folder holds and how to read it
FORMAT_VERSION = 1
# the batch the student stage predicts the evaluation split in (stage.py's predict call):
# the same length-sorted batches give the same padding, so the same logits
BATCH_SIZE = 512
ONNX_INSTALL = "pip install onnxruntime tokenizers"

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input_ids, attention_mask) -> logits


@dataclass(frozen=True)
class ExportedStudent:
    """A loaded student: its labels, tokenizer, settings and a ``(ids, mask) -> logits`` runner."""

    folder: Path
    labels: tuple[str, ...]
    config: dict
    tokenizer: object  # tokenizers.Tokenizer
    run: Runner

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the harness makes them for this student."""
        cfg = self.config
        return encode(self.tokenizer, texts, cfg["max_length"], cfg["special_tokens"])

    def logits(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """float32 logits, one row per text, columns in ``labels`` order."""
        texts = _texts(texts)
        ids = self.encode(texts)
        out = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        for batch in length_grouped_batches([len(x) for x in ids], batch_size, seed=None):
            input_ids, mask = pad_arrays([ids[i] for i in batch])
            out[batch] = self.run(input_ids, mask)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax probabilities, one row per text, columns in ``labels`` order."""
        logits = self.logits(texts).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict_ids(self, texts: Sequence[str]) -> np.ndarray:
        """The predicted label ids (argmax of the logits, as the harness scores them)."""
        return self.logits(texts).argmax(-1)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The predicted label names."""
        return [self.labels[i] for i in self.predict_ids(texts)]


def _texts(texts: Sequence[str | tuple[str, str]]) -> list[str]:
    """The texts as the harness holds them: a sentence pair given as (first, second) is
    joined as the student's training pairs were (``plugin_api.pairs``)."""
    if isinstance(texts, str):
        raise TypeError("predict takes a list of texts, not one string: predict([text])")
    return [join_pair(*t) if isinstance(t, tuple | list) else t for t in texts]


def read_config(folder: Path) -> dict:
    """The folder's student.json, or a one-line error saying what the folder lacks."""
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise BenchError(
            f"{folder}: not an exported student (no {CONFIG}); expected a folder written by "
            "bench export"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable ({exc}); expected bench export's JSON") from None
    if config.get("export_version") != FORMAT_VERSION:
        raise BenchError(
            f"{path}: export version {config.get('export_version')!r}; this distill-bench "
            f"reads version {FORMAT_VERSION} (export the cell again)"
        )
    return config


def onnx_runner(path: Path, threads: int | None = None) -> Runner:
    """An onnxruntime CPU session over the exported graph."""
    try:
        import onnxruntime
    except ImportError:
        raise BenchError(
            f"{path}: loading an ONNX student needs onnxruntime: {ONNX_INSTALL}"
        ) from None
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        return session.run(None, {k: v for k, v in feed.items() if k in names})[0]

    return run


def load_student(folder: str | Path, threads: int | None = None) -> ExportedStudent:
    """The exported student in ``folder`` (``threads``: onnxruntime's intra-op threads;
    default: its own choice)."""
    folder = Path(folder)
    config = read_config(folder)
    weights = folder / config["weights"]
    if not weights.is_file():
        raise BenchError(f"{weights}: missing; the exported folder is incomplete")
    if config["format"] == "onnx":
        run = onnx_runner(weights, threads)
    else:
        # torch only for a torch-format folder: an ONNX one never imports it
        from distill_bench.stages.export.torch_model import torch_runner

        run = torch_runner(folder, config, threads)
    tokenizer = load_tokenizer_file(folder / config["tokenizer"])
    return ExportedStudent(folder, tuple(config["labels"]), config, tokenizer, run)
