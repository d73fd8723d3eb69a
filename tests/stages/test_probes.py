"""The probing stages: a probe fits what a layer encodes and nothing else, sentence vectors
ignore padding and keep the texts' order, both stages are cached, and a model with no layers
to probe is one line naming it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.probe.classify import majority, probe_layer
from distill_bench.stages.probe.plan import ProbeConfig, results_key, sets_key
from distill_bench.stages.probe.represent import sentence_vectors, teacher_forward
from distill_bench.stages.probe.stage import probe_scores, probe_sets
from distill_bench.store.cache import Cache


def _splits(n: int, rng) -> np.ndarray:
    return rng.choice(np.array(["train", "dev", "test"]), size=n, p=[0.8, 0.1, 0.1])


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_a_probe_reads_what_the_layer_encodes_and_no_more(kind):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 800)
    split = _splits(800, rng)
    encoded = rng.normal(size=(800, 16)) + 3.0 * labels[:, None] * np.eye(16)[0]
    assert probe_layer(encoded, labels, split, kind).test > 90
    noise = rng.normal(size=(800, 16))
    assert abs(probe_layer(noise, labels, split, kind).test - 50) < 8
    assert majority(np.array([0, 0, 1, 0, 1]), np.array(["train"] * 3 + ["test"] * 2)) == 50.0


def _bag_of_ids(texts):
    """A fake model: each word is a one-hot vector; layers = (tokens,) and a pooled one."""
    ids = [[len(w) for w in t.split()] for t in texts]
    width = max(len(i) for i in ids)
    tokens = torch.zeros(len(texts), width, 8)
    mask = torch.zeros(len(texts), width, dtype=torch.long)
    for row, seq in enumerate(ids):
        for col, i in enumerate(seq):
            tokens[row, col, i] = 1.0
            mask[row, col] = 1
    return (tokens, 2 * tokens), mask


def test_sentence_vectors_mean_pool_real_tokens_in_the_texts_order():
    texts = ["a bb", "ccc dddd eeeee ffffff a a", "bb"]
    alone = sentence_vectors(_bag_of_ids, texts[:1], batch_size=8)
    together = sentence_vectors(_bag_of_ids, texts, batch_size=2)
    assert list(together) == ["embeddings", "layer 1"]
    np.testing.assert_allclose(together["embeddings"][0], alone["embeddings"][0])
    np.testing.assert_allclose(together["embeddings"][0, 1:3], [0.5, 0.5])
    np.testing.assert_allclose(together["embeddings"][2, 2], 1.0)


def test_a_teacher_that_exposes_no_layers_is_one_line_naming_it():
    class LogitsOnly(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return torch.zeros(len(input_ids), 2)

    class Teacher:
        def inference_model(self, ckpt_dir, max_length):
            encode = lambda texts: {  # noqa: E731
                "input_ids": torch.ones(len(texts), 3, dtype=torch.long),
                "attention_mask": torch.ones(len(texts), 3, dtype=torch.long),
            }
            return LogitsOnly(), encode

    forward = teacher_forward(Teacher(), None, 64, "my-onnx-teacher")
    with pytest.raises(BenchError, match="teacher 'my-onnx-teacher': .* exposes no hidden layers"):
        forward(["a sentence"])


def test_probe_sets_and_scores_are_cached_stages(tmp_path):
    cache = Cache(tmp_path / "cache", log=lambda m: None)
    config = ProbeConfig(per_probe=300, pool=400, runs=1)
    words = "the a cat dog sat ran on under mat log big small".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=rng.integers(4, 9))) + " ." for _ in range(400)]
    calls = []
    key = sets_key("data-key", config)
    sets = probe_sets(cache, key, lambda: calls.append(1) or texts, config)
    assert probe_sets(cache, key, lambda: calls.append(1) or texts, config) == sets
    assert len(calls) == 1 and len(sets["bigram_shift"].texts) > 100

    loads = []

    def load():
        loads.append(1)
        return _bag_of_ids

    scores_key = results_key(key, "model-key", config)
    first = probe_scores(cache, scores_key, sets, load, config)
    assert probe_scores(cache, scores_key, sets, load, config) == first and len(loads) == 1
    built = [name for name, s in sets.items() if s.texts]
    assert set(first["scores"]) == set(built) and first["layers"] == ["embeddings", "layer 1"]
    # word lengths are all the fake model sees: sentence length is readable, word order not
    assert (
        first["scores"]["sentence_length"]["embeddings"]["test"]
        > first["majority"]["sentence_length"]
    )
    assert first["scores"]["bigram_shift"]["embeddings"]["test"] < 70
