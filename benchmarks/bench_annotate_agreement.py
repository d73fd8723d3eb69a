"""Does annotating under bf16 change the teacher's answers? A matrix's cached fine-tuned
teacher scores its evaluation split in fp32 and in the matrix's ``annotate_precision``: label
agreement, mean and max absolute logit error, and both accuracies. A matrix that annotates
its transfer set under bf16 (to save time on a large teacher) cites this.

    python -m benchmarks.bench_annotate_agreement --matrix benchmarks/intel-sst2-mpnet.toml

Run after the matrix (its teacher and data stages must be cached). Prints one markdown row.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from distill_bench.stages.annotation.annotators import agreement, load_annotator
from distill_bench.stages.data.stage import task_from_json
from distill_bench.store.cache import read_json

from benchmarks.cached import bench_data_dir, cached_teacher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matrix", required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    data_dir = bench_data_dir()
    planned, teacher_dir, data = cached_teacher(args.matrix, data_dir)
    budget = planned.plan.matrix.budget
    task = task_from_json(read_json(data / "task.json"))
    texts, gold = list(task.evaluation.texts), np.asarray(task.evaluation.labels)
    logits, seconds = {}, {}
    for precision in ("fp32", budget.annotate_precision):
        annotator = load_annotator(
            teacher_dir, precision, budget.max_length, args.batch_size, "cpu"
        )
        started = time.perf_counter()
        logits[precision] = np.asarray(annotator.logits(texts), np.float64)
        seconds[precision] = time.perf_counter() - started
    report = agreement(logits["fp32"], logits[budget.annotate_precision])
    accuracy = {p: 100 * float((v.argmax(-1) == gold).mean()) for p, v in logits.items()}
    print(
        "| matrix | split (examples) | precision | label agreement with fp32 | mean / max abs "
        "logit error | accuracy fp32 / it | seconds fp32 / it |\n| --- | --- | --- | ---: | ---: "
        f"| ---: | ---: |\n| {planned.plan.matrix.name} | {task.evaluation.name} ({len(texts)}) | "
        f"{budget.annotate_precision} | {100 * report['label_agreement']:.2f}% | "
        f"{report['mean_abs_error']:.3f} / {report['max_abs_error']:.3f} | "
        f"{accuracy['fp32']:.1f} / {accuracy[budget.annotate_precision]:.1f} | "
        f"{seconds['fp32']:.0f} / {seconds[budget.annotate_precision]:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
