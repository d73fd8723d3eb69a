"""The pseudo-label, intermediate-layer and scheduled losses on synthetic
tensors: formulas by hand, masking of padding, gradients, and clear errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from distill_bench import BenchError
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.student.loop import IGNORE, Batch
from torch import nn

REGISTRY = load_registry()
B, T, C = 3, 5, 4  # batch, teacher tokens, classes
MASK = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.long)


def build_loss(name: str, **options):
    spec = REGISTRY.get("losses", name)
    return spec.factory(spec.resolve(options, "test"))


def teacher_features(name: str, **options):
    spec = REGISTRY.get("losses", name)
    return spec.teacher_features(spec.resolve(options, "test"))


def randn(*shape, seed=0, grad=False):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return x.requires_grad_(grad)


def batch(teacher_logits=None, hidden=None, attentions=None, mask=MASK, progress=0.0):
    n = mask.shape[0]
    return Batch(
        input_ids=torch.ones_like(mask),
        attention_mask=mask,
        labels=torch.full((n,), IGNORE),
        teacher_logits=teacher_logits,
        teacher_hidden=hidden,
        teacher_mask=None if hidden is None and attentions is None else mask,
        teacher_attentions=attentions,
        progress=progress,
    )


def attention_maps(heads, seed, mask=MASK):
    """Row-softmaxed maps over real keys, like a transformer's; padding rows are arbitrary."""
    scores = randn(mask.shape[0], heads, mask.shape[1], mask.shape[1], seed=seed)
    scores = scores.masked_fill(~mask.bool()[:, None, None, :], -1e4)
    return scores.softmax(-1)


def set_identity(loss: nn.Module) -> None:
    for proj in loss.projections.values():
        with torch.no_grad():
            proj.weight.copy_(torch.eye(proj.weight.shape[0]))
            proj.bias.zero_()


def masked_mean(x, mask):
    m = mask.float().unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1)


# --- every new loss: finite scalar, gradients reach the student tensors and projections


def test_every_new_loss_gives_a_finite_scalar_with_gradients():
    logits = randn(B, C, seed=1, grad=True)
    states = (randn(B, T, 8, seed=2, grad=True), randn(B, T, 8, seed=3, grad=True))
    maps = (attention_maps(2, 4).requires_grad_(True), attention_maps(2, 5).requires_grad_(True))
    out = {"logits": logits, "hidden_states": states, "attentions": maps}
    b = batch(
        teacher_logits=randn(B, C, seed=6),
        hidden={4: randn(B, T, 6, seed=7), 6: randn(B, T, 6, seed=8)},
        attentions={4: attention_maps(3, 9), 6: attention_maps(3, 10)},
    )
    cases = {
        "hard-distill": ({}, [logits]),
        "hidden-mse": ({"layer_map": "0:4,-1:6"}, list(states)),
        "hidden-cosine": ({"layer_map": "0:4,-1:6"}, list(states)),
        "attention-mse": ({"layer_map": "1:4,2:6"}, list(maps)),
    }
    for name, (options, inputs) in cases.items():
        loss_fn = build_loss(name, **options)
        value = loss_fn(out, b)
        assert value.dim() == 0 and torch.isfinite(value), name
        grads = torch.autograd.grad(value, inputs + list(getattr(loss_fn, "parameters", list)()))
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert all(g.abs().sum() > 0 for g in grads), name
    # the projections are learned: two pairs, two Linear(8 -> 6) maps
    mse = build_loss("hidden-mse", layer_map="0:4,-1:6")
    mse(out, b)
    assert [tuple(p.shape) for p in mse.parameters()] == [(6, 8), (6,), (6, 8), (6,)]


# --- hard-distill


def test_hard_distill_is_cross_entropy_on_teacher_argmax():
    student, teacher = randn(6, C, seed=0), randn(6, C, seed=1)
    got = build_loss("hard-distill")({"logits": student}, batch(teacher, mask=torch.ones(6, 2)))
    torch.testing.assert_close(got, F.cross_entropy(student, teacher.argmax(-1)))


