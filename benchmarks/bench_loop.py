"""The harness's distillation loop against a minimal hand-written PyTorch loop.

Same BiLSTM student, same data (SST-2 sentences tokenised with the packaged MiniLM's
WordPiece vocabulary, teacher logits drawn once at random: this measures the loop, not
the teacher), same optimizers (SparseAdam for the sparse embedding, AdamW for the rest),
same batch size, one epoch each, alternated several times; median and range of
training sentences/s. Target: the harness within 10% of the hand-written loop.

    python -m benchmarks.bench_loop [--sentences 4000] [--repeats 5] [--out results/benchmarks/loop.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.teachers import minilm_path
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.measure.environment import cpu_model
from distill_bench.stages.student.io import StudentContext, encode_words, load_tokenizer_file
from distill_bench.stages.student.loop import TrainingData, distill, make_optimizers

from benchmarks.cached import bench_data_dir


def sentences(n: int) -> list[str]:
    data = bench_data_dir() / "sst2" / "train.tsv"
    lines = data.read_text().splitlines()[1 : n + 1]
    return [line.split("\t")[0] for line in lines]


def build(ctx):
    spec = load_registry().get("students", "bilstm")
    torch.manual_seed(0)
    return spec.factory(spec.resolve({}, "bench"), ctx)


def kd(student_out, batch):
    return F.mse_loss(student_out["logits"], batch.teacher_logits)


def hand_written(model, ids, targets, batch_size, seed) -> float:
    """The loop a person would write: shuffle into length-grouped batches, pad, step."""
    optimizers = make_optimizers(model, 1e-3)
    model.train()
    started = time.perf_counter()
    for index in length_grouped_batches([len(x) for x in ids], batch_size, seed):
        input_ids, mask = pad([ids[i] for i in index])
        logits = model(input_ids, mask)["logits"]
        loss = F.mse_loss(logits, targets[index])
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in optimizers:
            opt.step()
    return len(ids) / (time.perf_counter() - started)


def harness(model, ids, targets, batch_size, seed) -> float:
    budget = Budget(student_epochs=1, student_batch_size=batch_size, student_lr=1e-3)
    select = ids[:1]  # selection costs one tiny forward; the timing is the training epoch
    data = TrainingData(
        transfer_ids=ids,
        transfer_labels=[-1] * len(ids),
        teacher_logits=targets.numpy(),
        select_ids=select,
        select_labels=[0],
        metric=lambda g, p: 0.0,
        num_labels=2,
    )
    info = distill(model, kd, data, budget=budget, seed=seed, device=torch.device("cpu"))
    return len(ids) / info["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="results/benchmarks/loop.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    tokenizer = load_tokenizer_file(Path(minilm_path()) / "tokenizer.json")
    ids = encode_words(tokenizer, sentences(args.sentences), 64)
    targets = torch.from_numpy(
        np.random.default_rng(0).normal(size=(len(ids), 2)).astype(np.float32)
    )
    ctx = StudentContext(2, tokenizer)
    runs = {"hand-written loop": [], "harness distill()": []}
    for r in range(args.repeats):  # alternate, so drift on a shared machine hits both
        runs["hand-written loop"].append(hand_written(build(ctx), ids, targets, args.batch_size, r))
        runs["harness distill()"].append(harness(build(ctx), ids, targets, args.batch_size, r))
    base = statistics.median(runs["hand-written loop"])
    rows = [
        f"| {name} | {statistics.median(v):,.0f} | {min(v):,.0f}-{max(v):,.0f} | "
        f"{statistics.median(v) / base:.3f} |"
        for name, v in runs.items()
    ]
    table = "\n".join(["| loop | train sentences/s (median) | range | ratio to hand-written |",
                       "| --- | ---: | ---: | ---: |", *rows])  # fmt: skip
    text = (
        "# Distillation loop overhead\n\n"
        f"- Command: `python -m benchmarks.bench_loop --sentences {args.sentences} --repeats {args.repeats}`\n"
        f"- Hardware: {cpu_model()}, {os.cpu_count()} CPUs, {args.threads} torch threads; torch {torch.__version__}\n"
        f"- BiLSTM student (default options, 9.8M parameters with its 30,522 x 300 sparse embedding), "
        f"{len(ids)} SST-2 sentences, batch {args.batch_size}, MSE to fixed random logits, one epoch per run, "
        f"runs alternated; time taken {time.perf_counter() - started:.0f} s\n"
        "- Target: the harness within 10% of the hand-written loop (ratio >= 0.90)\n\n"
        + table
        + "\n"
    )
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
