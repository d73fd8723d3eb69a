"""How every built-in dataset's splits are made: the held-out selection slice and the low-resource view.

Without an official validation split, a seeded, stratified slice of train
(``heldout_fraction``, ``split_seed``) is held out for selection, never holding an
evaluation text (``carved_task``). Every dataset also takes ``max_labeled`` /
``labels_per_class``: a seeded, stratified labelled subset of train, the rest of train
becoming ``TaskData.unlabelled`` (``apply_low_resource``, which every factory ends with).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path

from distill_bench import BenchError, Option
from distill_bench.plugin_api.tasks import Split, TaskData, carve, low_resource

_SPLIT_OPTIONS = (
    Option(
        "split_seed",
        int,
        0,
        "seed of the held-out selection slice carved from train and of the low-resource subset",
        min=0,
    ),
)
_LOW_RESOURCE_OPTIONS = (
    Option(
        "max_labeled",
        int,
        0,
        "keep this many labelled train examples (stratified, seeded by split_seed); "
        "the rest of train becomes the unlabelled pool; 0 = all",
        min=0,
    ),
    Option(
        "labels_per_class",
        int,
        0,
        "keep this many labelled train examples of every label (seeded by split_seed; "
        "then capped by max_labeled); the rest of train becomes the unlabelled pool; 0 = off",
        min=0,
    ),
    Option(
        "select_from_labeled",
        float,
        0.0,
        "with max_labeled or labels_per_class: this share of the labelled examples is the "
        "selection split (an N-label arm sees N gold labels in all; the usual selection "
        "texts join the unlabelled pool); 0 = the selection split comes from outside them",
        min=0,
        below=1,
        keyed_at_default=False,  # added after caches existed: off, it keeps their keys
    ),
)
DATASET_OPTIONS = (*_SPLIT_OPTIONS, *_LOW_RESOURCE_OPTIONS)


def heldout_option(default: float) -> Option:
    return Option(
        "heldout_fraction",
        float,
        default,
        "share of train held out for model selection",
        above=0,
        below=1,
    )


def apply_low_resource(task: TaskData, options: Mapping) -> TaskData:
    """The shared low-resource step every dataset factory ends with."""
    for name in ("max_labeled", "labels_per_class"):
        if options.get(name, 0) < 0:
            raise BenchError(
                f"dataset {task.name!r}: option {name!r} must be >= 0 (0 = off), got {options[name]}"
            )
    share = options.get("select_from_labeled", 0.0)
    if share and not (options.get("max_labeled", 0) or options.get("labels_per_class", 0)):
        raise BenchError(
            f"dataset {task.name!r}: option 'select_from_labeled' needs a label budget "
            "(max_labeled or labels_per_class); without one every train label is seen anyway"
        )
    try:
        return low_resource(
            task,
            max_labeled=options.get("max_labeled", 0),
            labels_per_class=options.get("labels_per_class", 0),
            seed=options.get("split_seed", 0),
            select_share=share,
        )
    except ValueError as exc:
        raise BenchError(f"dataset {task.name!r}: option 'select_from_labeled': {exc}") from None


def labelled(load: Callable[[dict, Path | None], TaskData]):
    """A dataset factory: ``load`` then the shared low-resource step."""

    @functools.wraps(load)
    def factory(options, data_dir):
        task = load(options, None if data_dir is None else Path(data_dir))
        return apply_low_resource(task, options)

    return factory


def n_heldout(name: str, n_train: int, options: Mapping) -> int:
    fraction = options["heldout_fraction"]
    if not 0 < fraction < 1:
        raise BenchError(
            f"dataset {name!r}: option 'heldout_fraction' must be between 0 and 1, got {fraction}"
        )
    n = round(n_train * fraction)
    if not 0 < n < n_train:  # a tiny or truncated train file: nothing to select on, or train on
        raise BenchError(
            f"dataset {name!r}: heldout_fraction {fraction} of {n_train} training examples holds "
            f"out {n}; expected at least one held out for selection and one left to train on"
        )
    return n


def carved_task(
    name: str,
    label_names: tuple[str, ...],
    full_train: Split,
    evaluation: Split,
    options: Mapping,
    metric: str = "accuracy",
    unlabelled: tuple[str, ...] = (),
) -> TaskData:
    """Selection split held out of train, never holding an evaluation text."""
    n_select = n_heldout(name, len(full_train), options)
    avoid = set(evaluation.texts)
    try:
        train, select = carve(full_train, n_select, options["split_seed"], "train-heldout", avoid)
    except ValueError:  # train is (nearly) the evaluation split
        raise BenchError(split_overlap(name, full_train, evaluation, n_select)) from None
    return TaskData(name, label_names, train, select, evaluation, metric, unlabelled)


def split_overlap(name: str, train: Split, evaluation: Split, n_select: int) -> str:
    """Why no selection slice can be held out: too few train texts are not evaluation texts."""
    scored = set(evaluation.texts)
    apart = sum(text not in scored for text in train.texts)
    return (
        f"dataset {name!r}: cannot hold out {n_select} selection examples: only {apart} train "
        f"texts are not also {evaluation.name} texts; expected a train split apart from "
        f"the {evaluation.name} split"
    )
