"""Memory of a student epoch as the transfer set grows: does it stream?

For each size, a fresh subprocess tokenises that many real IMDB unsupervised sentences with
the packaged MiniLM's WordPiece vocabulary into memory-mapped token ids (as the runner's
``tokens`` stage does), loads teacher logits for them (drawn once at random and saved
as safetensors: this measures the loop's memory, not the teacher), and trains an MLP student
for one epoch with the harness's ``distill``. A sampler thread records the process's
anonymous resident memory (``RssAnon``: what the process itself allocated; pages of the
memory-mapped ids are file-backed and the OS can drop them) before and during the epoch.
The same is done with the ids as Python lists (how the runner held them before) to show
what streaming saves.

    python -m benchmarks.bench_streaming [--sizes 50000 500000] [--out results/benchmarks/streaming.md]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.cached import bench_data_dir

HERE = Path(__file__).resolve().parent


def rss_anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


class Sampler(threading.Thread):
    """Peak RssAnon every 20 ms while the epoch runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = rss_anon_mb(), threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_anon_mb())
            time.sleep(0.02)


def one(size: int, mode: str, work: Path) -> dict:
    """Run in a fresh process: one epoch over ``size`` sentences, ids held as ``mode``."""
    import numpy as np
    import torch
    from distill_bench.matrix.model import Budget
    from distill_bench.plugin_api.registry import load_registry
    from distill_bench.plugins.datasets.imdb import imdb_unsup_sentences
    from distill_bench.plugins.teachers import minilm_path
    from distill_bench.stages.student.io import StudentContext, encode_words, load_tokenizer_file
    from distill_bench.stages.student.loop import TrainingData, distill
    from distill_bench.stages.student.token_ids import TokenIds, write_token_ids
    from safetensors.numpy import load_file, save_file

    torch.set_num_threads(2)
    tokenizer = load_tokenizer_file(Path(minilm_path()) / "tokenizer.json")
    corpus = imdb_unsup_sentences(bench_data_dir())
    texts = corpus[:size]
    del corpus
    started = time.perf_counter()
    if mode == "memmap":
        folder = work / f"ids-{size}"
        folder.mkdir(exist_ok=True)
        write_token_ids(folder, texts, lambda batch: encode_words(tokenizer, batch, 64))
        ids = TokenIds.load(folder)
    else:
        ids = encode_words(tokenizer, texts, 64)
    tokenise_seconds = time.perf_counter() - started
    del texts
    logits_file = work / f"logits-{size}.safetensors"
    if not logits_file.exists():
        rng = np.random.default_rng(0)
        save_file({"logits": rng.normal(size=(size, 2)).astype(np.float32)}, str(logits_file))
    logits = load_file(str(logits_file))["logits"]
    spec = load_registry().get("students", "mlp")
    ctx = StudentContext(2, tokenizer, None, False)
    torch.manual_seed(0)
    model = spec.factory(spec.resolve({}, "bench"), ctx)
    budget = Budget(student_epochs=1, student_batch_size=256, student_lr=1e-3)

    def mse(out, batch):
        return torch.nn.functional.mse_loss(out["logits"], batch.teacher_logits)

    gc.collect()
    before = rss_anon_mb()
    sampler = Sampler()
    sampler.start()
    data = TrainingData(
        transfer_ids=ids,
        transfer_labels=[-1] * size,
        teacher_logits=logits,
        select_ids=ids[:1],
        select_labels=[0],
        metric=lambda g, p: 0.0,
        num_labels=2,
    )
    info = distill(model, mse, data, budget=budget, seed=0, device=torch.device("cpu"))
    sampler.stop.set()
    sampler.join()
    return {
        "size": size,
        "mode": mode,
        "tokenise_seconds": tokenise_seconds,
        "before_mb": before,
        "peak_mb": sampler.peak,
        "growth_mb": sampler.peak - before,
        "epoch_seconds": info["train_seconds"],
        "sent_per_s": info["train_examples_per_second"],
        "logits_mb": logits.nbytes / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--modes", nargs="+", default=["memmap", "lists"])
    parser.add_argument("--out", default="results/benchmarks/streaming.md")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, mode, work = args.child
        print(json.dumps(one(int(size), mode, Path(work))))
        return
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as work:
        for size in args.sizes:
            for mode in args.modes if len(rows) % 4 == 0 else args.modes[::-1]:
                cmd = [sys.executable, "-m", "benchmarks.bench_streaming", "--child",
                       str(size), mode, work]  # fmt: skip
                out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                                     cwd=HERE.parent).stdout  # fmt: skip
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print(rows[-1], flush=True)
    from distill_bench.stages.measure.environment import cpu_model

    lines = [
        "# Streaming a large transfer set through a student epoch",
        "",
        "Command: `python -m benchmarks.bench_streaming --sizes "
        + " ".join(map(str, args.sizes))
        + "` (BENCH_DATA_DIR pointing at the data).",
        f"Hardware: {cpu_model()}, 2 threads. Wall time of the whole benchmark: "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        "Each row is a fresh process: real IMDB unsupervised sentences tokenised with MiniLM's "
        "WordPiece vocabulary (max 64 tokens), random teacher logits (this measures the loop's "
        "memory, not the teacher), an MLP student, one epoch at batch 256. RssAnon is the "
        "process's anonymous resident memory (the memory-mapped ids are file-backed pages the OS "
        "may drop); 'before' is after the ids and logits are loaded, 'growth' is the epoch's "
        "peak above that.",
        "",
        "| sentences | token ids held as | tokenise (s) | RssAnon before (MB) | peak in epoch "
        "(MB) | growth (MB) | logits (MB) | epoch (s) | sent/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {'memory-mapped .npy' if r['mode'] == 'memmap' else 'Python lists'}"
            f" | {r['tokenise_seconds']:.1f} | {r['before_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['growth_mb']:.0f} | {r['logits_mb']:.1f} | {r['epoch_seconds']:.1f} | "
            f"{r['sent_per_s']:,.0f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
