"""Gradual unfreezing within each stage of a staged loss (XtremeDistil, after Howard and
Ruder 2018): a stage starts with only the student's top layer group trainable and unfreezes
one more group, downwards, at each equal share of the stage.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """The student's parameters in groups from the top (output) down: ``model.layer_groups()``
    when the student defines it, else its direct submodules in reverse order of definition
    (the built-in embedding students define the embedding first, the classifier last)."""
    own = getattr(model, "layer_groups", None)
    if own is not None:
        return [list(group) for group in own()]
    groups = [list(child.parameters()) for child in model.children()]
    return [g for g in reversed(groups) if g]


class GradualUnfreezing:
    """Sets ``requires_grad`` of the groups for a point of training (``apply(progress)``):
    frozen parameters get no gradient, so the optimizers leave them as they are."""

    def __init__(self, model: nn.Module, stages: Sequence[float]):
        # only what trains anyway: a frozen embedding (freeze_embeddings) stays frozen
        groups = [[p for p in group if p.requires_grad] for group in layer_groups(model)]
        self.groups = [group for group in groups if group]
        self.bounds = [0.0, *stages, 1.0]
        self.trainable = -1  # groups trainable now, from the top

    def count(self, progress: float) -> int:
        """How many groups from the top train at ``progress`` (share of training done)."""
        stage = sum(progress >= b for b in self.bounds[1:-1])
        start, end = self.bounds[stage], self.bounds[stage + 1]
        share = (progress - start) / (end - start)
        return min(len(self.groups), 1 + int(share * len(self.groups)))

    def apply(self, progress: float) -> None:
        wanted = self.count(progress)
        if wanted == self.trainable:
            return
        for i, group in enumerate(self.groups):
            for parameter in group:
                parameter.requires_grad_(i < wanted)
        self.trainable = wanted

    def restore(self) -> None:
        """Every managed group trainable again, as before training."""
        for group in self.groups:
            for parameter in group:
                parameter.requires_grad_(True)
        self.trainable = len(self.groups)