def test_hard_distill_confidence_drops_unsure_rows():
    student = randn(4, 3, seed=0, grad=True)
    # max softmax probabilities: ~0.98, 1/3, ~0.91, ~0.42
    teacher = torch.tensor(
        [[5.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.5, 0.0, 0.2]], dtype=torch.float32
    )
    b = batch(teacher, mask=torch.ones(4, 2))
    got = build_loss("hard-distill", confidence=0.8)({"logits": student}, b)
    torch.testing.assert_close(got, F.cross_entropy(student[[0, 2]], torch.tensor([0, 1])))
    # nobody that sure: a zero that is still connected to the student's logits
    none = build_loss("hard-distill", confidence=0.99)({"logits": student}, b)
    assert none.item() == 0.0 and none.grad_fn is not None
    none.backward()
    assert torch.equal(student.grad, torch.zeros_like(student))


def test_hard_distill_confidence_out_of_range_names_the_option():
    with pytest.raises(BenchError, match="'confidence'"):
        build_loss("hard-distill", confidence=1.5)


# --- hidden-mse


@pytest.mark.parametrize("pooling", ["tokens", "auto"])
def test_hidden_mse_tokens_counts_real_tokens_only(pooling):
    student, teacher = randn(B, T, 6, seed=0, grad=True), randn(B, T, 6, seed=1)
    loss_fn = build_loss("hidden-mse", layer_map="-1:6", pooling=pooling)
    b = batch(hidden={6: teacher})
    loss_fn({"logits": None, "hidden_states": (student,)}, b)
    set_identity(loss_fn)
    got = loss_fn({"logits": None, "hidden_states": (student,)}, b)
    real = MASK.bool()
    torch.testing.assert_close(got, F.mse_loss(student[real], teacher[real]))
    # padding positions do not matter
    noisy = teacher.clone()
    noisy[~real] = 1e3
    b.teacher_hidden = {6: noisy}
    torch.testing.assert_close(loss_fn({"hidden_states": (student,)}, b), got)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_hidden_mse_pooled_3d_student(pooling):
    student, teacher = randn(B, T, 6, seed=0), randn(B, T, 6, seed=1)
    loss_fn = build_loss("hidden-mse", layer_map="-1:2", pooling=pooling)
    out, b = {"hidden_states": (student,)}, batch(hidden={2: teacher})
    loss_fn(out, b)
    set_identity(loss_fn)
    target = teacher[:, 0] if pooling == "cls" else masked_mean(teacher, MASK)
    torch.testing.assert_close(loss_fn(out, b), F.mse_loss(masked_mean(student, MASK), target))


@pytest.mark.parametrize("pooling", ["auto", "mean", "cls"])
def test_hidden_mse_pooled_2d_student(pooling):
    """RNN / MLP students: their [B, D] vector vs the teacher's mean (auto) or [CLS]."""
    student, teacher = randn(B, 6, seed=0), randn(B, T, 6, seed=1)
    loss_fn = build_loss("hidden-mse", layer_map="0:6", pooling=pooling)
    out, b = {"hidden_states": (student,)}, batch(hidden={6: teacher})
    loss_fn(out, b)
    set_identity(loss_fn)
    target = teacher[:, 0] if pooling == "cls" else masked_mean(teacher, MASK)
    torch.testing.assert_close(loss_fn(out, b), F.mse_loss(student, target))


def test_hidden_mse_auto_pools_when_lengths_differ_and_tokens_refuses():
    student, teacher = randn(B, 7, 6, seed=0), randn(B, T, 6, seed=1)
    out = {"hidden_states": (student,)}
    student_mask = torch.ones(B, 7, dtype=torch.long)
    b = batch(hidden={6: teacher})
    b.attention_mask = student_mask
    loss_fn = build_loss("hidden-mse")
    loss_fn(out, b)
    set_identity(loss_fn)
    expected = F.mse_loss(student.mean(1), masked_mean(teacher, MASK))
    torch.testing.assert_close(loss_fn(out, b), expected)
    with pytest.raises(BenchError, match="pooling 'tokens' needs token-aligned"):
        build_loss("hidden-mse", pooling="tokens")(out, b)
    with pytest.raises(BenchError, match="pooling 'tokens' needs token-aligned"):
        build_loss("hidden-mse", pooling="tokens")({"hidden_states": (randn(B, 6),)}, b)


