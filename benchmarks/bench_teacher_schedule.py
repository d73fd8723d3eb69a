"""One teacher fine-tuning schedule on a dataset, with every selection score printed as it
comes: for searching a schedule (e.g. MiniLM-L6 on CoLA) without a matrix per try.

    python -m benchmarks.bench_teacher_schedule --dataset cola --epochs 12 --lr 1e-4 \
        [--batch-size 32] [--select 855] [--teacher minilm-l6]

Prints one JSON line: the dev score of the best-on-selection checkpoint, the selection
curve, and the wall time of each epoch (selection evaluations included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.metrics import task_metric
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.tasks import subsample
from distill_bench.plugins.teachers import hf as hf_teacher

from benchmarks.cached import bench_data_dir


def load_task(registry, dataset: str, select: int):
    """The dataset from BENCH_DATA_DIR, all of train but a seed-0 selection slice of ``select``."""
    spec = registry.get("datasets", dataset)
    data_dir = bench_data_dir()
    return subsample(spec.factory(spec.resolve({}, dataset), data_dir), None, select, 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="cola")
    parser.add_argument("--teacher", default="minilm-l6")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--select", type=int, default=855)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    registry = load_registry()
    task = load_task(registry, args.dataset, args.select)
    budget = replace(Budget(), max_length=64, teacher_epochs=args.epochs,
                     teacher_batch_size=args.batch_size, teacher_lr=args.lr)  # fmt: skip
    teacher_spec = registry.get("teachers", args.teacher)
    teacher = teacher_spec.factory(teacher_spec.resolve({"patience": 100}, args.teacher))

    metric = hf_teacher.task_metric

    def printing(task):  # every selection score as it comes, so a long run shows its curve
        score = metric(task)

        def scored(gold, predicted):
            value = score(gold, predicted)
            print(f"selection {value:.4f} at {time.strftime('%H:%M:%S')}", file=sys.stderr)
            return value

        return scored

    hf_teacher.task_metric = printing
    started = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="teacher-schedule-"))
    info = teacher.finetune(task, budget, 0, out, torch.device("cpu"))
    logits = teacher.predictor(out, torch.device("cpu"), 64, 256)(task.evaluation.texts)
    print(json.dumps({
        "dataset": args.dataset, "teacher": args.teacher, "epochs": args.epochs, "lr": args.lr,
        "batch_size": args.batch_size,
        "dev": task_metric(task)(task.evaluation.labels, logits.argmax(-1)),
        "best_select": info["best_select_score"], "best_step": info["best_step"],
        "steps": info["steps"], "autocast": info["autocast"],
        "epoch_seconds": [round(s) for s in info["epoch_seconds"]],
        "selection_curve": [round(e["select_score"], 3) for e in info["evaluations"]],
        "wall_seconds": round(time.perf_counter() - started),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
