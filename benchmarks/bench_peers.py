"""Student training beside the peers, side by side in one run: distill-bench's distill(),
TextBrewer 0.2.1's BasicDistiller, torchdistill 1.1.5's KDLoss and a hand-written loop.

    python -m benchmarks.bench_peers [--matrix benchmarks/sst2-cola.toml] [--sentences 4000]
        [--rounds 5] [--students bilstm,teacher-layers] [--threads 1] [--out FILE]

Every loop trains the same student from the same initial weights (seed = the round) on
the same length-grouped batches of SST-2 train sentences, with the same optimizers
(SparseAdam for a sparse embedding, AdamW for the rest) and the same soft targets: the
fp32 logits of the matrix's cached fine-tuned SST-2 teacher (run the matrix first). Each
library computes the soft loss its own way at temperature 2 (Hinton's KL or TextBrewer's
soft cross-entropy: the same gradients up to a constant, which Adam ignores). One epoch a
run, loops interleaved round by round so drift on a shared machine hits every loop;
median and range of training sentences/s, and dev accuracy (mean and spread over rounds).

"harness, as before" is distill() as it ran until this benchmark was written: the
transformer student under eager attention returning every hidden state and attention
map, a selection pass after the one epoch, and fp32 (training autocast came later).
"distill(), fp32" is today's loop with autocast off, to show what bf16 alone buys where
the CPU runs it natively (elsewhere ``auto`` is fp32 and the two rows are the same loop). torchdistill's trainer
(``torchdistill.core.DistillationBox``) imports torchvision through its model registry,
and PyPI's torchvision does not import beside the CPU torch 2.13.0 wheel; the benchmark
installs torchdistill without dependencies and uses its KD loss module in the plain loop.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES
from distill_bench.stages.annotation.annotators import load_annotator
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.measure.environment import cpu_model
from distill_bench.stages.student.io import StudentContext, encode, load_tokenizer_file
from distill_bench.stages.student.loop import TrainingData, as_output, distill, make_optimizers
from distill_bench.stages.student.loop import predict as predict_logits

from benchmarks.cached import bench_data_dir, cached_teacher

TEMPERATURE, BATCH, MAX_LENGTH = 2.0, 32, 64


def read_tsv(path: Path, n: int | None) -> tuple[list[str], list[int]]:
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]][:n]
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def build_student(name: str, teacher_dir: Path, seed: int):
    from distill_bench.plugin_api.registry import load_registry

    spec = load_registry().get("students", name)
    tokenizer = load_tokenizer_file(teacher_dir / "tokenizer.json")
    ctx = StudentContext(2, tokenizer, teacher_dir, spec.special_tokens)
    options = {"layers": [0, 2, 4]} if name == "teacher-layers" else {}
    torch.manual_seed(seed)
    model = spec.factory(spec.resolve(options, "bench"), ctx)
    return model, ctx, getattr(model, "learning_rate", None) or 1e-3


class Optimizers:
    """make_optimizers' list behind one optimizer's interface (TextBrewer takes one)."""

    def __init__(self, optimizers):
        self.optimizers = optimizers

    @property
    def param_groups(self):
        return [group for opt in self.optimizers for group in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True):
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        for opt in self.optimizers:
            opt.step()


def hinton(student_logits, teacher_logits):
    """KL(teacher || student) at the temperature, x T^2 (Hinton et al. 2015)."""
    t = TEMPERATURE
    return F.kl_div(
        F.log_softmax(student_logits / t, -1), F.softmax(teacher_logits / t, -1),
        reduction="batchmean",
    ) * t * t  # fmt: skip


def plain_loop(loss: Callable) -> Callable:
    """The loop a person writes: pad a batch, forward, soft loss, backward, step."""

    def train(model, ids, targets, batches, lr):
        optimizers = Optimizers(make_optimizers(model, lr))
        model.train()
        for index in batches:
            input_ids, mask = pad([ids[i] for i in index])
            logits = as_output(model(input_ids, mask))["logits"]
            optimizers.zero_grad()
            loss(logits, targets[index]).backward()
            optimizers.step()

    return train


def torchdistill_loss() -> Callable:
    kd: list = []  # built on first use, so this module imports without the peers installed

    def loss(s, t):
        if not kd:
            from torchdistill.losses.mid_level import KDLoss

            kd.append(KDLoss("student", "output", "teacher", "output", temperature=TEMPERATURE, alpha=0.0))  # fmt: skip
        return kd[0]({"student": {"output": s}}, {"teacher": {"output": t}})

    return loss


def textbrewer(model, ids, targets, batches, lr):
    """BasicDistiller.train with the teacher's logits handed in as TextBrewer's
    ``teacher_cache`` (its route for precomputed teacher outputs)."""
    import logging

    from textbrewer import BasicDistiller, DistillationConfig, TrainingConfig

    logging.getLogger("Distillation").setLevel(logging.WARNING)
    loader = []
    for index in batches:
        input_ids, mask = pad([ids[i] for i in index])
        loader.append({
            "student": {"input_ids": input_ids, "attention_mask": mask},
            "teacher": {}, "teacher_cache": {"logits": targets[index]},
        })  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        distiller = BasicDistiller(
            TrainingConfig(device="cpu", output_dir=out, ckpt_epoch_frequency=1),
            DistillationConfig(temperature=TEMPERATURE, kd_loss_type="ce"),
            model_T=None,
            model_S=model,
            adaptor_T=lambda batch, out: {"logits": out["logits"]},
            adaptor_S=lambda batch, out: {"logits": as_output(out)["logits"]},
        )
        distiller.train(Optimizers(make_optimizers(model, lr)), loader, num_epochs=1)


def harness(before: bool, precision: str = "auto") -> Callable:
    def train(model, ids, targets, batches, lr):
        if hasattr(model, "precision"):  # word-level students have none: always fp32
            model.precision = "fp32" if before else precision
        if before and hasattr(model, "expose"):  # eager attention, every layer returned
            model.expose(frozenset({HIDDEN_STATES, ATTENTIONS}))
        data = TrainingData(
            ids, [-1] * len(ids), targets.numpy(), SELECT[0], SELECT[1], accuracy, num_labels=2
        )
        model.learning_rate = lr
        budget = Budget(student_epochs=1, student_batch_size=BATCH)
        distill(model, lambda out, b: hinton(out["logits"], b.teacher_logits), data,
                budget=budget, seed=SEED[0], device=torch.device("cpu"))  # fmt: skip
        if before:  # the selection pass one epoch used to pay
            predict_logits(model, SELECT[0], 512, torch.device("cpu"), 2)
            if hasattr(model, "expose"):
                model.expose(frozenset())

    return train


def accuracy(gold, predicted) -> float:
    return float(np.mean(np.asarray(gold) == np.asarray(predicted)))


SELECT: list = [[], []]  # the selection split distill() scores (set in main)
SEED = [0]  # distill() seeds its batches itself: the round's seed, as the other loops'

LOOPS = {
    "distill-bench distill()": harness(before=False),
    "distill-bench distill(), fp32": harness(before=False, precision="fp32"),
    "distill-bench, as before": harness(before=True),
    "TextBrewer 0.2.1 BasicDistiller": textbrewer,
    "torchdistill 1.1.5 KDLoss": plain_loop(torchdistill_loss()),
    "hand-written loop": plain_loop(hinton),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matrix", default="benchmarks/sst2-cola.toml")
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--students", default="bilstm,teacher-layers")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/benchmarks/peers.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    data_dir = bench_data_dir()
    _, teacher_dir, _ = cached_teacher(args.matrix, data_dir, "sst2")
    texts, _ = read_tsv(data_dir / "sst2" / "train.tsv", args.sentences)
    dev_texts, dev_labels = read_tsv(data_dir / "sst2" / "dev.tsv", None)
    annotator = load_annotator(teacher_dir, "fp32", MAX_LENGTH, 128, "cpu")
    targets = torch.from_numpy(np.asarray(annotator.logits(texts), np.float32))
    teacher_dev = float(np.mean(annotator.logits(dev_texts).argmax(-1) == dev_labels))
    sections = []
    for name in args.students.split(","):
        _, ctx, _ = build_student(name, teacher_dir, 0)
        ids = encode(ctx.tokenizer, texts, MAX_LENGTH, ctx.special_tokens)
        dev_ids = encode(ctx.tokenizer, dev_texts, MAX_LENGTH, ctx.special_tokens)
        SELECT[:] = [dev_ids, dev_labels]  # what "as before" scored after its epoch (timing only)
        for loop in LOOPS:  # warm-up: kernels, allocator and thread pools, for every loop
            model, _, lr = build_student(name, teacher_dir, 0)
            LOOPS[loop](model, ids[: 4 * BATCH], targets, [list(range(BATCH))] * 4, lr)
        speed: dict[str, list[float]] = {loop: [] for loop in LOOPS}
        scores: dict[str, list[float]] = {loop: [] for loop in LOOPS}
        for r in range(args.rounds):
            order = list(LOOPS)[r % len(LOOPS) :] + list(LOOPS)[: r % len(LOOPS)]
            for loop in order:
                model, _, lr = build_student(name, teacher_dir, r)
                SEED[0] = r
                batches = list(length_grouped_batches([len(x) for x in ids], BATCH, seed=r * 1000))
                began = time.perf_counter()
                LOOPS[loop](model, ids, targets, batches, lr)
                speed[loop].append(len(ids) / (time.perf_counter() - began))
                dev = predict_logits(model, dev_ids, 512, torch.device("cpu"), 2).argmax(-1)
                scores[loop].append(100 * accuracy(dev_labels, dev))
                print(f"{name} round {r + 1} {loop}: {speed[loop][-1]:,.0f} sent/s, "
                      f"dev {scores[loop][-1]:.1f}", flush=True)  # fmt: skip
        sections.append(section(name, speed, scores))
    command = "python -m benchmarks.bench_peers " + shlex.join(argv or sys.argv[1:])
    text = (
        "# Student training beside TextBrewer and torchdistill\n\n"
        f"- Command: `{command.strip()}` (`tox run -e peers` installs the peers)\n"
        f"- Hardware: {cpu_model()}, {os.cpu_count()} CPUs, {args.threads} torch thread(s); "
        f"torch {torch.__version__}; bf16 autocast "
        f"{'native' if _bf16() else 'not native here, so fp32 for every loop'}\n"
        f"- {len(texts)} SST-2 train sentences, batch {BATCH}, one epoch a run, soft targets at "
        f"T = {TEMPERATURE} from the fine-tuned teacher of `{args.matrix}` (dev accuracy "
        f"{100 * teacher_dev:.1f}); {args.rounds} rounds, loops interleaved; seeds 0-"
        f"{args.rounds - 1}; time taken {(time.perf_counter() - started) / 60:.1f} min\n"
        "- Dev accuracy: SST-2 dev (872 sentences) after the one epoch, mean and range over "
        "rounds (each round its own seed)\n\n" + "\n".join(sections)
    )
    print(text)
    Path(args.out).write_text(text)
    return 0


def _bf16() -> bool:
    from distill_bench.stages.precision import cpu_has_bf16

    return cpu_has_bf16()


def section(student: str, speed: dict, scores: dict) -> str:
    peers = [loop for loop in speed if not loop.startswith("distill-bench")]
    best_peer = max(statistics.median(speed[p]) for p in peers)
    lines = [
        f"## {student}\n",
        "| loop | train sentences/s (median) | range | x best peer | dev acc (mean) | range |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for loop, values in speed.items():
        acc = scores[loop]
        lines.append(
            f"| {loop} | {statistics.median(values):,.0f} | {min(values):,.0f}-{max(values):,.0f} "
            f"| {statistics.median(values) / best_peer:.2f} | {statistics.mean(acc):.1f} "
            f"| {min(acc):.1f}-{max(acc):.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
