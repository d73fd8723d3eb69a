"""Transfer sets: what every augmenter has in common, done once by the harness.

An augmenter plugin's ``build(ctx)`` makes text: augmentations of the labelled examples
(tang, eda) or unlabelled in-domain text (unlabeled). ``make_transfer_set`` turns that
into the transfer set, the same way for every augmenter:

1. the labelled training examples come first, with their gold labels
   (``include_labelled``), then the augmenter's texts;
2. no leakage: every text equal to a selection or evaluation text (after case and
   whitespace normalisation) is removed, and counted;
3. ``dedup``: a repeated text is kept once (a labelled example wins over an equal
   augmentation, so its gold label stays);
4. size: the target (``size``: a multiple of the labelled set or a count) capped by
   ``[budget].max_transfer_examples``; the labelled part is kept whole (a seeded,
   stratified sample of it when the target is smaller), the augmenter's part is a
   seeded uniform sample of what is left to fill.

The teacher-confidence filter (``confidence_filter``) needs the teacher's logits, so it
runs after annotation, where the student stage reads the transfer set.

No torch here; numpy only inside ``confidence_filter``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import is_pair_task
from distill_bench.plugin_api.specs import (
    FILTER_OPTIONS,
    TRANSFER_OPTIONS,
    AugmenterSpec,
    parse_size,
)
from distill_bench.plugin_api.tasks import UNLABELLED, TaskData, TransferSet, stratified_indices

LABELLED = "labelled"  # the composition's name for the labelled examples


@dataclass(frozen=True)
class AugmentContext:
    """What an augmenter's ``build`` reads.

    ``task``: the cell's task data (``train`` is the labelled set to augment; ``unlabelled``
    the dataset's own pool). ``seed``: the augmentation seed. ``data_dir``: the local data
    directory or None (named corpora load from the Hub then). ``max_examples``: the most
    the harness keeps from this build (None = no limit); a hint that lets an expensive
    augmenter stop early, never a promise. ``teacher_tokenizer()`` and
    ``teacher_embeddings()`` load the cell's fine-tuned teacher's ``tokenizers.Tokenizer``
    and input-embedding table (numpy float32 [vocab, hidden]) on first call; only an
    augmenter whose spec says ``needs_teacher=True`` may call them.
    """

    task: TaskData
    seed: int
    data_dir: Path | None = None
    max_examples: int | None = None
    augmenter: str = ""
    load_teacher_tokenizer: Callable[[], Any] | None = field(
        default=None, repr=False, compare=False
    )
    load_teacher_embeddings: Callable[[], Any] | None = field(
        default=None, repr=False, compare=False
    )

    def _teacher(self, loader: Callable[[], Any] | None) -> Any:
        if loader is None:
            raise BenchError(
                f"augmenter {self.augmenter!r} reads the teacher, but its spec does not say "
                "needs_teacher=True (so its transfer set would be shared across teachers)"
            )
        return loader()

    def teacher_tokenizer(self):
        return self._teacher(self.load_teacher_tokenizer)

    def teacher_embeddings(self):
        return self._teacher(self.load_teacher_embeddings)


@dataclass(frozen=True)
class TransferOptions:
    """The options every augmenter takes (``specs.TRANSFER_OPTIONS``), resolved."""

    size: str = ""
    seed: int = -1
    dedup: bool = True
    include_labelled: bool = True
    min_confidence: float = 0.0
    unsure: str = "drop"
    unsure_weight: float = 0.5

    def augment_seed(self, cell_seed: int) -> int:
        return cell_seed if self.seed < 0 else self.seed

    def target(self, labelled: int, cap: int | None) -> int | None:
        """How many examples the transfer set holds at most (None = no limit)."""
        parsed = parse_size(self.size)
        target = None
        if parsed is not None:
            kind, value = parsed
            target = math.ceil(value * labelled) if kind == "factor" else int(value)
        if cap is not None:
            target = cap if target is None else min(target, cap)
        return target

    @property
    def filtering(self) -> bool:
        return self.min_confidence > 0

    def filter_config(self) -> dict[str, Any]:
        """What the student stage's key reads (the filter changes students, not the set)."""
        return {name: getattr(self, name) for name in sorted(FILTER_OPTIONS)}


def split_options(spec: AugmenterSpec, options: Mapping[str, Any]) -> tuple[dict, TransferOptions]:
    """(the plugin's own options, the common ones) of a resolved augmenter entry."""
    common = {o.name for o in TRANSFER_OPTIONS}
    own = {k: v for k, v in options.items() if k not in common}
    transfer = TransferOptions(**{k: v for k, v in options.items() if k in common})
    return own, transfer


def normalise(text: str) -> str:
    """What counts as the same text: case and whitespace ignored."""
    return " ".join(text.lower().split())


