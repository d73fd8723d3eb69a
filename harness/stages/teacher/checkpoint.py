"""Loading a Hugging Face checkpoint (a teacher's folder or hub id): checked, one-line errors.

Shared by the annotation stage, the student initialisers and the ``hf`` teacher plugin.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import transformers
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import split_pairs
from distill_bench.stages.teacher.folder import check_local_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


def tokenize(tokenizer, texts: Sequence[str], **kwargs):
    """A transformers tokenizer called on ``texts``; sentence pairs are encoded as pairs
    (the model's own separators; ``truncation=True`` cuts the longer side first)."""
    sides = split_pairs(texts)
    if sides is None:
        return tokenizer(list(texts), **kwargs)
    return tokenizer(sides[0], sides[1], **kwargs)


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
