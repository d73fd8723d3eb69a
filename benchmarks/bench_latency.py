"""Why the teacher's batch-1 latency read above a plain timing while its throughput agreed.

    python -m benchmarks.bench_latency [--sentences 256] [--rounds 8] [--threads 1] [--out FILE]

One fresh interpreter set up as the harness measures (``in_fresh_interpreter``: the thread
count fixed, the steady allocator), the packaged MiniLM-L6 with a 2-label head (the teacher
plugin's own model and encode), SST-2 dev sentences one at a time. Per round, the ways in
rotated order, each way's median milliseconds per sentence:

- the harness's ``measure_speed`` as a row runs it: throughput passes at batch 128, then
  the batch-1 latency sweep;
- the same with batch-1 throughput passes, so the sweep follows no large batches;
- the sweep's call timed bare (``model(**batch).logits`` on the harness's tensors);
- the call without the attention mask (a sentence alone has no padding to mask);
- a plain loop: the tokenizer's own output (token_type_ids included) into ``model(**enc)``.

Ratios to the plain loop are paired within a round, so drift of the host between rounds
cancels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.cached import bench_data_dir


def per_call(fn, inputs) -> float:
    """Median milliseconds of ``fn(x)`` over ``inputs``."""
    import torch

    times = []
    with torch.inference_mode():
        for x in inputs:
            t0 = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def compare(texts: list[str], rounds: int, threads: int) -> dict[str, list[float]]:
    """Runs in the fresh interpreter: every way, ``rounds`` times, interleaved."""
    import torch
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.plugins.teachers import minilm_path
    from distill_bench.stages.measure.timing import measure_speed
    from transformers import AutoTokenizer

    torch.set_num_threads(threads)
    teacher = load_registry().get("teachers", "minilm-l6")
    plugin = teacher.factory(teacher.resolve({}, "bench"))
    path = Path(minilm_path())
    torch.manual_seed(0)
    model, encode = plugin.inference_model(path, 64)  # what the harness times, as it builds it
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    singles = [encode([t]) for t in texts]
    plain = [tokenizer(t, truncation=True, max_length=64, return_tensors="pt") for t in texts]
    batches = [encode(texts[i : i + 128]) for i in range(0, len(texts), 128)]
    cfg = {"warmup": 1, "min_pass_seconds": 0.5, "repeats": 3, "max_passes": 3,
           "max_background_load": 1.0, "threads": threads}  # fmt: skip

    def harness(throughput_batches):
        speed = measure_speed(lambda b: model(**b).logits, throughput_batches, singles, 1, cfg)
        return speed["cpu_latency_ms"]["p50"]

    ways = {
        "harness measure_speed, after its batch-128 throughput passes (as a row)": lambda: harness(
            batches
        ),
        "harness measure_speed, batch-1 throughput passes before the sweep": lambda: harness(
            singles[:1]
        ),
        "bare model(**batch).logits, the harness's tensors": lambda: per_call(
            lambda b: model(**b).logits, singles
        ),
        "bare model(input_ids), no mask": lambda: per_call(
            lambda b: model(input_ids=b["input_ids"]), singles
        ),
        "plain: model(**tokenizer(text))": lambda: per_call(lambda e: model(**e), plain),
    }
    with torch.inference_mode():  # warm every path once
        for b, e in zip(singles[:20], plain[:20], strict=True):
            model(**b), model(input_ids=b["input_ids"]), model(**e)
    results: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(rounds):
        names = list(ways)[r % len(ways) :] + list(ways)[: r % len(ways)]
        for name in names:
            results[name].append(ways[name]())
    return results


def main(argv: list[str] | None = None) -> int:
    import torch
    from distill_bench.stages.measure.environment import cpu_model
    from distill_bench.stages.measure.request import in_fresh_interpreter

    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/benchmarks/latency.md")
    args = parser.parse_args(argv)
    data = bench_data_dir() / "sst2" / "dev.tsv"
    texts = [line.split("\t")[0] for line in data.read_text().splitlines()[1:]][: args.sentences]
    started = time.perf_counter()
    results = in_fresh_interpreter(compare, texts, args.rounds, args.threads, threads=args.threads)
    plain = results["plain: model(**tokenizer(text))"]
    rows = []
    for name, v in results.items():
        ratios = [a / b for a, b in zip(v, plain, strict=True)]  # paired within a round
        rows.append(
            f"| {name} | {statistics.median(v):.2f} | {min(v):.2f}-{max(v):.2f} | "
            f"{statistics.median(ratios):.3f} | {min(ratios):.3f}-{max(ratios):.3f} |"
        )
    text = "\n".join([
        "# Teacher batch-1 latency: the harness against plain timings\n",
        f"- Command: `{' '.join(['python -m benchmarks.bench_latency', *(argv or sys.argv[1:])])}`",
        f"- Hardware: {cpu_model()}, {os.cpu_count()} CPUs, {args.threads} thread(s); "
        f"torch {torch.__version__}; time taken {time.perf_counter() - started:.0f} s",
        f"- Packaged all-MiniLM-L6-v2 with a 2-label head; the first {len(texts)} SST-2 dev "
        f"sentences one at a time; {args.rounds} rounds, ways interleaved; one fresh "
        "interpreter under the harness's thread and allocator settings\n",
        "| way | p50 ms per sentence (median of rounds) | range over rounds "
        "| x plain, same round (median) | range |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
    ]) + "\n"  # fmt: skip
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
