"""What a task looks like: split sizes, label distributions, lengths in WordPiece tokens.

Pure: numpy and a ``tokenizers.Tokenizer``, no torch. ``bench datasets show`` prints
``describe_dataset``: the whole command (load the dataset through the registry, count
with ``dataset_stats``, format with ``format_stats``) in one call.
"""

from __future__ import annotations

import random
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import split_pairs
from distill_bench.plugin_api.tasks import TaskData

ROLES = ("train", "select", "evaluation", "unlabelled")
# whose pretrained tokenizer measures lengths by default: MiniLM's uncased BERT WordPiece,
# the vocabulary the built-in teachers and students share
DEFAULT_TOKENIZER_TEACHER = "minilm-l6"
_FULL_TABLE_LABELS = 20  # more labels than this: per-split count summary instead of a table


def token_lengths(tokenizer, texts: Sequence[str]) -> np.ndarray:
    """WordPiece tokens per text (a sentence pair: both sides), without [CLS]/[SEP], never
    truncated or padded.

    The tokenizer is copied first: a tokenizer.json may switch truncation (MiniLM's cuts
    at 128) and padding on, and the caller's tokenizer must stay as it was."""
    tok = type(tokenizer).from_str(tokenizer.to_str())
    tok.no_truncation()
    tok.no_padding()
    if not texts:
        return np.zeros(0, dtype=np.int64)
    sides = split_pairs(texts)  # a pair counts both sides' tokens (the separator is dropped)
    parts = [list(texts)] if sides is None else list(sides)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for part in parts:
        encodings = tok.encode_batch(part, add_special_tokens=False)
        lengths += np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(part))
    return lengths


def _length_stats(lengths: np.ndarray) -> dict[str, float]:
    if not len(lengths):
        return {"tokens_mean": 0.0, "tokens_p95": 0.0, "tokens_max": 0}
    return {
        "tokens_mean": float(lengths.mean()),
        "tokens_p95": float(np.percentile(lengths, 95)),
        "tokens_max": int(lengths.max()),
    }