def make_transfer_set(
    name: str,
    build: Callable[[AugmentContext], TransferSet],
    ctx: AugmentContext,
    options: TransferOptions,
    cap: int | None = None,
) -> tuple[TransferSet, dict[str, Any]]:
    """The transfer set of augmenter ``name`` (see the module docstring) and what happened
    on the way (counts of leaked, repeated and sampled-out texts), for the stage's info."""
    task = ctx.task
    forbidden = {normalise(t) for t in (*task.select.texts, *task.evaluation.texts)}
    seen: set[str] = set()
    counts = {"leaked": {LABELLED: 0, name: 0}, "duplicates": {LABELLED: 0, name: 0}}

    def keep(texts: Sequence[str], part: str) -> list[int]:
        kept = []
        for i, text in enumerate(texts):
            key = normalise(text)
            if key in forbidden:
                counts["leaked"][part] += 1
            elif options.dedup and key in seen:
                counts["duplicates"][part] += 1
            else:
                seen.add(key)
                kept.append(i)
        return kept

    target = options.target(len(task.train), cap)
    # 1. the labelled examples (leakage and repeats out), a stratified sample if too many
    labelled = keep(task.train.texts, LABELLED) if options.include_labelled else []
    if target is not None and len(labelled) > target:
        picked = stratified_indices([task.train.labels[i] for i in labelled], target, ctx.seed)
        labelled = [labelled[j] for j in picked]
    room = None if target is None else target - len(labelled)
    # 2. the augmenter's texts, then the same checks and a uniform sample to fill the room
    if room == 0:
        made = TransferSet((), ())
    else:
        made = build(dataclasses.replace(ctx, max_examples=room, augmenter=name))
    if len(made.texts) != len(made.labels) or (made.origins and len(made.origins) != len(made)):
        raise BenchError(f"augmenter {name!r}: texts, labels and origins differ in length")
    if made.texts and is_pair_task(made.texts) != is_pair_task(task.train.texts):
        kinds = ("single sentences", "sentence pairs")
        raise BenchError(
            f"augmenter {name!r}: made {kinds[is_pair_task(made.texts)]} for dataset "
            f"{task.name!r}, whose texts are {kinds[is_pair_task(task.train.texts)]}; "
            "expected the dataset's kind (a corpus of single sentences cannot feed a pair task)"
        )
    generated = keep(made.texts, name)
    sampled_out = 0
    if room is not None and len(generated) > room:
        sampled_out = len(generated) - room
        generated = sorted(random.Random(ctx.seed).sample(generated, room))
    texts = [task.train.texts[i] for i in labelled] + [made.texts[i] for i in generated]
    if not texts:
        raise BenchError(
            f"augmenter {name!r}: the transfer set is empty (include_labelled = false and the "
            "augmenter made no text that survived leakage and duplicate removal)"
        )
    labels = [task.train.labels[i] for i in labelled] + [made.labels[i] for i in generated]
    origins = ()
    if made.origins:
        origins = tuple(labelled) + tuple(made.origins[i] for i in generated)
    composition = tuple(
        (part, n) for part, n in ((LABELLED, len(labelled)), (name, len(generated))) if n
    )
    transfer = TransferSet(
        tuple(texts),
        tuple(labels),
        source=made.source or name,
        origins=origins,
        composition=composition,
    )
    info = {
        "size": len(transfer),
        "composition": transfer.describe(),
        "generated": len(made.texts),
        "target": target,
        "leaked_removed": sum(counts["leaked"].values()),
        "leaked_removed_by_part": counts["leaked"],
        "duplicates_removed": sum(counts["duplicates"].values()),
        "duplicates_removed_by_part": counts["duplicates"],
        "sampled_out": sampled_out,
        "gold_labelled": sum(1 for y in labels if y != UNLABELLED),
        "source": transfer.source,
    }
    return transfer, info


def confidence_filter(logits, options: TransferOptions, seed: int):
    """(indices kept, info) of a transfer set whose teacher logits are ``logits``.

    An example is unsure when the teacher's softmax max-probability is under
    ``min_confidence``. ``drop`` removes the unsure ones; ``downweight`` keeps a seeded
    share ``unsure_weight`` of them, which gives them that weight in the loss in
    expectation (the loss contract has no per-example weights)."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    probs = np.exp(z)
    confidence = (probs / probs.sum(axis=1, keepdims=True)).max(axis=1)
    unsure = confidence < options.min_confidence
    if options.unsure == "drop":
        kept = ~unsure
    else:
        kept = ~unsure | (np.random.default_rng(seed).random(len(z)) < options.unsure_weight)
    if not kept.any():
        raise BenchError(
            f"min_confidence = {options.min_confidence}: the teacher is unsure of every one of "
            f"the {len(z)} transfer examples, so nothing is left to distil on"
        )
    info = {
        "min_confidence": options.min_confidence,
        "action": options.unsure,
        "examples": len(z),
        "unsure": int(unsure.sum()),
        "removed": int((~kept).sum()),
        "kept": int(kept.sum()),
    }
    if options.unsure == "downweight":
        info["unsure_weight"] = options.unsure_weight
    return np.flatnonzero(kept), info


class IndexedFeatures:
    """Teacher features of a filtered transfer set: batch indices mapped back to the
    positions the features were annotated at."""

    def __init__(self, features, kept: Sequence[int]):
        self.features, self.kept = features, list(kept)

    def batch(self, indices: Sequence[int], device) -> dict:
        return self.features.batch([self.kept[i] for i in indices], device)


def row_metrics(
    transfer: TransferSet, transfer_info: Mapping[str, Any], student_info: Mapping[str, Any]
) -> dict[str, Any]:
    """What a result row records about its transfer set: composition, what the transfer
    stage removed (selection/evaluation texts, repeats), and what the filter removed."""
    metrics: dict[str, Any] = {
        "transfer_composition": transfer.describe(),
        "transfer_leaked_removed": transfer_info.get("leaked_removed"),
        "transfer_duplicates_removed": transfer_info.get("duplicates_removed"),
    }
    filtered = student_info.get("confidence_filter")
    if filtered:
        metrics["transfer_unsure"] = filtered["unsure"]
        metrics["transfer_filtered_out"] = filtered["removed"]
        metrics["transfer_after_filter"] = filtered["kept"]
    if "embedding_coverage" in student_info:  # embedding_init = "glove": the words it found
        metrics["embedding_coverage"] = student_info["embedding_coverage"]
    return metrics
