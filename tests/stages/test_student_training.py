"""What the distillation loop spends: no selection pass that selects nothing, SDPA
attention unless a loss reads attention maps, bf16 autocast where a student asks for it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES
from distill_bench.stages import precision
from distill_bench.stages.batching import pad
from distill_bench.stages.student.io import StudentContext
from distill_bench.stages.student.loop import TrainingData, distill

REGISTRY = load_registry()
IDS = [[5, 6, 7], [8, 9], [10, 11, 12, 13]] * 4
LABELS = [0, 1, 0] * 4
TINY = {"layers": 1, "hidden_size": 16, "heads": 2}


def word_context():
    from tokenizers import Tokenizer, models

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3} | {f"w{i}": i for i in range(4, 20)}
    return StudentContext(2, Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")))


def student(name: str, **options):
    spec = REGISTRY.get("students", name)
    torch.manual_seed(0)
    return spec.factory(spec.resolve(options, "test"), word_context())


def train(model, epochs: int, loss=None):
    """distill() on 12 made-up sentences; the selection metric counts its calls."""
    calls = []

    def metric(gold, predicted):
        calls.append(len(gold))
        return 0.5

    data = TrainingData(IDS, LABELS, None, IDS[:3], LABELS[:3], metric, num_labels=2)
    info = distill(
        model,
        loss or (lambda out, batch: F.cross_entropy(out["logits"], batch.labels)),
        data,
        budget=Budget(student_epochs=epochs, student_batch_size=4),
        seed=0,
        device=torch.device("cpu"),
    )
    return info, calls


def test_one_epoch_runs_no_selection_pass_and_keeps_its_weights():
    info, calls = train(student("mlp"), epochs=1)
    assert calls == [] and info["best_epoch"] == 1 and info["best_select_score"] is None
    info, calls = train(student("mlp"), epochs=2)
    assert calls == [3, 3] and info["best_select_score"] == 0.5


def test_transformer_students_use_sdpa_unless_a_loss_reads_attention_maps():
    model = student("transformer", **TINY).eval()
    assert model.model.config._attn_implementation == "sdpa"
    ids, mask = pad([[2, 5, 6, 3], [2, 7, 3]])
    plain = model(ids, mask)
    assert set(plain) == {"logits"}
    model.expose(frozenset({HIDDEN_STATES}))  # hidden states: SDPA still serves
    assert model.model.config._attn_implementation == "sdpa"
    assert set(model(ids, mask)) == {"logits", HIDDEN_STATES}
    model.expose(frozenset({HIDDEN_STATES, ATTENTIONS}))
    assert model.model.config._attn_implementation == "eager"
    maps = model(ids, mask)
    assert len(maps[ATTENTIONS]) == 1 and len(maps[HIDDEN_STATES]) == 2
    torch.testing.assert_close(maps["logits"], plain["logits"], atol=1e-5, rtol=1e-5)
    model.expose(frozenset())
    assert model.model.config._attn_implementation == "sdpa"


def test_bf16_autocast_trains_a_transformer_student_and_hands_the_loss_fp32():
    dtypes = []

    def loss(out, batch):
        dtypes.append(out["logits"].dtype)
        return F.cross_entropy(out["logits"], batch.labels)

    info, _ = train(student("transformer", **TINY, precision="bf16"), epochs=2, loss=loss)
    assert info["autocast"] == "bf16" and set(dtypes) == {torch.float32}
    assert all(torch.isfinite(torch.tensor(info["epoch_losses"])))
    info, _ = train(student("transformer", **TINY, precision="fp32"), epochs=1)
    assert info["autocast"] == "fp32"
    info, _ = train(student("bilstm"), epochs=1)  # word-level students have no precision
    assert info["autocast"] == "fp32"


def test_auto_precision_takes_bf16_only_where_it_is_native(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert not precision.use_bf16("auto", cpu) and precision.use_bf16("auto", cuda)
    assert precision.use_bf16("bf16", cpu) and not precision.use_bf16("fp32", cuda)
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.use_bf16("auto", cpu)


@pytest.mark.parametrize("value", ["fp16", "BF16"])
def test_a_precision_outside_the_choices_is_refused(value):
    from distill_bench.plugin_api.errors import BenchError

    spec = REGISTRY.get("students", "transformer")
    with pytest.raises(BenchError, match="precision"):
        spec.resolve({"precision": value}, "test")


def test_a_staged_loss_runs_each_part_alone_in_its_share_of_training():
    """XtremeDistil's schedule: representation, then logits, then gold labels."""
    from distill_bench.stages.student.loop import Batch, Staged

    seen = []

    def part(name):
        def fn(out, batch):
            seen.append(name)
            return torch.tensor(1.0)

        return fn

    staged = Staged([(1.0, part("hidden")), (1.0, part("logits")), (0.5, part("gold"))], [0.4, 0.8])
    empty = torch.zeros(1, 1, dtype=torch.long)
    values = [
        staged({}, Batch(empty, empty, empty, None, progress=p)).item()
        for p in (0.0, 0.39, 0.4, 0.79, 0.8, 0.99)
    ]
    assert seen == ["hidden", "hidden", "logits", "logits", "gold", "gold"]
    assert values == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_a_staged_loss_trains_a_bilstm_through_every_stage():
    """hidden-mse's learned projection, then mse-logits, then ce-hard, in one distill()."""
    from distill_bench.stages.student.loop import Batch, Staged

    hidden = REGISTRY.get("losses", "hidden-mse")
    progress = []

    def logits(out, batch: Batch):
        progress.append(batch.progress)
        return F.mse_loss(out["logits"], batch.teacher_logits)

    projection = hidden.factory(hidden.resolve({"layer_map": "-1:1"}, "test"))
    teacher_hidden = torch.randn(len(IDS), 1, 8)

    class Features:
        def batch(self, index, device):
            return {"teacher_hidden": {1: teacher_hidden[index]},
                    "teacher_mask": torch.ones(len(index), 1)}  # fmt: skip

    gold = lambda out, batch: F.cross_entropy(out["logits"], batch.labels)  # noqa: E731
    loss = Staged([(1.0, projection), (1.0, logits), (1.0, gold)], [0.34, 0.67])
    data = TrainingData(
        IDS, LABELS, np.random.default_rng(0).normal(size=(len(IDS), 2)).astype("float32"),
        IDS[:3], LABELS[:3], lambda g, p: 0.0, num_labels=2, features=Features(),
    )  # fmt: skip
    info = distill(
        student("bilstm"), loss, data, budget=Budget(student_epochs=3, student_batch_size=4),
        seed=0, device=torch.device("cpu"),
    )  # fmt: skip
    assert info["steps"] == 9 and all(np.isfinite(info["epoch_losses"]))
    assert min(progress) >= 0.34 and max(progress) < 0.67  # logits only in the middle third


