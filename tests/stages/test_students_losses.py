"""Every registered student and loss: shapes, padding, gradients, and the loss formulas."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.batching import pad
from distill_bench.stages.student.io import StudentContext
from distill_bench.stages.student.loop import (
    IGNORE,
    Batch,
    as_output,
    make_optimizers,
    optimizer_step,
)
from torch import nn

VOCAB, LABELS = 50, 3
REGISTRY = load_registry()
# Students built from a teacher folder or a real checkpoint are covered by test_students_extra.py.
STUDENTS = sorted(
    set(REGISTRY.specs["students"]) - {"teacher-layers", "bilstm-xtremedistil", "pretrained"}
)
LOSSES = sorted(REGISTRY.specs["losses"])
# Losses that read teacher internals need batch.teacher_hidden / teacher_attentions:
# test_losses_extra.py covers them on synthetic teacher tensors.
LOGIT_LOSSES = [n for n in LOSSES if REGISTRY.get("losses", n).teacher_features is None]


def context(vocab_size: int = VOCAB, num_labels: int = LABELS) -> StudentContext:
    """A student context over a word-level vocabulary of ``vocab_size`` made-up words."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1} | {f"w{i}": i for i in range(2, vocab_size)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return StudentContext(num_labels, tokenizer)


def build_student(name: str, seed: int = 0) -> nn.Module:
    spec = REGISTRY.get("students", name)
    torch.manual_seed(seed)
    return spec.factory(spec.resolve({}, "test"), context())


def build_loss(name: str, **options):
    spec = REGISTRY.get("losses", name)
    return spec.factory(spec.resolve(options, "test"))


def logits_of(model: nn.Module, sequences: list[list[int]]) -> torch.Tensor:
    ids, mask = pad(sequences)
    return as_output(model(ids, mask))["logits"]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these models are tiny, and extra threads only contend."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


# Variable lengths, one of them a single token.
SEQUENCES = [[5, 6, 7, 8], [9], [10, 11, 12, 13, 14, 15, 16], [17, 18]]


def test_builtin_students_and_losses_are_registered():
    """The parametrised tests below cover at least the built-in components."""
    assert {"mlp", "bilstm"} <= set(STUDENTS)
    assert {"ce-hard", "kd-soft", "mse-logits"} <= set(LOSSES)


@pytest.mark.parametrize("student", STUDENTS)
def test_student_forward_gives_batch_by_labels_logits(student):
    """A padded batch of variable-length ids (one of length 1) yields [batch, num_labels] logits."""
    model = build_student(student).eval()
    with torch.no_grad():
        logits = logits_of(model, SEQUENCES)
    assert logits.shape == (len(SEQUENCES), LABELS)
    assert logits.dtype.is_floating_point
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("sentence", [[5, 6, 7], [9]], ids=["len3", "len1"])
def test_padding_does_not_change_a_sentences_logits(student, sentence):
    """In eval mode a sentence scores the same alone as next to a longer, padded-out one."""
    model = build_student(student).eval()
    longer = [20, 21, 22, 23, 24, 25, 26, 27]
    with torch.no_grad():
        alone = logits_of(model, [sentence])[0]
        first = logits_of(model, [sentence, longer])[0]
        last = logits_of(model, [longer, sentence])[1]
    torch.testing.assert_close(first, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(last, alone, atol=1e-5, rtol=0)


def tiny_task(n: int = 12, seed: int = 0) -> tuple[list[list[int]], torch.Tensor]:
    """The label is which of tokens 1, 2, 3 the sentence contains; the rest is filler."""
    g = torch.Generator().manual_seed(seed)
    sequences, labels = [], []
    for i in range(n):
        label = i % LABELS
        length = int(torch.randint(1, 4, (1,), generator=g))
        filler = torch.randint(10, VOCAB, (length,), generator=g).tolist()
        filler.insert(int(torch.randint(0, length + 1, (1,), generator=g)), 1 + label)
        sequences.append(filler)
        labels.append(label)
    return sequences, torch.tensor(labels)


@pytest.mark.parametrize("student", STUDENTS)
def test_a_few_training_steps_reduce_the_loss(student):
    """make_optimizers + backward on a learnable toy task lowers the cross-entropy."""
    model = build_student(student)
    sequences, labels = tiny_task()
    ids, mask = pad(sequences)

    def eval_loss() -> float:
        model.eval()
        with torch.no_grad():
            return F.cross_entropy(as_output(model(ids, mask))["logits"], labels).item()

    before = eval_loss()
    optimizers = make_optimizers(model, lr=getattr(model, "learning_rate", None) or 1e-2)
    for _ in range(8):
        model.train()
        optimizer_step(optimizers, F.cross_entropy(as_output(model(ids, mask))["logits"], labels))
    after = eval_loss()
    assert after < 0.7 * before, (before, after)


def make_batch(sequences, labels, teacher_logits=None) -> Batch:
    ids, mask = pad(sequences)
    if teacher_logits is None:
        teacher_logits = torch.randn(
            len(sequences), LABELS, generator=torch.Generator().manual_seed(1)
        )
    return Batch(ids, mask, torch.tensor(labels, dtype=torch.long), teacher_logits)


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("loss_name", LOGIT_LOSSES)
def test_loss_is_finite_scalar_and_reaches_every_parameter(student, loss_name):
    """Each loss gives a finite scalar whose backward reaches every trainable student weight."""
    model = build_student(student).train()
    # ce-hard needs gold labels everywhere; the others must cope with unlabelled rows
    labels = [0, 2, 1, 0] if loss_name == "ce-hard" else [0, IGNORE, 1, IGNORE]
    batch = make_batch(SEQUENCES, labels)
    loss = build_loss(loss_name)(as_output(model(batch.input_ids, batch.attention_mask)), batch)
    assert loss.dim() == 0
    assert torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing}"
    for name, p in model.named_parameters():
        grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
        assert torch.isfinite(grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if not p.grad.is_sparse)


