"""Measure one trained model the same way as every other: size, speed, memory.

Speed is measured on real evaluation sentences in their natural order (so padding is
what a server would see), after warm-up, over several timed repeats, and reported as
the median with its spread. By default each measurement runs in a fresh subprocess,
so the memory figure is the model's own and no training state skews the timing.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class MeasureRequest:
    role: str  # "student" or "teacher"
    plugin: str
    options: dict
    ckpt_dir: str
    texts: tuple[str, ...]
    max_length: int
    config: dict  # MeasureConfig as a dict
    plugin_modules: tuple[str, ...] = ()  # plugins registered directly, re-imported in a subprocess
    disabled: tuple[str, ...] = field(default=())


def _status_kb(field_name: str) -> int | None:
    try:
        match = re.search(rf"^{field_name}:\s+(\d+) kB", _STATUS.read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to current RSS
        return True
    except OSError:
        return False


def summarize(values: list[float]) -> dict:
    """Median and spread of repeated timings."""
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / med if med else 0.0,  # relative range
        "n": len(values),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def count_parameters(model) -> dict:
    import torch.nn as nn

    total = sum(p.numel() for p in model.parameters())
    embedding_ids = {
        id(p)
        for m in model.modules()
        if isinstance(m, nn.Embedding | nn.EmbeddingBag)
        for p in m.parameters()
    }
    embedding = sum(p.numel() for p in model.parameters() if id(p) in embedding_ids)
    return {
        "params_total": total,
        "params_embedding": embedding,
        "params_no_embedding": total - embedding,
    }


def _machine_busy_seconds() -> float:
    import psutil

    t = psutil.cpu_times()
    return (
        t.user
        + t.system
        + getattr(t, "nice", 0.0)
        + getattr(t, "irq", 0.0)
        + getattr(t, "softirq", 0.0)
    )


def _build(request: MeasureRequest):
    """(model, encode, forward) for the request, rebuilt from its checkpoint."""
    from .registry import collect, make_plugin_manager

    extra = [importlib.import_module(m) for m in request.plugin_modules]
    registry = collect(make_plugin_manager(disabled=request.disabled, extra=extra))
    if request.role == "student":
        from .batching import pad
        from .student_io import encode, load_student

        model, ctx = load_student(Path(request.ckpt_dir), registry)

        def encode_batch(texts):
            ids, mask = pad(encode(ctx.tokenizer, texts, request.max_length, ctx.special_tokens))
            return {"input_ids": ids, "attention_mask": mask}

        def forward(model, kw):
            return model(kw["input_ids"], kw["attention_mask"])

        return model, encode_batch, forward

    teacher = registry.get("teachers", request.plugin).factory(request.options)
    model, encode_batch = teacher.inference_model(Path(request.ckpt_dir), request.max_length)

    def forward_kw(model, kw):
        return model(**kw)

    return model, encode_batch, forward_kw


def _time_passes(run, passes: int) -> tuple[list[float], list[float]]:
    """Wall seconds of each pass, and the share of the machine used by other processes."""
    import psutil

    walls, other_load = [], []
    ncpu = psutil.cpu_count() or 1
    for _ in range(passes):
        busy0, cpu0, t0 = _machine_busy_seconds(), time.process_time(), time.perf_counter()
        run()
        wall = time.perf_counter() - t0
        others = (_machine_busy_seconds() - busy0) - (time.process_time() - cpu0)
        walls.append(wall)
        other_load.append(max(0.0, others) / (wall * ncpu) if wall > 0 else 0.0)
    return walls, other_load


def _loops_for(run, min_seconds: float) -> int:
    """How many times a pass must repeat its batches to last ``min_seconds``: a pass of
    a few milliseconds is timer and scheduler noise, not throughput."""
    t0 = time.perf_counter()
    run()
    once = time.perf_counter() - t0
    return max(1, int(min_seconds / max(once, 1e-6)) + 1) if once < min_seconds else 1


def measure(request: MeasureRequest) -> dict:
    import torch

    from .batching import batched

    cfg = request.config
    torch.set_num_threads(cfg["threads"])
    texts = list(request.texts[: cfg["max_sentences"]])
    reset_ok = _reset_peak_rss()
    rss_before = _status_kb("VmRSS")
    model, encode, forward = _build(request)
    result: dict = {"threads": torch.get_num_threads(), **count_parameters(model)}
    result["disk_bytes"] = sum(
        p.stat().st_size for p in Path(request.ckpt_dir).glob("*.safetensors")
    )

    # tokenisation, timed apart from the model
    text_batches = list(batched(texts, cfg["batch_size"]))
    walls, _ = _time_passes(lambda: [encode(b) for b in text_batches], max(1, cfg["repeats"] // 2))
    result["tokenize_sentences_per_s"] = len(texts) / statistics.median(walls)
    encoded = [encode(b) for b in text_batches]

    def run_all(device_model, batches, sync=lambda: None):
        with torch.inference_mode():
            for kw in batches:
                forward(device_model, kw)
        sync()

    # CPU throughput at a large batch: warm-up, calibrate, then timed repeats
    for _ in range(cfg["warmup"]):
        run_all(model, encoded)
    loops = _loops_for(lambda: run_all(model, encoded), cfg["min_pass_seconds"])
    walls, other_load = _time_passes(lambda: run_all(model, encoded * loops), cfg["repeats"])
    result["cpu_throughput"] = summarize([loops * len(texts) / w for w in walls])
    result["cpu_throughput"]["loops_per_pass"] = loops
    result["background_load"] = statistics.median(other_load)
    result["noisy"] = result["background_load"] > 0.25  # other processes took >25% of the machine

    # CPU batch-1 latency over real sentences
    singles = [encode([t]) for t in texts[: cfg["latency_samples"]]]
    with torch.inference_mode():
        for kw in singles[: max(1, cfg["warmup"] * 10)]:
            forward(model, kw)
        latencies = []
        for _ in range(max(1, min(3, cfg["repeats"]))):
            for kw in singles:
                t0 = time.perf_counter()
                forward(model, kw)
                latencies.append((time.perf_counter() - t0) * 1000)
    result["cpu_latency_ms"] = {
        "p50": _percentile(latencies, 0.5),
        "p90": _percentile(latencies, 0.9),
        "n": len(latencies),
    }

    peak = _status_kb("VmHWM")
    if reset_ok and peak is not None and rss_before is not None:
        result["peak_rss_mb"] = (peak - rss_before) / 1024
    if torch.cuda.is_available():
        result["gpu"] = _measure_gpu(model, encoded, singles, forward, cfg, len(texts))
    return result


def _measure_gpu(model, encoded, singles, forward, cfg, n_texts) -> dict:
    import torch

    device = torch.device("cuda")
    gpu_model = model.to(device)
    on_gpu = [{k: v.to(device) for k, v in kw.items()} for kw in encoded]
    torch.cuda.reset_peak_memory_stats()

    def run():
        with torch.inference_mode():
            for kw in on_gpu:
                forward(gpu_model, kw)
        torch.cuda.synchronize()

    for _ in range(max(1, cfg["warmup"])):
        run()
    loops = _loops_for(run, cfg["min_pass_seconds"])
    walls, _ = _time_passes(lambda: [run() for _ in range(loops)], cfg["repeats"])
    one = [{k: v.to(device) for k, v in kw.items()} for kw in singles]
    latencies = []
    with torch.inference_mode():
        for kw in one:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            forward(gpu_model, kw)
            torch.cuda.synchronize()
            latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "name": torch.cuda.get_device_name(),
        "throughput": summarize([loops * n_texts / w for w in walls]),
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p90": _percentile(latencies, 0.9)},
        "peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20,
    }


def run_measurement(request: MeasureRequest, isolate: bool = True) -> dict:
    """Measure in a fresh interpreter (default) or in this process."""
    if not isolate:
        import torch

        threads = torch.get_num_threads()
        try:
            result = measure(request)
        finally:  # measuring must not change how this process trains afterwards
            torch.set_num_threads(threads)
        result["isolated"] = False
        return result
    context = multiprocessing.get_context("spawn")
    env_threads = str(request.config["threads"])
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update(OMP_NUM_THREADS=env_threads, MKL_NUM_THREADS=env_threads)
    try:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            result = pool.submit(measure, request).result()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    result["isolated"] = True
    return result
