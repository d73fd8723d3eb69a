"""The real paths: the real data files and the packaged pretrained checkpoint.

These read BENCH_DATA_DIR (CI points it at shared/data); a missing directory fails the
test, it never skips, so the real paths cannot rot unnoticed.
"""

from __future__ import annotations

import numpy as np
import pytest
from distill_bench.plugin_api.registry import load_registry

from tests.helpers import real_data_dir


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def load(registry, name: str):
    spec = registry.get("datasets", name)
    return spec.factory(spec.resolve({}, "test"), real_data_dir())


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name, train_total, dev, metric",
    [("sst2", 67_349, 872, "accuracy"), ("cola", 8_551, 1_043, "mcc")],
)
def test_real_glue_files(registry, name, train_total, dev, metric):
    """Split sizes as GLUE publishes them; held-out slice carved from train, stratified."""
    task = load(registry, name)
    assert len(task.train) + len(task.select) == train_total
    assert len(task.evaluation) == dev and task.evaluation.name == "dev"
    assert task.primary_metric == metric and task.num_labels == 2
    assert set(task.train.labels) == set(task.evaluation.labels) == {0, 1}
    assert not set(task.select.texts) & set(task.evaluation.texts)
    share = lambda split: sum(split.labels) / len(split)  # noqa: E731
    assert abs(share(task.select) - share(task.train)) < 0.01
    assert all(t.strip() for t in task.train.texts[:1000])


@pytest.mark.real_model
def test_real_minilm_checkpoint_runs(registry, tmp_path):
    """The packaged all-MiniLM-L6-v2 loads as a classifier, has its published size, and
    its tokenizer is the uncased BERT vocabulary students share."""
    import torch
    from distill_bench.plugins.teachers import minilm_path
    from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer

    path = minilm_path()
    model = load_classifier(path, 2, ("negative", "positive")).eval()
    encoder = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("classifier"))
    assert abs(encoder - 22.7e6) < 0.1e6
    tokenizer = load_tokenizer(path)
    assert tokenizer.vocab_size == 30522
    batch = tokenizer(
        ["a charming and often affecting journey .", "dull"], padding=True, return_tensors="pt"
    )
    with torch.inference_mode():
        logits = model(**batch).logits
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    # The teacher plugin's word-level tokenizer for students reads the same vocabulary.
    teacher = registry.get("teachers", "minilm-l6").factory(
        registry.get("teachers", "minilm-l6").resolve({}, "t")
    )
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    words = teacher.tokenizer(tmp_path).encode("charming journey", add_special_tokens=False).ids
    assert words == tokenizer("charming journey", add_special_tokens=False)["input_ids"]
    predict = teacher.predictor(tmp_path, torch.device("cpu"), max_length=32, batch_size=8)
    assert np.allclose(
        predict(["a charming and often affecting journey .", "dull"]), logits.numpy(), atol=1e-4
    )
