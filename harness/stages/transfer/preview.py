"""``bench augment preview``: a few training sentences next to what an augmenter makes.

The augmenter runs as in a matrix (the same build, leakage and duplicate removal) on a
seeded sample of the dataset's training split (``pool`` sentences: tang's unigram table
comes from them), so a preview takes seconds. An augmenter that reads the teacher (eda)
gets the teacher's pretrained folder here; a run uses the fine-tuned teacher. The CLI
(``distill_bench.cli.augment``) renders the ``Preview`` this returns.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.tasks import stratified_indices
from distill_bench.stages.transfer.build import (
    LABELLED,
    AugmentContext,
    make_transfer_set,
    split_options,
)


@dataclass(frozen=True)
class Preview:
    augmenter: str
    dataset: str
    pool: int  # training sentences the augmenter ran on
    made: int  # texts it made that survived leakage and duplicate removal
    pairs: tuple[tuple[str, tuple[str, ...]], ...]  # (original, its augmentations)
    unrelated: tuple[str, ...] = ()  # texts not made from an original (unlabelled text)
    note: str = ""


def _teacher_loaders(registry, teacher: str) -> dict[str, Any]:
    # imports torch: only an augmenter that reads the teacher's embeddings needs it
    from distill_bench.stages.student.from_teacher import teacher_embedding_table

    spec = registry.get("teachers", teacher)
    model = spec.factory(spec.resolve({}, f"teacher {teacher!r}"))
    path = getattr(model, "path", None)
    if path is None or not Path(path, "tokenizer.json").is_file():
        raise BenchError(
            f"teacher {teacher!r} has no local model folder with a tokenizer.json to preview with"
        )
    return dict(
        load_teacher_tokenizer=lambda: model.tokenizer(path),
        load_teacher_embeddings=lambda: teacher_embedding_table(Path(path)).numpy(),
    )


def preview(
    registry,
    name: str,
    dataset: str,
    options: Mapping[str, Any],
    data_dir: Path | None,
    n: int = 5,
    per_example: int = 3,
    pool: int = 2000,
    seed: int = 0,
    teacher: str = "minilm-l6",
    dataset_options: Mapping[str, Any] | None = None,
) -> Preview:
    spec = registry.get("augmenters", name)
    own, transfer_options = split_options(spec, spec.resolve(dict(options), f"augmenter {name!r}"))
    data_spec = registry.get("datasets", dataset)
    task = data_spec.factory(
        data_spec.resolve(dict(dataset_options or {}), f"dataset {dataset!r}"), data_dir
    )
    train = task.train
    if pool and len(train) > pool:
        train = train.take(stratified_indices(train.labels, pool, seed))
    task = dataclasses.replace(task, train=train)
    teacher_loaders = _teacher_loaders(registry, teacher) if spec.needs_teacher else {}
    ctx = AugmentContext(
        task, transfer_options.augment_seed(seed), data_dir, augmenter=name, **teacher_loaders
    )
    transfer, _ = make_transfer_set(
        name, spec.factory(own), ctx, dataclasses.replace(transfer_options, size="")
    )
    labelled = dict(transfer.composition).get(LABELLED, 0)
    made = len(transfer) - labelled
    note = f"synonyms from the pretrained {teacher}" if spec.needs_teacher else ""
    rng = random.Random(seed)
    if not transfer.origins:  # unlabelled text: not made from any original
        shown = sorted(rng.sample(range(labelled, len(transfer)), min(n, made)))
        originals = rng.sample(list(train.texts), min(n, len(train)))
        return Preview(
            augmenter=name,
            dataset=dataset,
            pool=len(train),
            made=made,
            pairs=tuple((text, ()) for text in originals),
            unrelated=tuple(transfer.texts[i] for i in shown),
            note=note,
        )
    by_origin: dict[int, list[str]] = defaultdict(list)
    for text, origin in zip(transfer.texts[labelled:], transfer.origins[labelled:], strict=True):
        by_origin[origin].append(text)
    chosen = sorted(rng.sample(sorted(by_origin), min(n, len(by_origin))))
    pairs = tuple(
        (train.texts[i], tuple(rng.sample(by_origin[i], min(per_example, len(by_origin[i])))))
        for i in chosen
    )
    return Preview(
        augmenter=name, dataset=dataset, pool=len(train), made=made, pairs=pairs, note=note
    )