def test_kd_soft_with_alpha_one_is_t_squared_kl_by_hand():
    """alpha=1: loss = T^2 * mean_i KL(softmax(teacher/T) || softmax(student/T))."""
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(5, LABELS, generator=g), torch.randn(5, LABELS, generator=g)
    t = 3.0
    batch = Batch(
        torch.ones(5, 2, dtype=torch.long), torch.ones(5, 2), torch.zeros(5).long(), teacher
    )
    got = build_loss("kd-soft", temperature=t, alpha=1.0)({"logits": student}, batch)
    p_t = torch.softmax(teacher / t, -1)
    kl_rows = (p_t * (p_t.log() - torch.log_softmax(student / t, -1))).sum(-1)
    torch.testing.assert_close(got, t * t * kl_rows.mean())


def test_kd_soft_is_zero_when_student_matches_teacher():
    """alpha=1 and identical logits: nothing left to distil, the loss is ~0."""
    logits = torch.randn(4, LABELS, generator=torch.Generator().manual_seed(0))
    batch = Batch(
        torch.ones(4, 2, dtype=torch.long), torch.ones(4, 2), torch.zeros(4).long(), logits
    )
    got = build_loss("kd-soft", temperature=2.0, alpha=1.0)({"logits": logits.clone()}, batch)
    assert abs(got.item()) < 1e-6


def test_kd_soft_mixes_in_cross_entropy_on_labelled_rows_only():
    """alpha<1: alpha*soft + (1-alpha)*CE over the rows whose label is known."""
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(4, LABELS, generator=g), torch.randn(4, LABELS, generator=g)
    labels = torch.tensor([2, IGNORE, 0, IGNORE])
    batch = Batch(torch.ones(4, 2, dtype=torch.long), torch.ones(4, 2), labels, teacher)
    soft = build_loss("kd-soft", temperature=2.0, alpha=1.0)({"logits": student}, batch)
    hard = F.cross_entropy(student[[0, 2]], labels[[0, 2]])
    got = build_loss("kd-soft", temperature=2.0, alpha=0.25)({"logits": student}, batch)
    torch.testing.assert_close(got, 0.25 * soft + 0.75 * hard)
    # no labelled row at all: only the soft term, never NaN
    batch.labels = torch.full((4,), IGNORE)
    torch.testing.assert_close(
        build_loss("kd-soft", temperature=2.0, alpha=0.25)({"logits": student}, batch), soft
    )


def test_mse_logits_is_mean_squared_error_by_hand():
    """mse-logits equals the mean of squared logit differences (F.mse_loss)."""
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(6, LABELS, generator=g), torch.randn(6, LABELS, generator=g)
    batch = Batch(
        torch.ones(6, 2, dtype=torch.long), torch.ones(6, 2), torch.full((6,), IGNORE), teacher
    )
    got = build_loss("mse-logits")({"logits": student}, batch)
    torch.testing.assert_close(got, ((student - teacher) ** 2).mean())
    torch.testing.assert_close(got, F.mse_loss(student, teacher))


