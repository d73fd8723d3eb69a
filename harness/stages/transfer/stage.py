"""The transfer stage: an augmenter plugin's texts made into the cell's transfer set.

Cache kind ``transfer``; the entry holds ``transfer.json`` (texts, labels, source,
origins, composition). What every augmenter has in common (labelled examples first,
leakage removal, dedup, size) is ``make_transfer_set`` in ``build.py``; the fine-tuned
teacher is fine-tuned (or loaded) only when the augmenter's spec says it needs it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from distill_bench.matrix.plan import Cell
from distill_bench.plugin_api.tasks import TransferSet
from distill_bench.stages.context import StageContext
from distill_bench.stages.data.stage import task_of
from distill_bench.stages.student.from_teacher import teacher_embedding_table
from distill_bench.stages.teacher.stage import teacher_checkpoint, teacher_model
from distill_bench.stages.transfer.build import AugmentContext, make_transfer_set, split_options
from distill_bench.store.cache import read_json, write_json


def _teacher_loaders(ctx: StageContext, cell: Cell) -> dict:
    """The fine-tuned teacher's tokenizer and embedding table, loaded on first call."""
    teacher_dir = teacher_checkpoint(ctx, cell)
    return dict(
        load_teacher_tokenizer=lambda: teacher_model(ctx, cell.teacher).tokenizer(teacher_dir),
        load_teacher_embeddings=functools.cache(
            lambda: teacher_embedding_table(teacher_dir).numpy()
        ),
    )


def transfer_set(ctx: StageContext, cell: Cell) -> TransferSet:
    """The cell's transfer set: built by its augmenter once per transfer key."""
    task = task_of(ctx, cell)

    def compute(out: Path) -> dict:
        spec = ctx.registry.get("augmenters", cell.augmenter.plugin)
        own, options = split_options(spec, cell.augmenter.options_dict())
        # loaded only if the augmenter asks (eda's neighbours)
        teacher = _teacher_loaders(ctx, cell) if spec.needs_teacher else {}
        augment = AugmentContext(
            task, options.augment_seed(cell.data_seed), ctx.data_dir, **teacher
        )
        ctx.progress.log(f"building transfer set {cell.augmenter.name} for {task.name}")
        transfer, info = make_transfer_set(
            cell.augmenter.plugin,
            spec.factory(own),
            augment,
            options,
            ctx.budget.max_transfer_examples,
        )
        write_json(
            out / "transfer.json",
            {
                "texts": list(transfer.texts),
                "labels": list(transfer.labels),
                "source": transfer.source,
                "origins": list(transfer.origins),
                "composition": [list(part) for part in transfer.composition],
            },
        )
        ctx.progress.log(
            f"transfer set {cell.augmenter.name}: {info['composition']} "
            f"({info['leaked_removed']} selection/evaluation texts removed)"
        )
        return info

    def load(entry: Path) -> TransferSet:
        obj = read_json(entry / "transfer.json")
        return TransferSet(
            tuple(obj["texts"]),
            tuple(obj["labels"]),
            obj["source"],
            tuple(obj.get("origins", ())),
            tuple((part, n) for part, n in obj.get("composition", ())),
        )

    return ctx.cached("transfer", cell.transfer_key, compute, load)
