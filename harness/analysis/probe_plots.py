"""The probing figure of a dataset: each probe's test accuracy by layer, one line per entry
(a model with one pooled layer is one point at the top), the majority baseline dashed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from distill_bench.analysis.probes import ProbeRuns
from distill_bench.report.plots import pyplot, save_figure

COLUMNS = 5


def write_probe_plot(
    entries: Sequence[ProbeRuns], probes: Sequence[str], chance: Mapping[str, float], stem: Path
) -> str:
    """Writes ``{stem}.png``; returns its file name. The x axis is relative depth (0: the
    embeddings, 1: the top layer), so a 3-layer student and a 6-layer teacher line up."""
    plt = pyplot()
    rows = -(-len(probes) // COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(3.2 * COLUMNS, 2.8 * rows), squeeze=False)
    for ax, probe in zip(axes.flat, probes, strict=False):
        for i, e in enumerate(entries):
            layers = e.layers()
            xs = [k / (len(layers) - 1) for k in range(len(layers))] if len(layers) > 1 else [1.0]
            ys = [e.score(probe, layer).mean for layer in layers]
            style = "-o" if len(layers) > 1 else "s"
            ax.plot(xs, ys, style, color=f"C{i}", markersize=4, label=e.entry)
        ax.axhline(chance[probe], color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(probe.replace("_", " "), fontsize=9)
        ax.set_xlim(-0.05, 1.05)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(probes) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("relative depth (0: embeddings)", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) // 4), 1, 1))
    stem.parent.mkdir(parents=True, exist_ok=True)
    save_figure(plt, fig, stem)
    return stem.name + ".png"
