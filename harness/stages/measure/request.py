"""What to measure (``MeasureRequest``) and where it runs: this process or a fresh interpreter.

``run_measurement`` measures one saved model the same way as every other: by default in a
spawned interpreter (``in_fresh_interpreter``) started with the thread count fixed and
glibc's allocator held steady (``STEADY_MALLOC``), so the memory figure is the model's own
and no training state skews the timing. ``measure`` is what that interpreter runs: it
rebuilds the model from its checkpoint and collects the figures of ``timing.py``
(speed), ``memory.py`` (memory, parameters) and ``variants.py`` (deployment variants).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import multiprocessing
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from distill_bench.matrix.model import MeasureConfig
from distill_bench.plugin_api.registry import collect, make_plugin_manager
from distill_bench.stages.batching import batched, pad
from distill_bench.stages.measure.memory import (
    count_parameters,
    reset_peak_rss,
    status_kb,
    training_peak,
)
from distill_bench.stages.measure.timing import measure_gpu, measure_speed, time_passes
from distill_bench.stages.measure.variants import VariantBuilder, measure_variant, score_variant
from distill_bench.stages.processes import owned_pool
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.loop import as_output

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
    """One model to measure: its plugin and checkpoint, the sentences, the ``[measure]``
    settings; plain values, so it crosses into a fresh interpreter by pickling."""

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


def build_model(request: MeasureRequest):
    """(model, encode, logits) for the request, rebuilt from its checkpoint:
    ``encode(texts) -> batch`` and ``logits(model, batch) -> tensor``."""
    extra = [importlib.import_module(m) for m in request.plugin_modules]
    registry = collect(make_plugin_manager(disabled=request.disabled, extra=extra))
    if request.role == "student":
        model, ctx = student_io.load_student(Path(request.ckpt_dir), registry)

        def encode_batch(texts):
            ids, mask = pad(
                student_io.encode(ctx.tokenizer, texts, request.max_length, ctx.special_tokens)
            )
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


def score_variants(request: MeasureRequest) -> dict:
    """Each deployment variant's logits over every evaluation sentence, untimed: what
    depends on a model's weights when its speed is read from a cached timing."""
    cfg = _with_defaults(request.config)
    model, encode, logits_fn = build_model(request)
    example = encode(list(request.texts[: cfg["batch_size"]]))  # what ONNX export traces
    builder = VariantBuilder(model, logits_fn, example)
    try:
        return {
            name: score_variant(name, builder, encode, list(request.texts), cfg["batch_size"])
            for name in cfg["variants"]
        }
    finally:
        builder.close()


def measure(request: MeasureRequest) -> dict:
    """Every figure of one model (the function a fresh interpreter runs)."""
    cfg = _with_defaults(request.config)
    torch.set_num_threads(cfg["threads"])
    texts = list(request.texts[: cfg["max_sentences"]])
    reset_ok = reset_peak_rss()
    rss_before = status_kb("VmRSS")
    model, encode, logits_fn = build_model(request)
    result: dict = {"threads": torch.get_num_threads(), **count_parameters(model)}
    result["allocator"] = {k: os.environ.get(k) for k in STEADY_MALLOC}  # None: glibc's default
    result["disk_bytes"] = sum(
        p.stat().st_size for p in Path(request.ckpt_dir).glob("*.safetensors")
    )

    # tokenisation, timed apart from the model
    text_batches = list(batched(texts, cfg["batch_size"]))
    walls, _ = time_passes(lambda: [encode(b) for b in text_batches], max(1, cfg["repeats"] // 2))
    result["tokenize_sentences_per_s"] = len(texts) / statistics.median(walls)
    encoded = [encode(b) for b in text_batches]
    singles = [encode([t]) for t in texts[: cfg["latency_samples"]]]

    speed = measure_speed(lambda b: logits_fn(model, b), encoded, singles, len(texts), cfg)
    result.update(speed)
    result["background_load"] = speed["cpu_throughput"]["background_load"]
    result["noisy"] = speed["cpu_throughput"]["noisy"] or speed["cpu_latency_ms"]["noisy"]

    peak = status_kb("VmHWM")
    if reset_ok and peak is not None and rss_before is not None:
        result["peak_rss_mb"] = (peak - rss_before) / 1024
    if torch.cuda.is_available():
        result["gpu"] = measure_gpu(model, logits_fn, encoded, singles, cfg, len(texts))

    if cfg["train_steps"] > 0:  # after inference, so its peak is the training's own
        try:
            train = training_peak(
                model,
                logits_fn,
                encode,
                request.texts,
                cfg,
                batch_size=request.train_batch_size,
                num_labels=request.num_labels,
            )
        except Exception as exc:  # a model that cannot train here: the row keeps its figures
            train = {"error": f"{type(exc).__name__}: {exc}"}
        peak_kb = train.pop("peak_kb", None)
        if peak_kb is not None and rss_before is not None:
            train["peak_rss_mb"] = (peak_kb - rss_before) / 1024
        result["training"] = train

    if cfg["variants"]:
        fresh, _, _ = build_model(request)  # the trained weights, not the steps just taken
        del model
        builder = VariantBuilder(fresh, logits_fn, encoded[0])
        try:
            result["variants"] = {
                name: measure_variant(
                    name,
                    builder,
                    encode,
                    texts=list(request.texts),
                    encoded=encoded,
                    singles=singles,
                    n_sentences=len(texts),
                    cfg=cfg,
                )
                for name in cfg["variants"]
            }
        finally:
            builder.close()
    return result


def _with_defaults(config: dict) -> dict:
    """The request's config over MeasureConfig's defaults (older callers pass fewer keys)."""
    return asdict(MeasureConfig()) | dict(config)


def run_measurement(request: MeasureRequest, isolate: bool = True) -> dict:
    """Measure in a fresh interpreter (default) or in this process."""
    if not isolate:
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
        # stopped (SIGTERM to this pid): stop measuring, do not wait for it
        with owned_pool(concurrent.futures.ProcessPoolExecutor(1, mp_context=context)) as pool:
            return pool.submit(fn, *args).result()


@contextlib.contextmanager
def _environment(overrides: dict[str, str]):
    """``overrides`` in os.environ while the block runs, the previous values after."""
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
