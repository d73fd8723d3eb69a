"""How trustworthy are the measure stage's speed figures? (issue 7's quality benchmark)

1. Repeatability: the same model measured twice in one run, each in its own fresh
   subprocess exactly as `bench run` measures it; the difference of the two throughput
   figures relative to their mean. Target on an idle machine: within 5%.
2. Agreement with a plain timeit: the speed-up of each student over the teacher from the
   harness's figures, against the speed-up from `timeit` of the same forward passes (same
   sentences, batches, padding and threads) in this process. Target: within 10%.

The models: the packaged MiniLM-L6 with a fresh 2-label head as the teacher (speed does not
depend on fine-tuning), and the sst2-cola matrix's MLP and BiLSTM students at random init over
its vocabulary. Sentences: SST-2 dev, in file order, as the measure stage reads them.

    python -m benchmarks.bench_measure_quality [--threads 1,2] [--out results/benchmarks/measure.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import torch
from distill_bench.matrix.model import load_matrix
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.teachers import minilm_path
from distill_bench.stages.batching import batched
from distill_bench.stages.measure.environment import cpu_model
from distill_bench.stages.measure.request import (
    MeasureRequest,
    build_model,
    in_fresh_interpreter,
    run_measurement,
)
from distill_bench.stages.student.io import (
    StudentContext,
    load_tokenizer_file,
    save_student,
)
from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer
from distill_bench.stages.tokens import prepare

from benchmarks.cached import bench_data_dir

STUDENTS = ("mlp", "bilstm")


def sst2_dev() -> tuple[str, ...]:
    data = bench_data_dir() / "sst2" / "dev.tsv"
    return tuple(line.split("\t")[0] for line in data.read_text().splitlines()[1:])


def save_models(root: Path) -> dict[str, tuple[str, str, dict, Path]]:
    """name -> (role, plugin, options, checkpoint folder)."""
    models = {}
    teacher_dir = root / "teacher"
    load_classifier(minilm_path(), num_labels=2, label_names=("neg", "pos")).save_pretrained(
        teacher_dir
    )
    load_tokenizer(minilm_path()).save_pretrained(teacher_dir)
    models["teacher"] = ("teacher", "minilm-l6", {}, teacher_dir)
    tokenizer = prepare(load_tokenizer_file(Path(minilm_path()) / "tokenizer.json"))
    for plugin in STUDENTS:
        spec = load_registry().get("students", plugin)
        options = spec.resolve({}, "bench")
        torch.manual_seed(0)
        ctx = StudentContext(2, tokenizer)
        out = root / plugin
        out.mkdir()
        save_student(out, spec.factory(options, ctx), plugin, options, ctx)
        models[plugin] = ("student", plugin, options, out)
    return models


def plain_timeit(request: MeasureRequest, repeats: int) -> float:
    """Sentences/s of the same forward passes under timeit: best of ``repeats``. Run it
    with in_fresh_interpreter, so it sees the threads and allocator the harness sees."""
    cfg = request.config
    torch.set_num_threads(cfg["threads"])
    model, encode, logits = build_model(request)
    texts = list(request.texts[: cfg["max_sentences"]])
    batches = [encode(b) for b in batched(texts, cfg["batch_size"])]

    def run():
        with torch.inference_mode():
            for b in batches:
                logits(model, b)

    run()  # warm-up
    number = max(1, int(0.5 / max(timeit.timeit(run, number=1), 1e-6)))
    best = min(timeit.repeat(run, number=number, repeat=repeats)) / number
    return len(texts) / best


def measure_all(models, texts, threads: int, repeats: int | None = None) -> dict[str, dict]:
    torch.set_num_threads(threads)
    # the sst2-cola matrix's [measure] settings (quick.toml's until 2026-11-29); variants and training steps are not timed here
    quick = load_matrix(Path(__file__).with_name("sst2-cola.toml")).measure
    config = dataclasses.asdict(
        dataclasses.replace(quick, threads=threads, train_steps=0, variants=())
    )
    if repeats is not None:  # more timed passes than the matrix's, to see what they buy
        config["repeats"] = repeats
    figures: dict[str, dict] = {}
    for name, (role, plugin, options, path) in models.items():
        request = MeasureRequest(role, plugin, options, str(path), texts, 64, config)
        runs = [run_measurement(request, isolate=True) for _ in range(2)]
        figures[name] = {
            "harness": [r["cpu_throughput"]["median"] for r in runs],
            "spread": [r["cpu_throughput"]["spread"] for r in runs],
            "load": [r["background_load"] for r in runs],
            "discarded": [r["cpu_throughput"]["discarded"] for r in runs],
            "noisy": [r["noisy"] for r in runs],
            "timeit": in_fresh_interpreter(plain_timeit, request, 3, threads=threads),
        }
    return figures


def tables(figures: dict[str, dict]) -> list[str]:
    lines = [
        "| model | harness sent/s, run 1 | run 2 | difference | passes' range (run 1, 2) | "
        "other load (run 1, 2) | passes set aside | timeit sent/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in figures.items():
        a, b = f["harness"]
        lines.append(
            f"| {name} | {a:,.0f} | {b:,.0f} | {100 * abs(a - b) / ((a + b) / 2):.1f}% | "
            f"±{100 * f['spread'][0]:.0f}%, ±{100 * f['spread'][1]:.0f}% | "
            f"{100 * f['load'][0]:.0f}%, {100 * f['load'][1]:.0f}% | "
            f"{f['discarded'][0]}, {f['discarded'][1]}"
            f"{' (noisy)' if any(f['noisy']) else ''} | {f['timeit']:,.0f} |"
        )
    teacher = figures["teacher"]
    speedups = [
        "| student | speed-up, harness | speed-up, timeit | harness / timeit |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in STUDENTS:
        harness = statistics.mean(figures[name]["harness"]) / statistics.mean(teacher["harness"])
        plain = figures[name]["timeit"] / teacher["timeit"]
        speedups.append(f"| {name} | {harness:,.1f}x | {plain:,.1f}x | {harness / plain:.3f} |")
    return ["Repeatability (same model measured twice):", "", *lines, "",
            "Speed-up over the teacher, harness vs timeit:", "", *speedups, ""]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--out", default="results/benchmarks/measure.md")
    parser.add_argument("--repeats", type=int, help="timed passes (default: sst2-cola.toml's)")
    args = parser.parse_args()
    started = time.perf_counter()
    texts = sst2_dev()
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        models = save_models(Path(tmp))
        for threads in [int(t) for t in args.threads.split(",")]:
            sections += [f"## {threads} thread{'s' if threads > 1 else ''}", ""]
            sections += tables(measure_all(models, texts, threads, args.repeats))
            # written after each thread count, so a run cut short keeps what it measured
            write(args, sections, time.perf_counter() - started)


def write(args, sections: list[str], wall: float) -> None:
    text = "\n".join(
        [
            "# Measurement quality",
            "",
            f"- Command: `python -m benchmarks.bench_measure_quality --threads {args.threads}"
            f"{f' --repeats {args.repeats}' if args.repeats else ''}` "
            "(under `flock /tmp/cpu.lock`, so no other benchmark ran meanwhile; other "
            "processes on the machine were not stopped: see the other-load column)",
            f"- Hardware: {cpu_model()}, {os.cpu_count()} CPUs; torch {torch.__version__}; "
            f"wall time {wall:.0f} s",
            "- Models: packaged MiniLM-L6 with a 2-label head (teacher), the sst2-cola matrix's mlp "
            "and bilstm students (random init, 30,522-WordPiece vocabulary); 500 SST-2 dev "
            "sentences in file order, batch 128, max length 64",
            "- Harness: `run_measurement` in a fresh subprocess per run, [measure] settings of "
            "benchmarks/sst2-cola.toml: passes of >= 0.5 s, 3 quiet passes, median; a pass during "
            "which other processes used more than the cores left free + 10% of the machine is "
            "set aside and re-run (at most 12 passes). timeit: best of 3 repeats of the same "
            "forward passes, in a fresh interpreter with the harness's threads and allocator "
            "settings (`STEADY_MALLOC`).",
            "- Targets: the two runs within 5%; harness speed-up / timeit speed-up within "
            "0.90-1.10.",
            "",
            *sections,
        ]
    )
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
