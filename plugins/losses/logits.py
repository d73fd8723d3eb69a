"""The logit losses: cross-entropy on gold labels, softened KL, logit MSE, pseudo-label CE.

Each function takes a loss's resolved options (ranges already checked by the spec) and
returns ``loss(student_out, batch)``; the plugin's factories import this module (and
torch) only when a run builds a loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def noisy_teacher(options):
    """Sau and Balasubramanian 2016 (noisy teachers as a regulariser): for a share
    ``noise_share`` of a batch's examples each teacher logit z becomes (1 + xi) z,
    xi ~ N(0, noise^2), drawn from torch's generator (seeded by the training loop).
    ``noise`` 0 (the default) returns the teacher's logits untouched."""
    sigma, share = options.get("noise", 0.0), options.get("noise_share", 1.0)

    def perturb(logits):
        if sigma <= 0:
            return logits
        xi = torch.randn_like(logits) * sigma
        chosen = torch.rand(logits.shape[0], 1, device=logits.device) < share
        return logits * (1.0 + xi * chosen)

    return perturb


def ce_hard(options):
    smoothing = options.get("label_smoothing", 0.0)

    def loss(student_out, batch):
        logits = student_out["logits"]
        if not bool((batch.labels != -100).any()):
            # a batch of unlabelled transfer text (a staged loss's gold-label part): nothing
            # to learn here, where cross-entropy over no targets would be NaN
            return logits.sum() * 0.0
        return F.cross_entropy(logits, batch.labels, ignore_index=-100, label_smoothing=smoothing)

    return loss


def kd_soft(options):
    t0, a0 = options["temperature"], options["alpha"]
    # -1 (the default) means "same as the start value": a constant schedule.
    t1 = t0 if options["temperature_end"] == -1.0 else options["temperature_end"]
    a1 = a0 if options["alpha_end"] == -1.0 else options["alpha_end"]
    # ranges: the spec's Option bounds and validate, checked when the entry is resolved
    teacher = noisy_teacher(options)

    def loss(student_out, batch):
        logits = student_out["logits"]
        # schedule: linear in the share of training done (constant when start == end)
        p = min(max(float(getattr(batch, "progress", 0.0)), 0.0), 1.0)
        t, alpha = t0 + (t1 - t0) * p, a0 + (a1 - a0) * p
        # Hinton et al. 2015: KL between softened distributions, scaled by T^2 so its
        # gradients keep their size as T changes.
        soft = F.kl_div(
            F.log_softmax(logits / t, dim=-1),
            F.log_softmax(teacher(batch.teacher_logits) / t, dim=-1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)
        labelled = batch.labels != -100
        if alpha >= 1.0 or not bool(labelled.any()):
            return soft
        hard = F.cross_entropy(logits[labelled], batch.labels[labelled])
        return alpha * soft + (1.0 - alpha) * hard

    return loss


def mse_logits(options):
    teacher = noisy_teacher(options)

    def loss(student_out, batch):
        # Tang et al. 2019: regress the teacher's logits directly.
        return F.mse_loss(student_out["logits"], teacher(batch.teacher_logits))

    return loss


def hard_distill(options):
    confidence = options["confidence"]  # in [0, 1]: its Option's bounds

    def loss(student_out, batch):
        # Mukherjee & Hassan Awadallah 2020: cross-entropy on the teacher's argmax
        # (pseudo-labels), optionally only where the teacher is confident enough.
        logits = student_out["logits"]
        probs = batch.teacher_logits.detach().float().softmax(dim=-1)
        top, pseudo = probs.max(dim=-1)
        keep = top >= confidence
        if not bool(keep.any()):
            return logits.sum() * 0.0  # nothing confident: a zero still tied to the graph
        return F.cross_entropy(logits[keep], pseudo[keep].to(logits.device))

    return loss
