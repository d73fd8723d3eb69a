"""Probing on the real paths: Conneau et al.'s probe sets built from CoLA's real training
sentences with the real parser, and probes on the packaged MiniLM-L6's seven layers."""

from __future__ import annotations

import pytest
from distill_bench.plugin_api.progress import quiet
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.probe.parse import parse, sample_pool
from distill_bench.stages.probe.plan import ProbeConfig
from distill_bench.stages.probe.stage import score_model
from distill_bench.stages.probe.tasks import build_probe_sets

from tests.helpers import real_data_dir


@pytest.fixture(scope="module")
def cola_pool():
    spec = load_registry().get("datasets", "cola")
    task = spec.factory(spec.resolve({}, "test"), real_data_dir())
    return parse(sample_pool(task.train.texts, 2500, 0))


@pytest.mark.real_data
def test_real_cola_sentences_make_the_probe_sets(cola_pool):
    cola_sets = build_probe_sets(cola_pool, 1200, 0)
    built = {name for name, s in cola_sets.items() if s.texts}
    # CoLA's 8.5k short sentences: a 2,500-sentence pool builds all but the rarest two
    assert built >= {
        "sentence_length", "bigram_shift", "tree_depth", "top_constituents", "tense",
        "subject_number", "object_number", "odd_man_out",
    }  # fmt: skip
    assert cola_sets["tense"].label_names == ("past", "present")
    assert len(cola_sets["sentence_length"].label_names) == 6


@pytest.mark.real_data
def test_probes_read_the_packaged_minilm_layers(cola_pool, tmp_path):
    import torch
    from distill_bench.plugins.teachers import minilm_path
    from distill_bench.stages.probe.represent import teacher_forward
    from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer

    load_classifier(minilm_path(), 2, ("no", "yes")).save_pretrained(tmp_path)
    load_tokenizer(minilm_path()).save_pretrained(tmp_path)
    registry = load_registry()
    spec = registry.get("teachers", "minilm-l6")
    teacher = spec.factory(spec.resolve({}, "t"))
    small = build_probe_sets(cola_pool, 600, 0, ("sentence_length", "bigram_shift"))
    torch.manual_seed(0)
    result = score_model(
        small, teacher_forward(teacher, tmp_path, 64, "minilm-l6"), ProbeConfig(), quiet
    )
    assert result["layers"] == ["embeddings", *(f"layer {i}" for i in range(1, 7))]
    length = result["scores"]["sentence_length"]
    # a pretrained sentence encoder knows how long a sentence is, far above the 1-in-6 guess
    assert max(v["test"] for v in length.values()) > result["majority"]["sentence_length"] + 30
    # and word order is invisible in the embeddings (a bag of vectors) but not in the layers
    shift = result["scores"]["bigram_shift"]
    assert shift["embeddings"]["test"] < 62 < max(shift[f"layer {i}"]["test"] for i in range(1, 7))