def dataset_stats(
    task: TaskData, tokenizer, max_examples: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Per split (train, select, evaluation, unlabelled when there is a pool): its name,
    size, label counts by label name (in label order) and token-length mean / p95 / max.

    Sizes and label counts are always exact. ``max_examples`` bounds the texts tokenized
    per split (a seeded uniform sample) for huge corpora; ``tokens_sampled`` says how
    many were."""
    splits: dict[str, dict[str, Any]] = {}
    parts = [
        ("train", task.train.name, task.train.texts, task.train.labels),
        ("select", task.select.name, task.select.texts, task.select.labels),
        ("evaluation", task.evaluation.name, task.evaluation.texts, task.evaluation.labels),
    ]
    if task.unlabelled:
        parts.append(("unlabelled", "unlabelled", task.unlabelled, None))
    for role, name, texts, labels in parts:
        sample = texts
        if max_examples is not None and len(texts) > max_examples:
            picked = sorted(random.Random(seed).sample(range(len(texts)), max_examples))
            sample = [texts[i] for i in picked]
        entry: dict[str, Any] = {"name": name, "size": len(texts)}
        if labels is not None:
            counts = Counter(labels)
            entry["labels"] = {label: counts.get(i, 0) for i, label in enumerate(task.label_names)}
        entry |= _length_stats(token_lengths(tokenizer, sample))
        entry["tokens_sampled"] = len(sample)
        splits[role] = entry
    return {
        "dataset": task.name,
        "num_labels": task.num_labels,
        "label_names": list(task.label_names),
        "primary_metric": task.primary_metric,
        "oos_label": task.oos_label,
        "splits": splits,
    }


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def format_stats(stats: Mapping[str, Any]) -> str:
    """A plain-text report for the terminal (no colour, fixed-width columns)."""
    splits = stats["splits"]
    oos = stats.get("oos_label")
    head = (
        f"{stats['dataset']}: {stats['num_labels']} labels, primary metric "
        f"{stats['primary_metric']}"
        + (f", out-of-scope label {stats['label_names'][oos]!r}" if oos is not None else "")
    )
    lines = [head, ""]
    lines.append(f"{'split':<11} {'name':<14} {'size':>9} {'tok mean':>9} {'p95':>6} {'max':>6}")
    for role, s in splits.items():
        sampled = (
            "" if s["tokens_sampled"] == s["size"] else f"  (tokens: {s['tokens_sampled']} sampled)"
        )
        lines.append(
            f"{role:<11} {s['name']:<14} {s['size']:>9,} {s['tokens_mean']:>9.1f} "
            f"{s['tokens_p95']:>6.0f} {s['tokens_max']:>6}{sampled}"
        )
    labelled = [(role, s) for role, s in splits.items() if "labels" in s]
    lines.append("")
    if stats["num_labels"] <= _FULL_TABLE_LABELS:
        width = max(len(n) for n in stats["label_names"])
        lines.append(f"{'label':<{width}} " + " ".join(f"{role:>18}" for role, _ in labelled))
        for name in stats["label_names"]:
            cells = [
                f"{s['labels'][name]:>9,} ({_share(s['labels'][name], s['size']):>6})"
                for _, s in labelled
            ]
            lines.append(f"{name:<{width}} " + " ".join(f"{c:>18}" for c in cells))
    else:
        lines.append("examples per label (min / median / max):")
        for role, s in labelled:
            counts = s["labels"]
            ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
            (low_name, low), (high_name, high) = ordered[0], ordered[-1]
            missing = sum(1 for c in counts.values() if c == 0)
            lines.append(
                f"  {role:<11} {low} ({low_name}) / {int(np.median(list(counts.values())))} / "
                f"{high} ({high_name})" + (f"; {missing} labels absent" if missing else "")
            )
    return "\n".join(lines)


# -- the command ------------------------------------------------------------------------


def parse_options(assignments: Sequence[str]) -> dict[str, Any]:
    """``["include_oos=true", "max_labeled=100"]`` -> typed values, read as TOML values
    (so 100 is an int and true a bool); a value that is not TOML is a plain string."""
    options: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"option {item!r}: expected NAME=VALUE")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        options[key.strip()] = value
    return options


def teacher_tokenizer(registry, teacher: str = DEFAULT_TOKENIZER_TEACHER):
    """The ``tokenizers.Tokenizer`` of a registered teacher's pretrained model folder, asked
    of the teacher object itself (its ``path`` and ``tokenizer(path)``)."""
    spec = registry.get("teachers", teacher)
    model = spec.factory(spec.resolve({}, f"teacher {teacher!r}"))
    path = getattr(model, "path", None)
    if path is None:
        raise BenchError(f"teacher {teacher!r} has no local model folder to read a tokenizer from")
    return model.tokenizer(Path(path))


def describe_dataset(
    registry,
    name: str,
    options: Mapping[str, Any],
    data_dir: Path | None,
    tokenizer_file: Path | str | None = None,
    max_examples: int | None = 5_000,
) -> str:
    """Load dataset ``name`` with ``options`` and return ``format_stats`` of it.

    ``tokenizer_file`` defaults to the tokenizer of the ``minilm-l6`` teacher's packaged
    model (the uncased BERT WordPiece vocabulary the built-in teachers and students share;
    building the teacher object imports its plugin, torch included). Token lengths come
    from at most ``max_examples`` texts per split (None = all): IMDB's 100k reviews take
    about 40 s to tokenize on 2 cores, a 5,000-text sample about 2 s per split."""
    from tokenizers import Tokenizer

    spec = registry.get("datasets", name)
    resolved = spec.resolve(dict(options), f"dataset {name!r}")
    task = spec.factory(resolved, data_dir)
    if tokenizer_file is None:
        tokenizer = teacher_tokenizer(registry)
    else:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    return format_stats(dataset_stats(task, tokenizer, max_examples=max_examples))