def test_make_optimizers_splits_sparse_embeddings_from_the_rest():
    """Sparse embedding weights go to SparseAdam, all other trainable weights to AdamW."""
    model = build_student("mlp")
    model.classifier[-1].bias.requires_grad_(False)  # frozen: in neither optimizer
    optimizers = make_optimizers(model, lr=1e-3)
    by_type = {
        type(o): [id(p) for group in o.param_groups for p in group["params"]] for o in optimizers
    }
    assert set(by_type) == {torch.optim.SparseAdam, torch.optim.AdamW}
    assert by_type[torch.optim.SparseAdam] == [id(model.embedding.weight)]
    expected_dense = {
        id(p) for n, p in model.named_parameters() if n != "embedding.weight" and p.requires_grad
    }
    assert set(by_type[torch.optim.AdamW]) == expected_dense
    assert len(by_type[torch.optim.AdamW]) == len(expected_dense)
    assert id(model.classifier[-1].bias) not in expected_dense


def test_make_optimizers_dense_embedding_goes_to_adamw():
    """A dense (sparse=False) embedding is an ordinary weight: AdamW only, no SparseAdam."""
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    optimizers = make_optimizers(model, lr=1e-3)
    assert [type(o) for o in optimizers] == [torch.optim.AdamW]
    assert len(optimizers[0].param_groups[0]["params"]) == 3


def test_noisy_teacher_scales_logits_by_one_plus_gaussian_noise():
    """Sau and Balasubramanian 2016: (1 + xi) z with xi ~ N(0, noise^2), for a share of
    the examples; 0 (the default) leaves the teacher untouched."""
    from distill_bench.plugins.losses.logits import noisy_teacher

    z = torch.full((4000, 3), 2.0)
    assert noisy_teacher({"noise": 0.0})(z) is z
    torch.manual_seed(0)
    ratio = noisy_teacher({"noise": 0.3, "noise_share": 1.0})(z) / z
    assert abs(float(ratio.mean()) - 1.0) < 0.02 and abs(float(ratio.std()) - 0.3) < 0.02
    torch.manual_seed(0)
    half = noisy_teacher({"noise": 0.3, "noise_share": 0.5})(z)
    untouched = (half == z).all(dim=1).float().mean()
    assert 0.45 < float(untouched) < 0.55  # whole examples are left as they were
    torch.manual_seed(0)
    assert torch.equal(noisy_teacher({"noise": 0.3, "noise_share": 0.5})(z), half)  # seeded


@pytest.mark.parametrize("loss_name", ["kd-soft", "mse-logits"])
def test_distillation_losses_read_the_noisy_teacher(loss_name):
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(6, LABELS, generator=g), torch.randn(6, LABELS, generator=g)
    batch = Batch(
        torch.ones(6, 2, dtype=torch.long), torch.ones(6, 2), torch.full((6,), IGNORE), teacher
    )
    clean = build_loss(loss_name)({"logits": student}, batch)
    torch.manual_seed(0)
    noisy = build_loss(loss_name, noise=0.5)({"logits": student}, batch)
    assert not torch.equal(clean, noisy) and torch.isfinite(noisy)
    assert torch.equal(
        build_loss(loss_name, noise=0.5, noise_share=0.0)({"logits": student}, batch), clean
    )


def test_ce_hard_label_smoothing_spreads_a_share_of_each_target():
    """ce-hard's label_smoothing (the control for near-uniform soft targets): with share e
    the target is (1 - e) one-hot + e / K; 0, the default, is plain cross-entropy."""
    from distill_bench.plugins.losses.logits import ce_hard
    from distill_bench.stages.student.loop import Batch

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]])
    labels = torch.tensor([0, 1])
    batch = Batch(
        input_ids=torch.ones(2, 3, dtype=torch.long),
        attention_mask=torch.ones(2, 3, dtype=torch.long),
        labels=labels,
        teacher_logits=None,
    )
    out = {"logits": logits}
    plain = F.cross_entropy(logits, labels)
    assert torch.allclose(ce_hard({})(out, batch), plain)
    assert torch.allclose(ce_hard({"label_smoothing": 0.0})(out, batch), plain)
    target = 0.8 * F.one_hot(labels, 3).float() + 0.2 / 3
    by_hand = -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
    assert torch.allclose(ce_hard({"label_smoothing": 0.2})(out, batch), by_hand)