def test_hidden_mse_averages_layer_pairs_with_one_projection_each():
    s0, s1 = randn(B, T, 4, seed=0), randn(B, T, 6, seed=1)
    t2, t4 = randn(B, T, 6, seed=2), randn(B, T, 6, seed=3)
    out, b = {"hidden_states": (s0, s1)}, batch(hidden={2: t2, 4: t4})
    loss_fn = build_loss("hidden-mse", layer_map="1:2,1:4")
    loss_fn(out, b)
    set_identity(loss_fn)
    real = MASK.bool()
    expected = (F.mse_loss(s1[real], t2[real]) + F.mse_loss(s1[real], t4[real])) / 2
    torch.testing.assert_close(loss_fn(out, b), expected)


def test_hidden_losses_report_missing_layers_clearly():
    out = {"hidden_states": (randn(B, 6),)}
    with pytest.raises(BenchError, match="no teacher hidden states"):
        build_loss("hidden-mse")(out, batch())
    with pytest.raises(BenchError, match=r"layer 6 was not annotated \(annotated: \[2\]\)"):
        build_loss("hidden-mse")(out, batch(hidden={2: randn(B, T, 6)}))
    with pytest.raises(BenchError, match="student hidden state 3.*returned 1"):
        build_loss("hidden-cosine", layer_map="3:6")(out, batch(hidden={6: randn(B, T, 6)}))
    with pytest.raises(BenchError, match="no hidden_states"):
        build_loss("hidden-cosine")({"logits": randn(B, C)}, batch(hidden={6: randn(B, T, 6)}))


def test_projection_made_under_inference_mode_still_trains():
    """The harness may materialise projections on a first batch under inference_mode."""
    student, teacher = randn(B, 4, seed=0, grad=True), randn(B, T, 6, seed=1)
    loss_fn = build_loss("hidden-mse")
    b = batch(hidden={6: teacher})
    with torch.inference_mode():
        loss_fn({"hidden_states": (student.detach(),)}, b)
    loss_fn({"hidden_states": (student,)}, b).backward()
    assert all(p.grad is not None for p in loss_fn.parameters())


# --- hidden-cosine


def test_hidden_cosine_is_zero_for_identical_states_and_learns_no_projection():
    states = randn(B, T, 6, seed=0, grad=True)
    loss_fn = build_loss("hidden-cosine", layer_map="-1:6")
    got = loss_fn({"hidden_states": (states,)}, batch(hidden={6: states.detach().clone()}))
    assert abs(got.item()) < 1e-6
    assert list(loss_fn.parameters()) == []


def test_hidden_cosine_by_hand_tokens_and_pooled():
    student, teacher = randn(B, T, 6, seed=0), randn(B, T, 6, seed=1)
    b = batch(hidden={6: teacher})
    got = build_loss("hidden-cosine")({"hidden_states": (student,)}, b)
    real = MASK.bool()
    expected = (1 - F.cosine_similarity(student[real], teacher[real], dim=-1)).mean()
    torch.testing.assert_close(got, expected)
    flat = randn(B, 6, seed=2)
    got = build_loss("hidden-cosine", pooling="cls")({"hidden_states": (flat,)}, b)
    torch.testing.assert_close(got, (1 - F.cosine_similarity(flat, teacher[:, 0])).mean())


def test_hidden_cosine_projects_when_widths_differ():
    student = randn(B, 4, seed=0, grad=True)
    loss_fn = build_loss("hidden-cosine")
    value = loss_fn({"hidden_states": (student,)}, batch(hidden={6: randn(B, T, 6, seed=1)}))
    assert [tuple(p.shape) for p in loss_fn.parameters()] == [(6, 4), (6,)]
    value.backward()
    assert all(p.grad is not None for p in loss_fn.parameters())


