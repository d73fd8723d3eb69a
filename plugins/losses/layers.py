"""The intermediate-layer losses as torch modules: ``HiddenMatch`` and ``AttentionMSE``.

``HiddenMatch`` compares (learned-projected) student hidden states with teacher layers
(MSE or cosine; per token, mean or [CLS]); ``AttentionMSE`` compares attention maps over
real tokens only. Which layers are paired is the option ``layer_map`` (``layer_maps.py``);
the plugin's factories import this module (and torch) only when a run builds a loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from distill_bench import BenchError
from torch import nn


def _real_tokens(mask, like):
    """A float [B, L] mask of real tokens, ones where no mask was given."""
    if mask is None:
        return like.new_ones(like.shape[:2], dtype=torch.float32)
    return mask.to(device=like.device, dtype=torch.float32)


def _masked_mean(states, mask):
    """Mean of [B, L, D] states over the positions where mask [B, L] is 1 -> [B, D]."""
    mask = mask.to(states.dtype).unsqueeze(-1)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def _pick(items, index, loss, what, base):
    """items[index] with a clear error; ``base`` is 0 or 1 (how the option counts)."""
    position = index - base if index > 0 else index
    if not -len(items) <= position < len(items):
        raise BenchError(
            f"loss {loss!r}: option 'layer_map' names student {what} {index}, but the "
            f"student returned {len(items)} {what}s"
        )
    return items[position]


def _teacher_layer(features, layer, loss, what):
    if features is None:
        raise BenchError(
            f"loss {loss!r}: the batch carries no teacher {what}s; the harness must "
            "annotate the layers the spec's teacher_features names"
        )
    if layer not in features:
        raise BenchError(
            f"loss {loss!r}: teacher {what} layer {layer} was not annotated "
            f"(annotated: {sorted(features)}); check option 'layer_map' against the "
            "teacher's depth"
        )
    return features[layer]


class HiddenMatch(nn.Module):
    """Distance between (projected) student hidden states and teacher layers.

    ``metric``: "mse" (mean squared error, TinyBERT / XtremeDistil) or "cosine"
    (1 - cosine similarity, DistilBERT). ``project``: "always" (a learned linear map
    student dim -> teacher dim per layer pair) or "if-dims-differ". Projections are
    created on the first call, when both widths are known: call the loss once on a
    first batch before building the optimizer that should train them.
    """

    def __init__(self, name, pairs, pooling, metric, project):
        super().__init__()
        self.name, self.pairs, self.pooling = name, tuple(pairs), pooling
        self.metric, self.project = metric, project
        self.projections = nn.ModuleDict()

    def extra_repr(self):
        return f"{self.name}: pairs={self.pairs}, pooling={self.pooling!r}"

    def projection(self, key, student_dim, teacher_dim, like):
        if key not in self.projections:
            if self.project == "always" or student_dim != teacher_dim:
                # Real parameters even when the first call runs under inference_mode.
                with torch.inference_mode(False):
                    module = nn.Linear(
                        student_dim, teacher_dim, device=like.device, dtype=like.dtype
                    )
            else:
                module = nn.Identity()
            self.projections[key] = module
        return self.projections[key]

    def mode(self, student, teacher):
        aligned = student.dim() == 3 and student.shape[1] == teacher.shape[1]
        if self.pooling == "tokens" and not aligned:
            shape = tuple(student.shape)
            raise BenchError(
                f"loss {self.name!r}: pooling 'tokens' needs token-aligned states: a "
                f"[batch, {teacher.shape[1]}, dim] student hidden state, got {shape} "
                "(use a transformer student sharing the teacher's tokenizer with special "
                "tokens, or pooling 'mean' / 'cls')"
            )
        if self.pooling == "auto":
            return "tokens" if aligned else "mean"
        return self.pooling

    def forward(self, student_out, batch):
        states = student_out.get("hidden_states")
        if not states:
            raise BenchError(f"loss {self.name!r}: the student returned no hidden_states")
        terms = []
        for k, (s, t) in enumerate(self.pairs):
            student = _pick(states, s, self.name, "hidden state", base=0)
            teacher = _teacher_layer(batch.teacher_hidden, t, self.name, "hidden state")
            teacher = teacher.to(student.device)
            t_mask = _real_tokens(batch.teacher_mask, teacher)
            mode = self.mode(student, teacher)
            s_mask = None
            if student.dim() == 3 and tuple(batch.attention_mask.shape) == tuple(student.shape[:2]):
                s_mask = _real_tokens(batch.attention_mask, student)
            if mode == "tokens":
                mask = t_mask if s_mask is None else t_mask * s_mask
            else:
                mask = None
                if student.dim() == 3:  # mean over the student's real tokens
                    student = _masked_mean(student, _real_tokens(s_mask, student))
                teacher = teacher[:, 0] if mode == "cls" else _masked_mean(teacher, t_mask)
            proj = self.projection(str(k), student.shape[-1], teacher.shape[-1], student)
            terms.append(self.distance(proj(student).float(), teacher.float(), mask))
        return torch.stack(terms).mean()

    def distance(self, student, teacher, mask):
        if self.metric == "cosine":
            per = 1.0 - F.cosine_similarity(student, teacher, dim=-1)  # [B] or [B, T]
            if mask is None:
                return per.mean()
            return (per * mask).sum() / mask.sum().clamp(min=1.0)
        if mask is None:
            return F.mse_loss(student, teacher)
        per = (student - teacher).pow(2).sum(-1)  # [B, T]
        return (per * mask).sum() / (mask.sum() * student.shape[-1]).clamp(min=1.0)


class AttentionMSE(nn.Module):
    """TinyBERT's attention transfer: MSE between student and teacher attention maps
    over real tokens only (padding rows and columns excluded)."""

    def __init__(self, name, pairs, heads):
        super().__init__()
        self.name, self.pairs, self.heads = name, tuple(pairs), heads

    def extra_repr(self):
        return f"{self.name}: pairs={self.pairs}, heads={self.heads!r}"

    def forward(self, student_out, batch):
        maps = student_out.get("attentions")
        if not maps:
            raise BenchError(f"loss {self.name!r}: the student returned no attentions")
        terms = []
        for s, t in self.pairs:
            student = _pick(maps, s, self.name, "attention layer", base=1)
            teacher = _teacher_layer(batch.teacher_attentions, t, self.name, "attention")
            teacher = teacher.to(student.device)
            if student.shape[-1] != teacher.shape[-1]:
                raise BenchError(
                    f"loss {self.name!r}: student attention covers {student.shape[-1]} "
                    f"tokens, the teacher's {teacher.shape[-1]}: attention transfer needs "
                    "a transformer student sharing the teacher's tokenizer with special "
                    "tokens"
                )
            if self.heads == "per-head" and student.shape[1] != teacher.shape[1]:
                raise BenchError(
                    f"loss {self.name!r}: heads 'per-head' needs equal head counts, the "
                    f"student has {student.shape[1]} and the teacher {teacher.shape[1]} "
                    "(use heads 'mean')"
                )
            if self.heads == "mean":
                student = student.mean(1, keepdim=True)
                teacher = teacher.mean(1, keepdim=True)
            mask = _real_tokens(batch.teacher_mask, teacher[:, 0])
            if tuple(batch.attention_mask.shape) == tuple(mask.shape):
                mask = mask * _real_tokens(batch.attention_mask, teacher[:, 0])
            pair_mask = (mask[:, :, None] * mask[:, None, :]).unsqueeze(1)  # [B, 1, T, T]
            per = (student.float() - teacher.float()).pow(2) * pair_mask
            terms.append(per.sum() / (pair_mask.sum() * student.shape[1]).clamp(min=1.0))
        return torch.stack(terms).mean()
