"""Micro-benchmarks of the hot paths (pytest-benchmark), kept out of the default test run.

    tox run -e micro        # runs them, saves the run, compares with the last saved one

Real sizes: the quick matrix's mlp and bilstm students over MiniLM's 30,522-WordPiece
vocabulary, SST-2 dev sentences, the packaged MiniLM-L6 teacher for annotation.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.teachers import minilm_path
from distill_bench.stages.batching import pad
from distill_bench.stages.student.io import (
    StudentContext,
    encode_words,
    load_tokenizer_file,
    prepare,
)
from distill_bench.stages.student.loop import Batch, as_output, make_optimizers, optimizer_step

THREADS = int(os.environ.get("BENCH_MICRO_THREADS", "1"))  # 1: steadier on a shared machine


@pytest.fixture(scope="module", autouse=True)
def threads():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    data = Path(os.environ.get("BENCH_DATA_DIR", "../shared/data")) / "sst2" / "dev.tsv"
    return [line.split("\t")[0] for line in data.read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def tokenizer():
    return prepare(load_tokenizer_file(Path(minilm_path()) / "tokenizer.json"))


def student(plugin: str, tokenizer):
    spec = load_registry().get("students", plugin)
    torch.manual_seed(0)
    return spec.factory(spec.resolve({}, "micro"), StudentContext(2, tokenizer))


def batch_of(tokenizer, texts, size):
    ids, mask = pad(encode_words(tokenizer, texts[:size], 64))
    return ids, mask


@pytest.mark.parametrize("plugin", ["mlp", "bilstm"])
def test_student_forward(benchmark, plugin, tokenizer, sentences):
    """Inference forward of a batch of 128 real sentences."""
    model = student(plugin, tokenizer).eval()
    ids, mask = batch_of(tokenizer, sentences, 128)

    def forward():
        with torch.inference_mode():
            return model(ids, mask)

    out = benchmark(forward)
    assert as_output(out)["logits"].shape == (128, 2)


@pytest.mark.parametrize("loss", ["ce-hard", "kd-soft", "mse-logits"])
def test_loss(benchmark, loss):
    """A loss on a batch of 128 student and teacher logits, forward and backward."""
    spec = load_registry().get("losses", loss)
    loss_fn = spec.factory(spec.resolve({}, "micro"))
    g = torch.Generator().manual_seed(0)
    student_logits = torch.randn(128, 2, generator=g, requires_grad=True)
    batch = Batch(
        input_ids=torch.zeros(128, 8, dtype=torch.long),
        attention_mask=torch.ones(128, 8, dtype=torch.long),
        labels=torch.randint(0, 2, (128,), generator=g),
        teacher_logits=torch.randn(128, 2, generator=g),
    )

    def step():
        value = loss_fn({"logits": student_logits}, batch)
        value.backward()
        return value

    assert torch.isfinite(benchmark(step))


@pytest.mark.parametrize("plugin", ["mlp", "bilstm"])
def test_training_step(benchmark, plugin, tokenizer, sentences):
    """One optimisation step (forward, MSE to teacher logits, backward, sparse + dense
    optimizers) at the quick matrix's batch of 32."""
    model = student(plugin, tokenizer).train()
    optimizers = make_optimizers(model, 1e-3)
    ids, mask = batch_of(tokenizer, sentences, 32)
    target = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))

    def step():
        loss = F.mse_loss(as_output(model(ids, mask))["logits"], target)
        optimizer_step(optimizers, loss)
        return loss

    assert torch.isfinite(benchmark(step))


@pytest.fixture(scope="module")
def annotator(tmp_path_factory):
    from distill_bench.stages.annotation.annotators import load_annotator
    from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer

    folder = tmp_path_factory.mktemp("teacher")
    load_classifier(minilm_path(), num_labels=2, label_names=("neg", "pos")).save_pretrained(folder)
    load_tokenizer(minilm_path()).save_pretrained(folder)
    return load_annotator(folder, "fp32", 64, 32, "cpu")


def test_annotation_batch(benchmark, annotator, sentences):
    """Teacher logits for one annotation batch of 32 real sentences (MiniLM-L6, fp32)."""
    texts = sentences[:32]
    logits = benchmark.pedantic(annotator.logits, args=(texts,), rounds=5, warmup_rounds=1)
    assert logits.shape == (32, 2)
