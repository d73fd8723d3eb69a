"""A student checkpoint: weights, how to rebuild the module, and its tokenizer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .registry import Registry

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "student.json", "tokenizer.json"


def load_wordpiece(path: Path):
    from tokenizers import Tokenizer

    return prepare(Tokenizer.from_file(str(path)))


def prepare(tokenizer):
    """Padding and truncation are the harness's job; a tokenizer.json may carry either."""
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def encode_words(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """WordPiece ids without [CLS]/[SEP]: students read words, not BERT's markers.
    An empty result becomes [UNK] so every sequence has at least one real token."""
    unk = tokenizer.token_to_id("[UNK]") or 0
    encoded = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [e.ids[:max_length] or [unk] for e in encoded]


def save_student(
    out_dir: Path, model: torch.nn.Module, plugin: str, options: dict, num_labels: int, tokenizer
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS))
    (out_dir / CONFIG).write_text(
        json.dumps(
            {
                "plugin": plugin,
                "options": options,
                "vocab_size": tokenizer.get_vocab_size(),
                "num_labels": num_labels,
            },
            indent=1,
            sort_keys=True,
        )
    )
    tokenizer.save(str(out_dir / TOKENIZER))


def load_student(ckpt_dir: Path, registry: Registry) -> torch.nn.Module:
    config = json.loads((Path(ckpt_dir) / CONFIG).read_text())
    spec = registry.get("students", config["plugin"])
    model = spec.factory(config["options"], config["vocab_size"], config["num_labels"])
    model.load_state_dict(load_file(str(Path(ckpt_dir) / WEIGHTS)))
    return model.eval()
