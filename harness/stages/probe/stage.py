"""The two probing stages, cached like the rest: a dataset's probe sets (parsed once) and
one model's probe scores on every layer it exposes (its sentence vectors computed once
over the sets' distinct sentences, then one probe per layer and task)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.stages.probe.classify import majority, probe_layer
from distill_bench.stages.probe.parse import parse, sample_pool
from distill_bench.stages.probe.plan import ProbeConfig
from distill_bench.stages.probe.represent import Forward, sentence_vectors
from distill_bench.stages.probe.tasks import ProbeSet, build_probe_sets
from distill_bench.store.cache import Cache, read_json, write_json

SETS_FILE, SCORES_FILE = "probe_sets.json", "probes.json"


def probe_sets(
    cache: Cache,
    key: str,
    texts: Callable[[], Sequence[str]],
    config: ProbeConfig,
    progress: Progress = quiet,
) -> dict[str, ProbeSet]:
    """The dataset's probe sets, built from ``texts()`` (its training text) on a miss."""

    def build(out: Path) -> None:
        start = time.perf_counter()
        pool = sample_pool(texts(), config.pool, config.seed)
        progress.log(f"parsing {len(pool)} sentences for the probe sets")
        sets = build_probe_sets(parse(pool), config.per_probe, config.seed)
        write_json(
            out / SETS_FILE,
            {
                "sets": {name: asdict(s) for name, s in sets.items()},
                "pool": len(pool),
                "seconds": round(time.perf_counter() - start, 1),
            },
        )

    entry, _ = cache.get_or_compute("probe_sets", key, build)
    saved = read_json(entry / SETS_FILE)["sets"]
    return {name: ProbeSet(**{k: v if k in ("name", "note") else tuple(v) for k, v in s.items()})
            for name, s in saved.items()}  # fmt: skip


def probe_scores(
    cache: Cache,
    key: str,
    sets: dict[str, ProbeSet],
    forward: Callable[[], Forward],
    config: ProbeConfig,
    progress: Progress = quiet,
) -> dict:
    """``{"scores": {probe: {layer: ProbeScore as a dict}}, "majority": {probe: acc},
    "sentences": n, "seconds": {...}}`` for the model ``forward()`` loads."""

    def score(out: Path) -> None:
        write_json(out / SCORES_FILE, score_model(sets, forward(), config, progress))

    entry, _ = cache.get_or_compute("probe", key, score)
    return read_json(entry / SCORES_FILE)


def score_model(
    sets: dict[str, ProbeSet], forward: Forward, config: ProbeConfig, progress: Progress
) -> dict:
    """Every layer probed on every built set: sentence vectors once, then the probes."""
    texts = sorted({t for s in sets.values() for t in s.texts})  # each sentence once
    start = time.perf_counter()
    vectors = sentence_vectors(forward, texts, config.batch_size)
    encoded = time.perf_counter()
    row_of = {t: i for i, t in enumerate(texts)}
    scores, baseline = {}, {}
    for name, s in sets.items():
        if not s.texts:
            continue
        rows = np.fromiter((row_of[t] for t in s.texts), dtype=np.int64)
        labels, split = np.asarray(s.labels), np.asarray(s.split)
        baseline[name] = majority(labels, split)
        scores[name] = {
            layer: asdict(probe_layer(v[rows], labels, split, config.classifier, config.seed))
            for layer, v in vectors.items()
        }
        progress.log(
            f"  {name}: " + ", ".join(f"{k} {v['test']:.1f}" for k, v in scores[name].items())
        )
    return {
        "scores": scores,
        "majority": baseline,
        "layers": list(vectors),
        "sentences": len(texts),
        "seconds": {
            "vectors": round(encoded - start, 1),
            "probes": round(time.perf_counter() - encoded, 1),
        },
    }
