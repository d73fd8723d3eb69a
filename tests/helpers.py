"""Helpers the tests share: synthetic sentences in shared/data's layout, tiny matrices,
the real data directory, run summaries. Fixtures are in conftest.py."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from distill_bench.store.results import ResultRow

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


BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(folder: Path, tokenizer, labels: Sequence[str] | None = None) -> Path:
    """A 2-layer, hidden-32 BERT classifier with random weights reading ``tokenizer`` (a
    transformers tokenizer, or a word list: a WordPiece vocabulary of BERT's specials and
    those words); ``labels`` give it id2label names, else two unnamed labels."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    if isinstance(tokenizer, list | tuple):
        vocab = BERT_SPECIALS + sorted(set(tokenizer))
        # transformers 5 ignores vocab_file for fast tokenizers; the vocab dict works in 4 and 5
        tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    tokenizer.save_pretrained(folder)
    names = (
        {}
        if labels is None
        else {
            "id2label": dict(enumerate(labels)),
            "label2id": {name: i for i, name in enumerate(labels)},
        }
    )
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
        num_labels=2 if labels is None else len(labels), **names,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def real_data_dir() -> Path:
    """The real datasets: CI sets BENCH_DATA_DIR; a missing directory fails, never skips."""
    value = os.environ.get("BENCH_DATA_DIR")
    assert value, "BENCH_DATA_DIR is not set: point it at shared/data (see README)"
    path = Path(value)
    assert (path / "sst2" / "train.tsv").is_file(), (
        f"{path}: no sst2/train.tsv (expected shared/data's layout)"
    )
    return path


def fast_matrix_text(teacher_dir, **kw) -> str:
    """The tiny matrix on a smaller budget: one teacher epoch, two student epochs."""
    return (
        tiny_matrix_text(teacher_dir, **kw)
        .replace("teacher_epochs = 4", "teacher_epochs = 1")
        .replace("student_epochs = 5", "student_epochs = 2")
        .replace("latency_samples = 5", "latency_samples = 2")
        .replace("max_sentences = 40", "max_sentences = 16")
    )


def computed_counts(out: str) -> dict[str, int]:
    """The stage counts of a run's last summary line: "computed: teacher 1, student 2; ..."."""
    line = [x for x in out.splitlines() if "computed: " in x][-1]
    listed = line.split("computed: ")[1].split(";")[0]
    if listed.startswith("nothing"):
        return {}
    return {kind: int(n) for kind, n in (part.split() for part in listed.split(", "))}


# hand-built result rows for the report tests
def measurements(
    params: int,
    throughput: float,
    *,
    no_emb: int | None = None,
    spread: float = 0.05,
    p50: float = 1.0,
    peak: float | None = 100.0,
    noisy: bool = False,
) -> dict:
    m = {
        "params_total": params,
        "params_no_embedding": params // 2 if no_emb is None else no_emb,
        "cpu_throughput": {"median": throughput, "spread": spread, "min": 0.0, "max": 0.0, "n": 3},
        "cpu_latency_ms": {"p50": p50, "p90": 2 * p50, "n": 3},
        "noisy": noisy,
    }
    if peak is not None:
        m["peak_rss_mb"] = peak
    return m


def row(
    role: str,
    student: str,
    score: float,
    meas: dict,
    *,
    loss: str = "kd-soft",
    seed: int = 0,
    teacher: str = "tiny-bert",
    dataset: str = "sst2",
    status: str = "ok",
    timings: dict | None = None,
    **kw,
) -> ResultRow:
    is_teacher = role == "teacher"
    return ResultRow(
        matrix="m",
        key=f"{dataset}-{teacher}-{student}-{loss}-{seed}-{role}",
        role=role,
        dataset=dataset,
        teacher=teacher,
        student=teacher if is_teacher else student,
        loss="" if is_teacher else loss,
        augmenter="" if is_teacher else "none",
        seed=seed,
        status=status,
        metrics={"primary": score, "primary_metric": "accuracy", "eval_split": "dev"}
        if status == "ok"
        else {},
        measurements=meas,
        timings=timings or {},
        **kw,
    )


def run_tiny(matrix, results, cache, *extra) -> int:
    """`bench run` of a matrix file into its own results and cache directories."""
    from distill_bench.cli.main import main

    return main(
        ["run", "--matrix", str(matrix), "--results-dir", str(results), "--cache-dir", str(cache),
         *extra]
    )  # fmt: skip


def tiny_rows(results) -> dict:
    """The "tiny" matrix's rows in a results directory's store, by key."""
    from distill_bench.store.results import Store

    return {r.key: r for r in Store(results / "bench.sqlite").rows("tiny")}


def with_broken_teacher(text: str, teacher_dir: Path, tmp_path: Path) -> str:
    """``text`` with its teacher swapped for a copy whose weights do not load: a teacher
    that fails at fine-tuning, past planning's checks."""
    import shutil

    broken = shutil.copytree(teacher_dir, tmp_path / "broken-teacher")
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    return text.replace(str(teacher_dir), str(broken))