# --- attention-mse


def attention_by_hand(student, teacher, mask):
    real = mask.bool()
    pair = real[:, :, None] & real[:, None, :]  # [B, T, T]
    pair = pair[:, None].expand_as(student)
    return F.mse_loss(student[pair], teacher[pair])


def test_attention_mse_per_head_over_real_tokens():
    student, teacher = attention_maps(3, 0), attention_maps(3, 1)
    b = batch(attentions={6: teacher})
    got = build_loss("attention-mse", heads="per-head")({"attentions": (student,)}, b)
    torch.testing.assert_close(got, attention_by_hand(student, teacher, MASK))


def test_attention_mse_head_mean_and_layer_pairs():
    s1, s2 = attention_maps(2, 0), attention_maps(2, 1)
    t3, t6 = attention_maps(4, 2), attention_maps(4, 3)
    b = batch(attentions={3: t3, 6: t6})
    got = build_loss("attention-mse", layer_map="1:3,-1:6")({"attentions": (s1, s2)}, b)

    def mean(x):
        return x.mean(1, keepdim=True)

    expected = (
        attention_by_hand(mean(s1), mean(t3), MASK) + attention_by_hand(mean(s2), mean(t6), MASK)
    ) / 2
    torch.testing.assert_close(got, expected)


def test_attention_mse_ignores_padding_rows_and_columns():
    student, teacher = attention_maps(2, 0), attention_maps(2, 1)
    loss_fn = build_loss("attention-mse")
    before = loss_fn({"attentions": (student,)}, batch(attentions={6: teacher}))
    noisy = teacher.clone()
    pad = ~MASK.bool()
    noisy[pad[:, None, :, None].expand_as(noisy)] = 9.0
    noisy[pad[:, None, None, :].expand_as(noisy)] = 9.0
    after = loss_fn({"attentions": (student,)}, batch(attentions={6: noisy}))
    torch.testing.assert_close(after, before)


def test_attention_mse_refuses_unaligned_tokens_and_unequal_heads():
    b = batch(attentions={6: attention_maps(2, 1)})
    longer = attention_maps(2, 0, mask=torch.ones(B, T + 2, dtype=torch.long))
    with pytest.raises(BenchError, match="covers 7 tokens, the teacher's 5"):
        build_loss("attention-mse")({"attentions": (longer,)}, b)
    with pytest.raises(BenchError, match="equal head counts.*student has 3 and the teacher 2"):
        build_loss("attention-mse", heads="per-head")({"attentions": (attention_maps(3, 0),)}, b)
    with pytest.raises(BenchError, match="no attentions"):
        build_loss("attention-mse")({"logits": randn(B, C)}, b)
    with pytest.raises(BenchError, match="student attention layer 3.*returned 1"):
        build_loss("attention-mse", layer_map="3:6")({"attentions": (attention_maps(2, 0),)}, b)


# --- kd-soft schedule


def kd_by_hand(student, teacher, t):
    p_t = torch.softmax(teacher / t, -1)
    return t * t * (p_t * (p_t.log() - torch.log_softmax(student / t, -1))).sum(-1).mean()


def test_kd_soft_temperature_schedule_runs_from_start_to_end():
    student, teacher = randn(5, C, seed=0), randn(5, C, seed=1)
    loss_fn = build_loss("kd-soft", temperature=4.0, temperature_end=1.0, alpha=1.0)
    b = batch(teacher, mask=torch.ones(5, 2))
    for progress, t in [(0.0, 4.0), (0.5, 2.5), (1.0, 1.0)]:
        b.progress = progress
        torch.testing.assert_close(loss_fn({"logits": student}, b), kd_by_hand(student, teacher, t))


