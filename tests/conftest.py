"""Shared fixtures: a tiny random-init BERT teacher and tiny datasets in shared/data's layout."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

POSITIVE = [
    "good",
    "great",
    "fine",
    "lovely",
    "superb",
    "charming",
    "moving",
    "sharp",
    "funny",
    "warm",
]
NEGATIVE = ["bad", "dull", "awful", "boring", "weak", "tedious", "flat", "clumsy", "stale", "cold"]
FILLER = [
    "the",
    "film",
    "is",
    "a",
    "movie",
    "story",
    "plot",
    "acting",
    "very",
    "quite",
    "and",
    "with",
    "cast",
    "ending",
    "script",
    "really",
    "it",
    "this",
    "was",
    "of",
]


def synthetic_sentences(n: int, seed: int) -> list[tuple[str, int]]:
    """Sentiment-like sentences whose label follows one cue word: learnable in a few steps."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = rng.sample(FILLER, rng.randint(3, 9))
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((" ".join(words), label))
    return rows


def write_tiny_data_dir(root: Path, n_train: int = 300, n_dev: int = 80) -> Path:
    sst2 = root / "sst2"
    sst2.mkdir(parents=True)
    for name, n, seed in (("train", n_train, 1), ("dev", n_dev, 2)):
        lines = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in synthetic_sentences(n, seed)]
        (sst2 / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    cola = root / "cola"
    cola.mkdir()
    for name, n, seed in (("train", n_train, 3), ("dev", n_dev, 4)):
        lines = [f"src\t{y}\t\t{t}" for t, y in synthetic_sentences(n, seed)]
        (cola / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    return write_tiny_data_dir(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 BERT with random weights and a WordPiece vocab of the test words."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *sorted(set(POSITIVE + NEGATIVE + FILLER)),
    ]
    # transformers 5 ignores vocab_file for fast tokenizers; the vocab dict works in 4 and 5
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(out)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2,
    )
    BertForSequenceClassification(config).save_pretrained(out)
    return out


def tiny_matrix_text(
    teacher_dir: Path,
    *,
    students=("mlp", "bilstm"),
    losses=("ce-hard", "kd-soft"),
    isolate: bool = False,
    extra: str = "",
) -> str:
    quote = lambda items: ", ".join(f'"{i}"' for i in items)  # noqa: E731
    return f"""
name = "tiny"
datasets = ["sst2"]
teachers = [{{plugin = "hf", name = "tiny-bert", model = "{teacher_dir}"}}]
students = [{quote(students)}]
losses = [{quote(losses)}]
augmenters = ["none"]
seeds = [0]

[budget]
max_train_examples = 200
max_select_examples = 60
max_length = 32
teacher_epochs = 4
teacher_batch_size = 16
teacher_lr = 1e-3
student_epochs = 5
student_batch_size = 16
student_lr = 1e-2

[measure]
threads = 1
batch_size = 32
latency_samples = 5
repeats = 2
max_sentences = 40
min_pass_seconds = 0.02
max_passes = 3
train_steps = 1
isolate = {"true" if isolate else "false"}
{extra}
"""


@pytest.fixture
def bench_env(tmp_path, tiny_data_dir, monkeypatch):
    """Point data, cache and results at fresh temporary directories."""
    monkeypatch.setenv("BENCH_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DISABLE_PLUGINS", raising=False)
    return {"results": tmp_path / "results", "cache": tmp_path / "cache", "data": tiny_data_dir}


def real_data_dir() -> Path:
    """The real datasets: CI sets BENCH_DATA_DIR; a missing directory fails, never skips."""
    value = os.environ.get("BENCH_DATA_DIR")
    assert value, "BENCH_DATA_DIR is not set: point it at shared/data (see README)"
    path = Path(value)
    assert (path / "sst2" / "train.tsv").is_file(), (
        f"{path}: no sst2/train.tsv (expected shared/data's layout)"
    )
    return path
