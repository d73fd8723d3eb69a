"""Measurement: timing summaries, parameter counts, and one real run on a tiny student."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch
from distill_bench.matrix.model import MeasureConfig
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.measure.memory import count_parameters
from distill_bench.stages.measure.request import STEADY_MALLOC, MeasureRequest, run_measurement
from distill_bench.stages.measure.timing import summarize
from distill_bench.stages.student.io import StudentContext, load_wordpiece, save_student
from torch import nn

from tests.helpers import synthetic_sentences


def test_summarize_median_and_relative_spread():
    """summarize reports the median and the range relative to it."""
    s = summarize([3.0, 1.0, 10.0, 2.0])
    assert s["median"] == pytest.approx(2.5)
    assert s["min"] == 1.0 and s["max"] == 10.0 and s["n"] == 4
    assert s["spread"] == pytest.approx((10.0 - 1.0) / 2.5)
    odd = summarize([4.0, 5.0, 6.0])
    assert odd["median"] == 5.0 and odd["spread"] == pytest.approx(0.4)


def test_summarize_constant_and_zero():
    """Identical timings have no spread; an all-zero median gives 0, not a division error."""
    assert summarize([7.0, 7.0, 7.0])["spread"] == 0.0
    assert summarize([0.0, 0.0])["spread"] == 0.0


def test_count_parameters_separates_embeddings():
    """Embedding weights are counted apart; the rest is params_no_embedding."""
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3), nn.EmbeddingBag(5, 2))
    counts = count_parameters(model)
    assert counts == {
        "params_total": 10 * 4 + (4 * 3 + 3) + 5 * 2,
        "params_embedding": 10 * 4 + 5 * 2,
        "params_no_embedding": 4 * 3 + 3,
    }


def test_count_parameters_counts_a_tied_weight_once():
    """A weight shared by two modules is one set of parameters."""
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    counts = count_parameters(nn.ModuleList([emb, head]))
    assert counts["params_total"] == 40 and counts["params_no_embedding"] == 0


OPTIONS = {"embedding_dim": 8, "hidden_size": 8, "layers": 1, "dropout": 0.0}
TEXTS = tuple(text for text, _ in synthetic_sentences(12, seed=5))


@pytest.fixture(scope="module")
def student_request(tiny_teacher_dir, tmp_path_factory) -> MeasureRequest:
    """A saved tiny mlp student and a cheap measurement request for it."""
    tok = load_wordpiece(tiny_teacher_dir / "tokenizer.json")
    spec = load_registry().get("students", "mlp")
    options = spec.resolve(OPTIONS, "test")
    ctx = StudentContext(num_labels=2, tokenizer=tok)
    model = spec.factory(options, ctx)
    out_dir = tmp_path_factory.mktemp("mlp-student")
    save_student(out_dir, model, "mlp", options, ctx)
    config = dataclasses.asdict(
        MeasureConfig(
            threads=1,
            batch_size=8,
            latency_samples=3,
            repeats=2,
            warmup=1,
            min_pass_seconds=0.05,
            max_sentences=20,
            isolate=False,
            max_background_load=1.0,  # this test checks the figures, not the noise guard
            train_steps=2,
        )
    )
    return MeasureRequest(
        role="student",
        plugin="mlp",
        options=options,
        ckpt_dir=str(out_dir),
        texts=TEXTS,
        max_length=16,
        config=config,
    )


def check_common(result: dict, request: MeasureRequest) -> None:
    vocab = load_wordpiece(request.ckpt_dir + "/tokenizer.json").get_vocab_size()
    dims = OPTIONS["embedding_dim"]
    assert result["params_total"] == vocab * dims + (8 * 8 + 8) + (8 * 2 + 2)
    assert result["params_no_embedding"] == (8 * 8 + 8) + (8 * 2 + 2)
    assert result["threads"] == 1
    assert result["cpu_throughput"]["median"] > 0
    assert result["cpu_throughput"]["n"] == 2
    assert result["cpu_latency_ms"]["p50"] > 0
    assert result["cpu_latency_ms"]["n"] == 2 * 3  # min(3, repeats) passes over 3 sentences
    assert result["disk_bytes"] > 0
    assert result["tokenize_sentences_per_s"] > 0
    assert isinstance(result["noisy"], bool)
    assert result["training"]["train_steps"] == 2 and result["training"]["train_step_ms"] > 0


def test_run_measurement_in_process(student_request):
    """isolate=False measures in this process: sizes, speed, latency and disk are reported."""
    threads = torch.get_num_threads()
    try:
        result = run_measurement(student_request, isolate=False)
    finally:
        torch.set_num_threads(threads)  # measure() sets the global thread count
    assert result["isolated"] is False
    check_common(result, student_request)


def test_run_measurement_isolated_subprocess(student_request):
    """isolate=True measures in a spawned interpreter and reports its own peak memory."""
    result = run_measurement(student_request, isolate=True)
    assert result["isolated"] is True
    check_common(result, student_request)
    assert result["allocator"] == STEADY_MALLOC  # the child allocates in steady state
    assert all(os.environ.get(k) != v for k, v in STEADY_MALLOC.items())  # ours is untouched
    assert isinstance(result["peak_rss_mb"], float)
    assert result["peak_rss_mb"] >= 0
    # training holds gradients and optimizer state on top of the loaded weights
    assert result["training"]["peak_rss_mb"] > 0


def test_variants_are_rescored_and_an_unexportable_one_is_unavailable(student_request):
    """int8 and both ONNX variants of the mlp student: timed, logits for every evaluation
    sentence close to fp32's; a variant that cannot be built is recorded with its reason."""
    config = student_request.config | {"variants": ("int8", "onnx-fp32", "onnx-int8")}
    result = run_measurement(dataclasses.replace(student_request, config=config), isolate=False)
    variants = result["variants"]
    assert set(variants) == {"int8", "onnx-fp32", "onnx-int8"}
    for name, v in variants.items():
        assert v["available"], (name, v.get("reason"))
        assert v["cpu_throughput"]["median"] > 0 and v["cpu_latency_ms"]["p50"] > 0
        assert v["logits"].shape == (len(TEXTS), 2)
    assert variants["onnx-int8"]["disk_bytes"] < variants["onnx-fp32"]["disk_bytes"]