def test_kd_soft_alpha_schedule_and_constant_default():
    student, teacher = randn(4, C, seed=0), randn(4, C, seed=1)
    b = batch(teacher, mask=torch.ones(4, 2))
    b.labels = torch.tensor([2, IGNORE, 0, IGNORE])
    soft = kd_by_hand(student, teacher, 2.0)
    hard = F.cross_entropy(student[[0, 2]], b.labels[[0, 2]])
    loss_fn = build_loss("kd-soft", alpha=0.2, alpha_end=1.0)
    constant = build_loss("kd-soft", alpha=0.2)
    for progress, alpha in [(0.0, 0.2), (0.5, 0.6), (1.0, 1.0)]:
        b.progress = progress
        torch.testing.assert_close(
            loss_fn({"logits": student}, b), alpha * soft + (1 - alpha) * hard
        )
        torch.testing.assert_close(constant({"logits": student}, b), 0.2 * soft + 0.8 * hard)


def test_kd_soft_schedule_values_are_checked():
    with pytest.raises(BenchError, match="'temperature_end' must be > 0"):
        build_loss("kd-soft", temperature_end=0.0)
    with pytest.raises(BenchError, match="'alpha_end' must be in"):
        build_loss("kd-soft", alpha_end=2.0)


# --- spec-side: teacher_features and layer_map parsing


def test_teacher_features_name_the_mapped_layers():
    assert teacher_features("hidden-mse") == ((6,), False)
    assert teacher_features("hidden-mse", layer_map="2:4, 4:6, -1:4") == ((4, 6), False)
    assert teacher_features("hidden-cosine", layer_map="0:0") == ((0,), False)
    assert teacher_features("attention-mse", layer_map="1:3,2:6") == ((3, 6), True)
    for name in ("ce-hard", "kd-soft", "mse-logits", "hard-distill"):
        assert REGISTRY.get("losses", name).teacher_features is None


@pytest.mark.parametrize(
    "name, layer_map, message",
    [
        ("hidden-mse", "6", "must be comma-separated student:teacher"),
        ("hidden-mse", "a:b", "must be comma-separated student:teacher"),
        ("hidden-mse", "1:2,", "must be comma-separated student:teacher"),
        ("hidden-mse", "1:2:3", "must be comma-separated student:teacher"),
        ("hidden-cosine", "-1:-1", "teacher layer -1 in '-1:-1' must be >= 0"),
        ("hidden-mse", "1:2,1:2", "given twice"),
        ("attention-mse", "1:0", "teacher layer 0 in '1:0' must be >= 1"),
        ("attention-mse", "0:6", "student layer 0"),
    ],
)
def test_layer_map_errors_name_the_option(name, layer_map, message):
    spec = REGISTRY.get("losses", name)
    # planning refuses the map where the entry is resolved (spec.validate) ...
    with pytest.raises(BenchError, match=message) as info:
        spec.resolve({"layer_map": layer_map}, f"m.toml: loss {name!r}")
    assert str(info.value).startswith(f"m.toml: loss {name!r}: option 'layer_map'")
    # ... and the factory and teacher_features still name the loss when called directly
    options = {o.name: o.default for o in spec.options} | {"layer_map": layer_map}
    for call in (spec.factory, spec.teacher_features):
        with pytest.raises(BenchError, match=message) as info:
            call(options)
        assert f"loss {name!r}: option 'layer_map'" in str(info.value)


def test_registering_the_losses_does_not_import_the_torch_classes():
    """Registration stays cheap: the module classes are built on first use only."""
    import subprocess
    import sys

    code = (
        "import sys; from distill_bench.plugin_api.registry import load_registry; load_registry(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_ce_hard_on_a_batch_without_gold_labels_is_zero_not_nan():
    # a staged loss's last part (XtremeDistil's gold labels) meets batches of unlabelled
    # transfer text: they must add nothing, not stop training with a NaN loss
    student = randn(3, C, seed=0, grad=True)
    loss = build_loss("ce-hard")({"logits": student}, batch(randn(3, C, seed=1)))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(student.grad, torch.zeros_like(student))
    labelled = batch(randn(3, C, seed=1))
    labelled.labels = torch.tensor([1, IGNORE, 3])
    torch.testing.assert_close(
        build_loss("ce-hard")({"logits": student}, labelled),
        F.cross_entropy(student[[0, 2]], labelled.labels[[0, 2]]),
    )
