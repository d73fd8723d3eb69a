"""The data stage: a dataset plugin's task, subsampled to the budget, cached as JSON.

Cache kind ``data``; the entry holds ``task.json`` (the splits' texts and labels, label
names, metric, unlabelled pool) written by ``task_to_json`` and read by ``task_from_json``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from distill_bench.matrix.components import Component
from distill_bench.matrix.plan import Cell, TeacherRow
from distill_bench.plugin_api.tasks import Split, TaskData, subsample
from distill_bench.stages.context import StageContext
from distill_bench.store.cache import read_json, write_json


def task_to_json(task: TaskData) -> dict:
    return {
        "name": task.name,
        "label_names": list(task.label_names),
        "primary_metric": task.primary_metric,
        "unlabelled": list(task.unlabelled),
        "oos_label": task.oos_label,
        "splits": {
            role: {"name": s.name, "texts": list(s.texts), "labels": list(s.labels)}
            for role, s in (
                ("train", task.train),
                ("select", task.select),
                ("evaluation", task.evaluation),
            )
        },
    }


def task_from_json(obj: dict) -> TaskData:
    splits = {
        role: Split(s["name"], tuple(s["texts"]), tuple(s["labels"]))
        for role, s in obj["splits"].items()
    }
    return TaskData(
        obj["name"],
        tuple(obj["label_names"]),
        splits["train"],
        splits["select"],
        splits["evaluation"],
        obj["primary_metric"],
        tuple(obj.get("unlabelled", ())),
        oos_label=obj.get("oos_label"),
    )


def task(ctx: StageContext, dataset: Component, seed: int, key: str) -> TaskData:
    """The dataset's task under ``key``: loaded by its plugin, subsampled with ``seed``."""

    def compute(out: Path) -> dict:
        spec = ctx.registry.get("datasets", dataset.plugin)
        loaded = spec.factory(dataset.options_dict(), ctx.data_dir)
        loaded = subsample(
            loaded,
            ctx.budget.max_train_examples,
            ctx.budget.max_select_examples,
            seed,
            ctx.budget.max_eval_examples,
        )
        write_json(out / "task.json", task_to_json(loaded))
        return {
            "train": len(loaded.train),
            "select": len(loaded.select),
            "evaluation": len(loaded.evaluation),
        }

    return ctx.cached(
        "data", key, compute, lambda entry: task_from_json(read_json(entry / "task.json"))
    )


def task_of(ctx: StageContext, item: TeacherRow | Cell) -> TaskData:
    """The task a teacher row or a cell reads (its data seed and data key)."""
    return task(ctx, item.dataset, item.data_seed, item.data_key)


def entry_task(ctx: StageContext, item: TeacherRow | Cell) -> TaskData:
    """``task_of`` named as the matrix's entry ("tickets", not the plugin's "files"), for
    what a teacher says and checks: messages name what the user wrote."""
    return dataclasses.replace(task_of(ctx, item), name=item.dataset.name)
