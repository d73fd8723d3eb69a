"""A probe on one layer: a classifier over frozen sentence vectors, its L2 strength picked
on the dev split, scored on test (Conneau et al. 2018 report logistic regression and an
MLP with one hidden layer; both are here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)  # the paper's grid, coarser: four fits per layer
MLP_HIDDEN = 100  # the middle of the paper's [50, 100, 200]
MLP_STEPS = 300  # full-batch Adam steps: enough for 10k examples, seconds on a CPU


@dataclass(frozen=True)
class ProbeScore:
    dev: float  # accuracy x 100 at the chosen L2
    test: float
    n_test: int
    l2: float


def _model(kind: str, width: int, classes: int) -> nn.Module:
    if kind == "logreg":
        return nn.Linear(width, classes)
    return nn.Sequential(nn.Linear(width, MLP_HIDDEN), nn.Sigmoid(), nn.Linear(MLP_HIDDEN, classes))


def _fit(kind: str, x: torch.Tensor, y: torch.Tensor, classes: int, l2: float, seed: int):
    torch.manual_seed(seed)
    model = _model(kind, x.shape[1], classes)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]

    def loss_fn():
        return nn.functional.cross_entropy(model(x), y) + l2 * sum((w**2).sum() for w in weights)

    if kind == "logreg":  # convex: L-BFGS finds the optimum in a few dozen steps
        opt = torch.optim.LBFGS(model.parameters(), max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(MLP_STEPS):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
    return model


def probe_layer(
    features: np.ndarray, labels: np.ndarray, split: np.ndarray, kind: str = "logreg", seed: int = 0
) -> ProbeScore:
    """Standardise on train, fit one probe per L2 value, keep the best on dev, score test."""
    x = torch.from_numpy(features.astype(np.float32))
    y = torch.from_numpy(labels.astype(np.int64))
    parts = {s: torch.from_numpy(split == s) for s in ("train", "dev", "test")}
    mean, std = x[parts["train"]].mean(0), x[parts["train"]].std(0).clamp(min=1e-6)
    x = (x - mean) / std
    classes = int(labels.max()) + 1

    def accuracy(model, part):
        with torch.no_grad():
            return 100.0 * (model(x[parts[part]]).argmax(1) == y[parts[part]]).float().mean().item()

    best = None
    for l2 in L2_GRID:
        model = _fit(kind, x[parts["train"]], y[parts["train"]], classes, l2, seed)
        dev = accuracy(model, "dev")
        if best is None or dev > best[0]:
            best = (dev, accuracy(model, "test"), l2)
    dev, test, l2 = best
    return ProbeScore(dev, test, int(parts["test"].sum()), l2)


def majority(labels: np.ndarray, split: np.ndarray) -> float:
    """The test accuracy of always answering train's most frequent class."""
    most = np.bincount(labels[split == "train"]).argmax()
    return 100.0 * float((labels[split == "test"] == most).mean())