def test_gradual_unfreezing_thaws_the_student_from_the_top_in_each_stage():
    from distill_bench.stages.student.unfreeze import GradualUnfreezing, layer_groups

    model = student("bilstm")  # groups from the top: classifier, fc, lstm, embedding
    groups = layer_groups(model)
    assert groups[0] == list(model.classifier.parameters())
    assert groups[-1] == [model.embedding.weight]
    thaw = GradualUnfreezing(model, [0.5])
    counts = {p: thaw.count(p) for p in (0.0, 0.1, 0.13, 0.26, 0.49, 0.5, 0.62, 0.99)}
    assert counts == {0.0: 1, 0.1: 1, 0.13: 2, 0.26: 3, 0.49: 4, 0.5: 1, 0.62: 1, 0.99: 4}
    thaw.apply(0.3)
    assert [all(p.requires_grad for p in g) for g in groups] == [True, True, True, False]
    thaw.restore()
    assert all(p.requires_grad for p in model.parameters())


def test_a_frozen_embedding_stays_frozen_under_unfreezing():
    from distill_bench.stages.student.unfreeze import GradualUnfreezing

    model = student("mlp", freeze_embeddings=True)
    thaw = GradualUnfreezing(model, [0.5])
    thaw.apply(0.99)
    thaw.restore()
    assert not model.embedding.weight.requires_grad


def test_transformer_students_unfreeze_head_then_layers_then_embeddings():
    from distill_bench.stages.student.unfreeze import layer_groups

    model = student("transformer", layers=2, hidden_size=16, heads=2)
    groups = layer_groups(model)
    assert len(groups) == 4  # head, layer 1, layer 0, embeddings
    names = {id(p): n for n, p in model.named_parameters()}
    assert all("classifier" in names[id(p)] or "pooler" in names[id(p)] for p in groups[0])
    assert all(".layer.1." in names[id(p)] for p in groups[1])
    assert all("embeddings" in names[id(p)] for p in groups[3])
    assert sum(len(g) for g in groups) == len(list(model.parameters()))


def test_an_unfreezing_staged_loss_leaves_lower_layers_untouched_early_on():
    """One epoch in two stages of 6 steps each over 4 groups (BiLSTM): the embedding, the
    lowest group, trains only in the last sixth of each stage."""
    from distill_bench.stages.student.loop import Staged

    model = student("bilstm")
    start = model.embedding.weight.detach().clone(), model.classifier[1].weight.detach().clone()
    trained = []

    def ce(out, batch):
        trained.append(model.embedding.weight.requires_grad)
        return F.cross_entropy(out["logits"], batch.labels)

    loss = Staged([(1.0, ce), (1.0, ce)], [0.5], unfreeze=True)
    data = TrainingData(IDS, LABELS, None, IDS[:3], LABELS[:3], lambda g, p: 0.0, num_labels=2)
    distill(model, loss, data, budget=Budget(student_epochs=1, student_batch_size=1),
            seed=0, device=torch.device("cpu"))  # fmt: skip
    assert trained == [False] * 5 + [True] + [False] * 5 + [True]
    assert not torch.equal(model.classifier[1].weight, start[1])
    assert all(p.requires_grad for p in model.parameters())  # whole again after training
