"""Built-in losses: the no-distillation baseline and the two classic logit objectives."""

from __future__ import annotations

from distill_bench import LossSpec, Option, hookimpl
from distill_bench.specs import GOLD_LABELS, TEACHER_LOGITS


def _ce_hard(options):
    import torch.nn.functional as F

    def loss(student_out, batch):
        return F.cross_entropy(student_out["logits"], batch.labels, ignore_index=-100)

    return loss


def _kd_soft(options):
    import torch.nn.functional as F

    t, alpha = options["temperature"], options["alpha"]

    def loss(student_out, batch):
        logits = student_out["logits"]
        # Hinton et al. 2015: KL between softened distributions, scaled by T^2 so its
        # gradients keep their size as T changes.
        soft = F.kl_div(
            F.log_softmax(logits / t, dim=-1),
            F.log_softmax(batch.teacher_logits / t, dim=-1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)
        labelled = batch.labels != -100
        if alpha >= 1.0 or not bool(labelled.any()):
            return soft
        hard = F.cross_entropy(logits[labelled], batch.labels[labelled])
        return alpha * soft + (1.0 - alpha) * hard

    return loss


def _mse_logits(options):
    import torch.nn.functional as F

    def loss(student_out, batch):
        # Tang et al. 2019: regress the teacher's logits directly.
        return F.mse_loss(student_out["logits"], batch.teacher_logits)

    return loss


@hookimpl
def register_losses(register):
    register(
        LossSpec(
            name="ce-hard",
            factory=_ce_hard,
            description="Cross-entropy on gold labels only: the no-distillation baseline.",
            uses=frozenset({GOLD_LABELS}),
        )
    )
    register(
        LossSpec(
            name="kd-soft",
            factory=_kd_soft,
            description="Hinton et al. 2015: KL on temperature-softened distributions (x T^2), mixed with gold-label CE.",
            options=(
                Option("temperature", float, 2.0, "softmax temperature T (>= 1 softens)"),
                Option(
                    "alpha", float, 0.5, "weight of the soft term; 1 - alpha goes to gold-label CE"
                ),
            ),
            uses=frozenset({GOLD_LABELS, TEACHER_LOGITS}),
        )
    )
    register(
        LossSpec(
            name="mse-logits",
            factory=_mse_logits,
            description="Tang et al. 2019: mean squared error between student and teacher logits.",
            uses=frozenset({TEACHER_LOGITS}),
        )
    )
