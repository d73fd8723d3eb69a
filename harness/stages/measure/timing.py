"""How fast a model runs: timed passes with a noise guard, CPU speed and GPU speed.

Speed is measured on real evaluation sentences in their natural order (so padding is
what a server would see), after warm-up, over several timed repeats, and reported as the
median with its spread (``summarize``). A pass during which other processes used the
cores this measurement needs is set aside and run again (``guarded_passes``); the
figures say how many were, and flag themselves noisy when too few quiet passes remain.
"""

from __future__ import annotations

import statistics
import time

import psutil
import torch


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


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return (
        t.user
        + t.system
        + getattr(t, "nice", 0.0)
        + getattr(t, "irq", 0.0)
        + getattr(t, "softirq", 0.0)
    )


def time_passes(run, passes: int) -> tuple[list[float], list[float]]:
    """Wall seconds of each pass, and the share of the machine used by other processes."""
    walls, other_load = [], []
    for _ in range(passes):
        wall, load, _ = _timed(run)
        walls.append(wall)
        other_load.append(load)
    return walls, other_load


def _cpu_count() -> int:
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


def measure_speed(logits_of, encoded, singles, n_sentences: int, cfg: dict) -> dict:
    """CPU throughput at the configured batch and batch-1 latency, guarded."""

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


def measure_gpu(model, logits_fn, encoded, singles, cfg, n_texts) -> dict:
    """The same figures on CUDA: synchronised timing, throughput at the configured batch
    and at a batch that saturates the device, batch-1 latency, peak allocation."""
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
    run(one)()  # one untimed pass: the first call of each shape picks its kernels
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
    width = max(b["input_ids"].shape[1] for b in batches)
    pad = lambda t: torch.nn.functional.pad(t, (0, width - t.shape[1]))  # noqa: E731
    return {k: torch.cat([pad(b[k]) for b in batches]) for k in batches[0]}
