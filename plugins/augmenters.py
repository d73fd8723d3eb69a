"""Built-in augmenters: how the transfer set is made."""

from __future__ import annotations

from distill_bench import AugmenterSpec, hookimpl
from distill_bench.data import TransferSet, stratified_indices


def _none(options):
    def build(task, seed, max_examples):
        train = task.train
        if max_examples is not None and max_examples < len(train):
            train = train.take(stratified_indices(train.labels, max_examples, seed))
        return TransferSet(
            train.texts, train.labels, source=f"{task.name} train ({len(train)} labelled)"
        )

    return build


@hookimpl
def register_augmenters(register):
    register(
        AugmenterSpec(
            name="none",
            factory=_none,
            description="No augmentation: the transfer set is the labelled training set.",
            gold_labels=True,
        )
    )
