"""Measure one trained model the same way as every other: size, speed, memory.

Speed is measured on real evaluation sentences in their natural order (so padding is
what a server would see), after warm-up, over several timed repeats, and reported as
the median with its spread. By default each measurement runs in a fresh subprocess,
so the memory figure is the model's own and no training state skews the timing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import multiprocessing
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")

# glibc's allocator, as it is by default, hands freed memory back to the OS between batches
# and moves its mmap threshold as it goes, so a pass paid page faults that depended on the
# allocator's history (and on the host's cost of a fault): the MLP measured at a third of its
# speed and two fresh measurements differed by 20% (results/measure.md). Fixed, every pass
# allocates as a warmed-up server does. Only a fresh interpreter reads these.
STEADY_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),  # glibc's largest; activations stay on the heap
    "MALLOC_TRIM_THRESHOLD_": str(1 << 40),  # never give the heap back between batches
}


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
    num_labels: int = 2  # for the training-memory steps
    train_batch_size: int = 32  # the batch the model trains at (budget)


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
    """(model, encode, logits) for the request, rebuilt from its checkpoint:
    ``encode(texts) -> batch`` and ``logits(model, batch) -> tensor``."""
    from distill_bench.plugin_api.registry import collect, make_plugin_manager

    extra = [importlib.import_module(m) for m in request.plugin_modules]
    registry = collect(make_plugin_manager(disabled=request.disabled, extra=extra))
    if request.role == "student":
        from distill_bench.stages.batching import pad
        from distill_bench.stages.student.io import encode, load_student
        from distill_bench.stages.student.loop import as_output

        model, ctx = load_student(Path(request.ckpt_dir), registry)

        def encode_batch(texts):
            ids, mask = pad(encode(ctx.tokenizer, texts, request.max_length, ctx.special_tokens))
            return {"input_ids": ids, "attention_mask": mask}

        def student_logits(model, batch):
            return as_output(model(batch["input_ids"], batch["attention_mask"]))["logits"]

        return model.eval(), encode_batch, student_logits

    teacher = registry.get("teachers", request.plugin).factory(request.options)
    model, encode_batch = teacher.inference_model(Path(request.ckpt_dir), request.max_length)

    def teacher_logits(model, batch):
        out = model(**batch)
        return out.logits if hasattr(out, "logits") else out

    return model.eval(), encode_batch, teacher_logits


def _time_passes(run, passes: int) -> tuple[list[float], list[float]]:
    """Wall seconds of each pass, and the share of the machine used by other processes."""
    walls, other_load = [], []
    for _ in range(passes):
        wall, load, _ = _timed(run)
        walls.append(wall)
        other_load.append(load)
    return walls, other_load


def _cpu_count() -> int:
    import psutil

    return psutil.cpu_count() or 1


def _timed(run) -> tuple[float, float, object]:
    """(wall seconds, share of the machine other processes used meanwhile, run's result).

    The share is the machine's busy CPU time minus this process's, over wall x cores:
    0 on an idle machine, 0.5 when another process keeps one of two cores busy."""
    ncpu = _cpu_count()
    busy0, cpu0, t0 = _machine_busy_seconds(), time.process_time(), time.perf_counter()
    value = run()
    wall = time.perf_counter() - t0
    others = (_machine_busy_seconds() - busy0) - (time.process_time() - cpu0)
    return wall, (max(0.0, others) / (wall * ncpu) if wall > 0 else 0.0), value


def _until(run, min_seconds: float) -> int:
    """Repeat ``run`` until ``min_seconds`` have passed; how many times it ran. Timing a
    whole pass, not a calibrated loop count: one slow calibration run made passes of a
    few milliseconds, which measure the scheduler, not the model."""
    t0, loops = time.perf_counter(), 0
    while True:
        run()
        loops += 1
        if time.perf_counter() - t0 >= min_seconds:
            return loops


def guarded_passes(run_pass, cfg: dict, kept: list | None = None) -> dict:
    """Timed passes with a noise guard: a pass during which other processes used more
    than ``max_background_load`` of the machine beyond the cores this measurement leaves
    free (``threads`` of them busy) is set aside and another is run, up to ``max_passes``
    in all. With 1 thread on 2 cores another process may keep the other core busy without
    touching the figure; with 2 threads on 2 cores it cannot: OpenMP's threads wait for
    each other at every op, and one descheduled thread stalls both (10-70x slower passes). ``run_pass() -> (units done, payload)``; figures are units/s,
    and the payloads of the passes the figure comes from are appended to ``kept``.

    Returns summarize() of the kept passes plus ``passes`` (run), ``discarded``,
    ``background_load`` (median over all passes) and ``noisy`` (fewer than ``repeats``
    quiet passes: the figure comes from all passes and is flagged)."""
    wanted, limit = max(1, cfg["repeats"]), max(cfg["repeats"], cfg["max_passes"])
    ncpu = _cpu_count()
    allowed = max(0, ncpu - cfg.get("threads", ncpu)) / ncpu + cfg["max_background_load"]
    quiet, loud, loads = [], [], []
    while len(quiet) < wanted and len(quiet) + len(loud) < limit:
        wall, load, (units, payload) = _timed(run_pass)
        loads.append(load)
        (quiet if load <= allowed else loud).append((units / wall, payload))
    noisy = len(quiet) < wanted
    used = quiet + loud if noisy else quiet
    if kept is not None:
        kept.extend(payload for _, payload in used)
    return summarize([rate for rate, _ in used]) | {
        "passes": len(quiet) + len(loud),
        "discarded": 0 if noisy else len(loud),
        "background_load": statistics.median(loads),
        "noisy": noisy,
    }


def _speed(logits_of, encoded, singles, n_sentences: int, cfg: dict) -> dict:
    """CPU throughput at the configured batch and batch-1 latency, guarded."""
    import torch

    def run_all():
        with torch.inference_mode():
            for batch in encoded:
                logits_of(batch)

    for _ in range(cfg["warmup"]):
        run_all()
    throughput = guarded_passes(
        lambda: (n_sentences * _until(run_all, cfg["min_pass_seconds"]), None), cfg
    )

    def sweep():
        with torch.inference_mode():
            times = []
            for batch in singles:
                t0 = time.perf_counter()
                logits_of(batch)
                times.append((time.perf_counter() - t0) * 1000)
        return len(times), times

    with torch.inference_mode():
        for batch in singles[: max(1, cfg["warmup"] * 10)]:
            logits_of(batch)
    kept: list[list[float]] = []
    sweeps = guarded_passes(sweep, cfg | {"repeats": max(1, min(3, cfg["repeats"]))}, kept)
    flat = [t for times in kept for t in times]
    return {
        "cpu_throughput": throughput,
        "cpu_latency_ms": {
            "p50": _percentile(flat, 0.5),
            "p90": _percentile(flat, 0.9),
            "n": len(flat),
            "noisy": sweeps["noisy"],
        },
    }


def _train_peak(model, logits_fn, encode, texts, cfg, batch_size, num_labels) -> dict:
    """Peak resident memory of a few training steps (forward, backward, optimizer) at
    the training batch size, and the median step time."""
    import torch
    import torch.nn.functional as F
    from distill_bench.stages.student.loop import make_optimizers, optimizer_step

    steps = cfg["train_steps"]
    batch = encode(list(texts[:batch_size]))
    labels = torch.arange(len(batch["input_ids"])) % num_labels
    model.train()
    optimizers = make_optimizers(model, 1e-5)
    reset_ok = _reset_peak_rss()
    step_ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        optimizer_step(optimizers, F.cross_entropy(logits_fn(model, batch), labels))
        step_ms.append((time.perf_counter() - t0) * 1000)
    model.eval()
    out = {"train_steps": steps, "train_batch_size": len(labels)}
    out["train_step_ms"] = statistics.median(step_ms)
    peak = _status_kb("VmHWM")
    if reset_ok and peak is not None:
        out["peak_kb"] = peak
    return out


def _variant(name, builder, encode, texts, encoded, singles, n_sentences, cfg) -> dict:
    """One deployment variant: timed like the model, and its logits over every
    evaluation sentence (the runner scores them)."""
    import numpy as np
    import torch
    from distill_bench.stages.batching import batched
    from distill_bench.stages.measure.variants import VariantUnavailable, _first_line

    started = time.perf_counter()
    try:
        run, disk = builder.build(name)
        speed = _speed(run, encoded, singles, n_sentences, cfg)
        with torch.inference_mode():
            parts = [run(encode(list(b))) for b in batched(texts, cfg["batch_size"])]
        logits = np.concatenate(
            [p.float().numpy() if isinstance(p, torch.Tensor) else p for p in parts]
        ).astype(np.float32)
    except VariantUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    except Exception as exc:  # a variant that crashes is unavailable, not a failed cell
        return {"available": False, "reason": _first_line(exc)}
    out = {"available": True, **speed, "logits": logits}
    out["seconds"] = time.perf_counter() - started
    if disk is not None:
        out["disk_bytes"] = disk
    return out


def measure(request: MeasureRequest) -> dict:
    import torch
    from distill_bench.stages.batching import batched

    cfg = _with_defaults(request.config)
    torch.set_num_threads(cfg["threads"])
    texts = list(request.texts[: cfg["max_sentences"]])
    reset_ok = _reset_peak_rss()
    rss_before = _status_kb("VmRSS")
    model, encode, logits_fn = _build(request)
    result: dict = {"threads": torch.get_num_threads(), **count_parameters(model)}
    result["allocator"] = {k: os.environ.get(k) for k in STEADY_MALLOC}  # None: glibc's default
    result["disk_bytes"] = sum(
        p.stat().st_size for p in Path(request.ckpt_dir).glob("*.safetensors")
    )

    # tokenisation, timed apart from the model
    text_batches = list(batched(texts, cfg["batch_size"]))
    walls, _ = _time_passes(lambda: [encode(b) for b in text_batches], max(1, cfg["repeats"] // 2))
    result["tokenize_sentences_per_s"] = len(texts) / statistics.median(walls)
    encoded = [encode(b) for b in text_batches]
    singles = [encode([t]) for t in texts[: cfg["latency_samples"]]]

    speed = _speed(lambda b: logits_fn(model, b), encoded, singles, len(texts), cfg)
    result.update(speed)
    result["background_load"] = speed["cpu_throughput"]["background_load"]
    result["noisy"] = speed["cpu_throughput"]["noisy"] or speed["cpu_latency_ms"]["noisy"]

    peak = _status_kb("VmHWM")
    if reset_ok and peak is not None and rss_before is not None:
        result["peak_rss_mb"] = (peak - rss_before) / 1024
    if torch.cuda.is_available():
        result["gpu"] = _measure_gpu(model, logits_fn, encoded, singles, cfg, len(texts))

    if cfg["train_steps"] > 0:  # after inference, so its peak is the training's own
        try:
            train = _train_peak(
                model, logits_fn, encode, request.texts, cfg, request.train_batch_size,
                request.num_labels,
            )  # fmt: skip
        except Exception as exc:  # a model that cannot train here: the row keeps its figures
            train = {"error": f"{type(exc).__name__}: {exc}"}
        peak_kb = train.pop("peak_kb", None)
        if peak_kb is not None and rss_before is not None:
            train["peak_rss_mb"] = (peak_kb - rss_before) / 1024
        result["training"] = train

    if cfg["variants"]:
        from distill_bench.stages.measure.variants import VariantBuilder

        fresh, _, _ = _build(request)  # the trained weights, not the steps just taken
        del model
        builder = VariantBuilder(fresh, logits_fn, encoded[0])
        try:
            result["variants"] = {
                name: _variant(
                    name, builder, encode, list(request.texts), encoded, singles, len(texts), cfg
                )
                for name in cfg["variants"]
            }
        finally:
            builder.close()
    return result


def _with_defaults(config: dict) -> dict:
    """The request's config over MeasureConfig's defaults (older callers pass fewer keys)."""
    from dataclasses import asdict

    from distill_bench.matrix.model import MeasureConfig

    return asdict(MeasureConfig()) | dict(config)


def _measure_gpu(model, logits_fn, encoded, singles, cfg, n_texts) -> dict:
    """The same figures on CUDA: synchronised timing, throughput at the configured batch
    and at a batch that saturates the device, batch-1 latency, peak allocation."""
    import torch

    device = torch.device("cuda")
    gpu_model = model.to(device)
    to_gpu = lambda batch: {k: v.to(device) for k, v in batch.items()}  # noqa: E731
    on_gpu = [to_gpu(b) for b in encoded]
    torch.cuda.reset_peak_memory_stats()

    def run(batches):
        def all_batches():
            with torch.inference_mode():
                for b in batches:
                    logits_fn(gpu_model, b)
            torch.cuda.synchronize()

        return all_batches

    big = [to_gpu(_concat(encoded))]  # every sentence in one batch: saturates small models
    figures = {}
    for label, batches in (("throughput", on_gpu), ("throughput_saturated", big)):
        for _ in range(max(1, cfg["warmup"])):
            run(batches)()
        figures[label] = guarded_passes(
            lambda b=batches: (n_texts * _until(run(b), cfg["min_pass_seconds"]), None), cfg
        )
    one = [to_gpu(b) for b in singles]
    latencies = []
    with torch.inference_mode():
        for b in one:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            logits_fn(gpu_model, b)
            torch.cuda.synchronize()
            latencies.append((time.perf_counter() - t0) * 1000)
    model.to("cpu")
    return {
        "name": torch.cuda.get_device_name(),
        **figures,
        "saturating_batch": n_texts,
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p90": _percentile(latencies, 0.9)},
        "peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20,
    }


def _concat(batches: list[dict]) -> dict:
    """One right-padded batch from several."""
    import torch

    width = max(b["input_ids"].shape[1] for b in batches)
    pad = lambda t: torch.nn.functional.pad(t, (0, width - t.shape[1]))  # noqa: E731
    return {k: torch.cat([pad(b[k]) for b in batches]) for k in batches[0]}


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
    result = in_fresh_interpreter(measure, request, threads=request.config["threads"])
    result["isolated"] = True
    return result


def in_fresh_interpreter(fn, *args, threads: int):
    """``fn(*args)`` in a spawned interpreter set up as every measurement is: ``threads``
    OpenMP/MKL threads from the start, and the steady allocator."""
    child = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), **STEADY_MALLOC}
    with _environment(child):  # a spawned interpreter starts with this process's environment
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(fn, *args).result()


@contextlib.contextmanager
def _environment(overrides: dict[str, str]):
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
