"""What a student is built from, and its checkpoint: weights, how to rebuild it, its tokenizer.

A student factory receives ``(options, ctx)`` where ``ctx`` is a ``StudentContext``: the
label count, the tokenizer it reads (the teacher's WordPiece, or a word-level vocabulary
the harness built when the student's ``vocab`` option asks for one) and the fine-tuned
teacher's folder (for students initialised from teacher weights). A module that brings
its own tokenizer (a pretrained student) sets ``module.tokenizer``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from distill_bench.plugin_api.pairs import split_pairs
from distill_bench.plugin_api.registry import Registry
from distill_bench.stages.tokens import (  # what the exported loader shares, torch-free
    PAD,
    SEP,
    UNK,
    encode,
    load_tokenizer_file,
)
from safetensors.torch import load_file, save_file

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "student.json", "tokenizer.json"


@dataclass(frozen=True)
class StudentContext:
    num_labels: int
    tokenizer: Any  # tokenizers.Tokenizer the student reads
    teacher_dir: Path | None = None  # the fine-tuned teacher checkpoint, when there is one
    special_tokens: bool = False  # whether the student's input carries [CLS] ... [SEP]
    # the teacher's checkpoint before fine-tuning (a folder or Hub id; the teacher plugin's
    # ``path``), for students that start from the pre-trained layers: None when unknown
    teacher_pretrained: str | None = None
    # False when rebuilding a saved student: its weights are loaded next, so factories skip
    # copying from the teacher or a checkpoint (and that load never counts in its memory)
    init_weights: bool = True
    # the task's texts are sentence pairs (``plugin_api.pairs``): a student may read the two
    # sides apart (the siamese BiLSTM) at the tokenizer's ``pair_separator``
    pairs: bool = False

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()


load_wordpiece = load_tokenizer_file  # the teacher's tokenizer.json is a WordPiece one


def word_vocabulary(texts: Sequence[str], size: int, min_count: int, like):
    """A word-level tokenizer over the ``size`` most frequent words (count >= min_count),
    normalised and split like ``like`` (the teacher's tokenizer), with [PAD]=0 and [UNK]=1
    (and [SEP]=2 when the texts are sentence pairs)."""
    from tokenizers import Tokenizer, models

    normalize = like.normalizer.normalize_str if like.normalizer else (lambda s: s)
    split = (
        like.pre_tokenizer.pre_tokenize_str
        if like.pre_tokenizer
        else (lambda s: [(w, None) for w in s.split()])
    )
    sides = split_pairs(texts)
    sentences = texts if sides is None else sides[0] + sides[1]
    counts = Counter(word for text in sentences for word, _ in split(normalize(text)))
    kept = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
    # pairs read "a [SEP] b": the separator gets an id (single sentences keep the ids they had)
    special = [PAD, UNK] + ([SEP] if sides is not None else [])
    words = [w for w in kept if w not in special][: max(0, size - len(special))]
    vocab = {t: i for i, t in enumerate(special + words)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.normalizer, tokenizer.pre_tokenizer = like.normalizer, like.pre_tokenizer
    return tokenizer


def student_tokenizer(options: dict, teacher_tokenizer, train_texts: Sequence[str]):
    """The vocabulary a student reads: the teacher's WordPiece unless ``vocab = "word"``."""
    if options.get("vocab", "wordpiece") == "word":
        return word_vocabulary(
            train_texts, options["vocab_size"], options["min_count"], teacher_tokenizer
        )
    return teacher_tokenizer


def encode_words(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    return encode(tokenizer, texts, max_length, special_tokens=False)


def save_student(
    out_dir: Path,
    model: torch.nn.Module,
    plugin: str,
    options: dict,
    ctx: StudentContext,
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS))
    config = {
        "plugin": plugin,
        "options": options,
        "num_labels": ctx.num_labels,
        "special_tokens": ctx.special_tokens,
        "teacher_dir": str(ctx.teacher_dir) if ctx.teacher_dir else None,
    }
    if ctx.pairs:  # only then: single-sentence checkpoints keep the bytes they had
        config["pairs"] = True
    (out_dir / CONFIG).write_text(json.dumps(config, indent=1, sort_keys=True))
    ctx.tokenizer.save(str(out_dir / TOKENIZER))


def load_student(ckpt_dir: Path, registry: Registry) -> tuple[torch.nn.Module, StudentContext]:
    """Rebuild a saved student (same options, same tokenizer) and load its weights."""
    ckpt_dir = Path(ckpt_dir)
    config = json.loads((ckpt_dir / CONFIG).read_text())
    teacher_dir = Path(config["teacher_dir"]) if config.get("teacher_dir") else None
    ctx = StudentContext(
        num_labels=config["num_labels"],
        tokenizer=load_tokenizer_file(ckpt_dir / TOKENIZER),
        teacher_dir=teacher_dir if teacher_dir and teacher_dir.is_dir() else None,
        special_tokens=config.get("special_tokens", False),
        init_weights=False,
        pairs=config.get("pairs", False),
    )
    model = registry.get("students", config["plugin"]).factory(config["options"], ctx)
    model.load_state_dict(load_file(str(ckpt_dir / WEIGHTS)))
    return model.eval(), ctx