def test_a_variant_that_fails_to_build_is_unavailable_not_an_error(monkeypatch, student_request):
    from distill_bench.stages.measure import variants as variants_module

    def refuse(*args, **kwargs):
        raise variants_module.VariantUnavailable("export: not supported")

    monkeypatch.setattr(variants_module, "export_onnx", refuse)
    config = student_request.config | {"variants": ("onnx-fp32",)}
    result = run_measurement(dataclasses.replace(student_request, config=config), isolate=False)
    assert result["variants"]["onnx-fp32"] == {
        "available": False,
        "reason": "export: not supported",
    }


def fake_timed(loads):
    """_timed stand-in: pass i takes 1 s with background load loads[i]."""
    it = iter(loads)

    def timed(run):
        units, payload = run()
        return 1.0, next(it), (units, payload)

    return timed


GUARD = {"repeats": 3, "max_passes": 6, "max_background_load": 0.1, "threads": 2}


def test_noise_guard_replaces_loud_passes(monkeypatch):
    """Passes with other load are set aside and re-run; the figure is from quiet ones."""
    from distill_bench.stages.measure import timing as m

    monkeypatch.setattr(m, "_cpu_count", lambda: 2)
    monkeypatch.setattr(m, "_timed", fake_timed([0.0, 0.6, 0.05, 0.7, 0.0]))
    rates = iter([100, 10, 110, 20, 105])
    kept = []
    out = m.guarded_passes(lambda: (next(rates), "p"), GUARD, kept)
    assert out["passes"] == 5 and out["discarded"] == 2 and out["noisy"] is False
    assert out["median"] == 105 and out["min"] == 100 and len(kept) == 3


def test_noise_guard_is_bounded_and_flags(monkeypatch):
    """On a machine that stays busy it stops at max_passes and flags the figure noisy."""
    from distill_bench.stages.measure import timing as m

    monkeypatch.setattr(m, "_cpu_count", lambda: 2)
    monkeypatch.setattr(m, "_timed", fake_timed([0.5] * 6))
    out = m.guarded_passes(lambda: (50, None), GUARD)
    assert out["passes"] == 6 and out["noisy"] is True and out["n"] == 6
    assert out["background_load"] == 0.5


def test_noise_guard_allows_load_on_the_cores_left_free(monkeypatch):
    """1 thread on 2 cores: another process busy on the other core (load 0.5) is quiet;
    more than that is not."""
    from distill_bench.stages.measure import timing as m

    monkeypatch.setattr(m, "_cpu_count", lambda: 2)
    monkeypatch.setattr(m, "_timed", fake_timed([0.5, 0.55, 0.9, 0.5]))
    out = m.guarded_passes(lambda: (10, None), GUARD | {"threads": 1})
    assert out["passes"] == 4 and out["discarded"] == 1 and not out["noisy"]
    monkeypatch.setattr(m, "_timed", fake_timed([0.5] * 6))
    assert m.guarded_passes(lambda: (10, None), GUARD)["noisy"]  # 2 threads: no core free


