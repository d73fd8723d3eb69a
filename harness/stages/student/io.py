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
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import split_pairs
from distill_bench.plugin_api.registry import Registry
from safetensors.torch import load_file, save_file

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "student.json", "tokenizer.json"
UNK, PAD, SEP = "[UNK]", "[PAD]", "[SEP]"


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


def load_tokenizer_file(path: Path):
    from tokenizers import Tokenizer

    return prepare(Tokenizer.from_file(str(path)))


load_wordpiece = load_tokenizer_file  # the teacher's tokenizer.json is a WordPiece one


def prepare(tokenizer):
    """Padding and truncation are the harness's job; a tokenizer.json may carry either."""
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


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


def pair_separator(tokenizer) -> int:
    """The id that separates a pair's sides in a student's input: the vocabulary's [SEP]
    (a word vocabulary built from pairs has one) or a BPE model's </s>."""
    for token in (SEP, "</s>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    raise BenchError(
        f"student vocabulary of {tokenizer.get_vocab_size()} tokens: no separator ({SEP} or "
        "</s>) to join the sides of sentence pairs; expected a vocabulary that has one"
    )


def _cut_longest_first(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the end of the longer side until both fit in ``budget``."""
    while len(a) + len(b) > budget and (a or b):
        if len(a) >= len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    return a, b


def _encode_pairs(tokenizer, firsts, seconds, max_length: int, special_tokens: bool):
    """Pairs: the tokenizer's own pair template (``[CLS] a [SEP] b [SEP]``) for transformer
    students, else ``a [SEP] b``; truncation takes from the longer side first."""
    if special_tokens:
        tokenizer.enable_truncation(max_length, strategy="longest_first")
        try:
            encoded = tokenizer.encode_batch(
                list(zip(firsts, seconds, strict=True)), add_special_tokens=True
            )
        finally:
            tokenizer.no_truncation()
        return [e.ids for e in encoded]
    sep, unk = pair_separator(tokenizer), _unk(tokenizer)
    a_side = tokenizer.encode_batch(list(firsts), add_special_tokens=False)
    b_side = tokenizer.encode_batch(list(seconds), add_special_tokens=False)
    out = []
    for a, b in zip(a_side, b_side, strict=True):
        a_ids, b_ids = _cut_longest_first(a.ids or [unk], b.ids or [unk], max(2, max_length - 1))
        out.append((a_ids or [unk]) + [sep] + (b_ids or [unk]))
    return out


def _unk(tokenizer) -> int:
    unk = tokenizer.token_to_id(UNK)
    return 0 if unk is None else unk


def encode(
    tokenizer, texts: Sequence[str], max_length: int, special_tokens: bool = False
) -> list[list[int]]:
    """Token ids, truncated to ``max_length``. Without special tokens (RNN/bag-of-words
    students read words, not BERT's markers) an empty result becomes [UNK], so every
    sequence has at least one real token. Sentence pairs (``plugin_api.pairs``): see
    ``_encode_pairs``."""
    sides = split_pairs(texts)
    if sides is not None:
        return _encode_pairs(tokenizer, *sides, max_length, special_tokens)
    encoded = tokenizer.encode_batch(list(texts), add_special_tokens=special_tokens)
    unk = _unk(tokenizer)
    if special_tokens:
        return [
            e.ids[: max_length - 1] + e.ids[-1:] if len(e.ids) > max_length else e.ids
            for e in encoded
        ]
    return [e.ids[:max_length] or [unk] for e in encoded]


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
