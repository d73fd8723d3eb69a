"""Loading a Hugging Face checkpoint (a teacher's folder or hub id): checked, one-line errors.

Shared by the annotation stage, the student initialisers and the ``hf`` teacher plugin.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import transformers
from distill_bench.plugin_api.errors import BenchError
from transformers import AutoModelForSequenceClassification, AutoTokenizer

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "spm.model", "merges.txt")


def check_local_model(path: str) -> None:
    """A local model directory must hold a config and a tokenizer. (transformers 5 builds an
    empty tokenizer from a directory without one instead of failing.)"""
    local = Path(path)
    if not (local.is_absolute() or path.startswith(".") or local.exists()):
        return  # a Hub id: transformers reports what is wrong with it
    if not local.is_dir():
        raise BenchError(f"teacher model {path}: no such directory")
    if not (local / "config.json").is_file():
        raise BenchError(
            f"teacher model {path}: no config.json (expected a Hugging Face model folder)"
        )
    if not any((local / name).is_file() for name in _TOKENIZER_FILES):
        raise BenchError(
            f"teacher model {path}: no tokenizer (expected one of {', '.join(_TOKENIZER_FILES)})"
        )


def load_tokenizer(path: str):
    check_local_model(path)
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"teacher model {path}: cannot load a tokenizer ({str(exc).splitlines()[0]})"
        ) from None


def load_classifier(path: str, num_labels: int | None = None, label_names: Sequence[str] = ()):
    kwargs = {}
    if num_labels is not None:
        kwargs = dict(
            num_labels=num_labels,
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
        )
    check_local_model(path)
    try:
        return AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"teacher model {path}: cannot load ({str(exc).splitlines()[0]})"
        ) from None
    except pickle.UnpicklingError:  # torch.load(weights_only=True) refused the pickle
        raise BenchError(
            f"teacher model {path}: its pickled weights hold more than tensors and are not "
            "loaded (weights_only); save the model as safetensors"
        ) from None
    except RuntimeError as exc:  # a classifier head of another size
        if "size mismatch" in str(exc) or "mismatched_sizes" in str(exc):
            from transformers import AutoConfig

            has = AutoConfig.from_pretrained(path).num_labels
            raise BenchError(
                f"teacher model {path}: its classifier head has {has} labels, the dataset has {num_labels}"
            ) from None
        raise