def test_onnx_export_of_a_bilstm_keeps_the_exporters_native_noise_out_of_the_terminal(
    tiny_teacher_dir, tmp_path, capfd
):
    """torch's TorchScript exporter prints C++ shape-inference warnings for a BiLSTM's
    packed sequences (prim::PackPadded) straight to file descriptor 2, past Python's
    warnings filters: the export swallows those lines, and still passes on others."""
    from distill_bench.stages.measure.variants import export_onnx

    tok = load_wordpiece(tiny_teacher_dir / "tokenizer.json")
    spec = load_registry().get("students", "bilstm")
    options = spec.resolve({"embedding_dim": 8, "hidden_size": 8}, "test")
    ctx = StudentContext(num_labels=2, tokenizer=tok)
    model = spec.factory(options, ctx)
    ids = [[5, 6, 7, 8], [9, 10], [11, 12, 13]]  # ragged: the padded batch packs
    input_ids = torch.zeros(3, 4, dtype=torch.long)
    mask = torch.zeros(3, 4, dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
    example = {"input_ids": input_ids, "attention_mask": mask}
    capfd.readouterr()

    def logits(m, b):
        return m(b["input_ids"], b["attention_mask"])["logits"]

    export_onnx(model, logits, example, tmp_path / "bilstm.onnx")
    err = capfd.readouterr().err
    assert "PackPadded" not in err and "ShapeInference" not in err, err


def test_native_stderr_passes_on_what_is_not_the_exporters_noise(capfd):
    import os

    from distill_bench.stages.annotation.onnx import EXPORTER_NOISE, native_stderr_without

    noise = (
        "[W1129 shape_type_inference.cpp:1994] Warning: The shape inference of "
        "prim::PackPadded type is missing, so it may result in wrong shape inference\n"
    )
    with native_stderr_without(EXPORTER_NOISE):
        os.write(2, noise.encode())
        os.write(2, b"Warning: a constant folded to float64; cast your inputs\n")
    err = capfd.readouterr().err
    assert "PackPadded" not in err and "cast your inputs" in err


def test_timing_key_is_the_architectures_not_the_weights(student_request, tmp_path):
    """Retrained weights (another seed) keep the key; another thread count, option or
    evaluation set changes it."""
    import shutil

    from distill_bench.stages.measure.stage import timing_key

    ckpt = Path(student_request.ckpt_dir)
    other = tmp_path / "other-seed"
    shutil.copytree(ckpt, other)
    for f in other.glob("*.safetensors"):  # same shapes, other values
        from safetensors.numpy import load_file, save_file

        tensors = {k: v + 1 for k, v in load_file(str(f)).items()}
        save_file(tensors, str(f))
    key = timing_key(student_request, ckpt)
    assert timing_key(student_request, other) == key
    threads = student_request.config | {"threads": 2}
    assert timing_key(dataclasses.replace(student_request, config=threads), ckpt) != key
    wider = student_request.options | {"hidden_size": 16}
    assert timing_key(dataclasses.replace(student_request, options=wider), ckpt) != key
    texts = student_request.texts[:-1]
    assert timing_key(dataclasses.replace(student_request, texts=texts), ckpt) != key
    isolated = student_request.config | {"isolate": True}  # where it runs changes nothing
    assert timing_key(dataclasses.replace(student_request, config=isolated), ckpt) == key


STOPPED_MID_MEASUREMENT = """
import signal, sys, time
from distill_bench.stages.measure.request import in_fresh_interpreter

def stop(signum, frame):
    raise KeyboardInterrupt

if __name__ == "__main__":  # the spawned interpreter imports this file too
    signal.signal(signal.SIGTERM, stop)  # as `bench run` does
    try:
        in_fresh_interpreter(time.sleep, 300, threads=1)  # a measurement that takes minutes
    except KeyboardInterrupt:
        sys.exit(130)
"""


def test_sigterm_during_an_isolated_measurement_stops_its_interpreter(tmp_path):
    """`kill PID` while a measurement runs in its fresh interpreter: the run stops at once
    and takes the interpreter with it, instead of waiting minutes for the measurement."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "stopped.py"
    script.write_text(STOPPED_MID_MEASUREMENT)
    child = subprocess.Popen([sys.executable, str(script)])
    deadline = time.monotonic() + 60
    while not psutil.Process(child.pid).children(recursive=True):  # the interpreter is up
        assert time.monotonic() < deadline, "the measuring interpreter never started"
        time.sleep(0.05)
    time.sleep(2)  # into the measurement
    interpreters = psutil.Process(child.pid).children(recursive=True)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 130
    _, alive = psutil.wait_procs(interpreters, timeout=10)
    assert not alive
