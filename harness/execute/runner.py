"""Execute a plan: each stage computed at most once per key, each cell a result row.

    data -> teacher fine-tune -> transfer set -> annotate -> student distill -> evaluate -> measure

A stage's output lives in the cache under its key; a cell whose row is already in the
store is skipped. A failing cell is recorded with its stage and error; the rest go on.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from distill_bench.matrix.model import COMPOSE, Budget
from distill_bench.matrix.plan import (
    Cell,
    Component,
    Plan,
    TeacherRow,
    content_key,
    loss_parts,
    loss_profile,
)
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.metrics import agreement_rate, diagnostics, score_task, task_metric
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import TEACHER_LOGITS
from distill_bench.plugin_api.tasks import Split, TaskData, TransferSet, subsample
from distill_bench.report.leaderboard import row_label
from distill_bench.stages.annotation.annotators import OutputsReader, agreement, load_annotator
from distill_bench.stages.batching import pick_device
from distill_bench.stages.measure.environment import environment
from distill_bench.stages.measure.timing import MeasureRequest, run_measurement
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.from_teacher import teacher_embedding_table
from distill_bench.stages.student.loop import WeightedSum, distill, predict
from distill_bench.stages.student.token_ids import TokenIds, write_token_ids
from distill_bench.stages.transfer.build import (
    AugmentContext,
    IndexedFeatures,
    confidence_filter,
    make_transfer_set,
    row_metrics,
    split_options,
)
from distill_bench.store.cache import Cache, read_json, write_json
from distill_bench.store.results import ResultRow, Store
from safetensors.numpy import load_file, save_file


class StageFailed(Exception):
    def __init__(self, stage: str, error: str):
        super().__init__(f"{stage}: {error}")
        self.stage, self.error = stage, error


@dataclass
class RunSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # ok rows already in the store
    failed_before: int = 0  # failed rows already in the store, left alone (see retry_failed)
    seconds: float = 0.0
    computed: dict[str, int] = field(default_factory=dict)  # stage kind -> entries computed now

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.failed_before else 0


def _task_to_json(task: TaskData) -> dict:
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


def _task_from_json(obj: dict) -> TaskData:
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


class Runner:
    def __init__(
        self,
        plan: Plan,
        registry: Registry,
        cache: Cache,
        store: Store,
        data_dir: Path | None,
        progress: Progress = quiet,
        plugin_modules: tuple[str, ...] = (),
        disabled: tuple[str, ...] = (),
        device: torch.device | None = None,
        retry_failed: bool = False,
    ):
        self.plan, self.registry, self.cache, self.store = plan, registry, cache, store
        self.data_dir, self.progress = data_dir, progress
        self.plugin_modules, self.disabled = plugin_modules, disabled
        self.device = device or pick_device()
        self.budget: Budget = plan.matrix.budget
        self.matrix_name = plan.matrix.name
        self._memo: dict[str, object] = {}  # stage key -> loaded output, for this process
        self._token_ids: dict[tuple, list[list[int]]] = {}  # (texts, vocabulary) -> ids
        self._failed: dict[str, StageFailed] = {}  # stage key -> why, so a bad stage fails once
        self.summary = RunSummary()
        self.retry_failed = retry_failed  # rerun rows stored as failed; else leave them
        self._recorded: dict[str, str] = {}  # row key -> status in the store when planned

    # -- stages -------------------------------------------------------------------------

    def _stage(self, kind: str, key: str, compute, load):
        """Cached output of a stage: memory, then disk, then computed and stored.

        Computing holds the cache's lock for (kind, key): another run sharing the cache
        that wants the same stage waits, then loads this one's entry instead of redoing it.
        """
        if key in self._memo:
            return self._memo[key]
        if key in self._failed:
            raise self._failed[key]
        try:
            entry = self.cache.get(kind, key)
            if entry is None:
                with self.cache.lock(kind, key):
                    entry = self.cache.get(kind, key)  # computed by another run while we waited
                    if entry is None:
                        started = time.perf_counter()
                        with self.cache.put(kind, key) as scratch:
                            info = compute(scratch) or {}
                            info["seconds"] = time.perf_counter() - started
                            write_json(scratch / "info.json", info)
                        self.summary.computed[kind] = self.summary.computed.get(kind, 0) + 1
                        entry = self.cache.entry(kind, key)
            value = load(entry)
        except (StageFailed, BenchError):  # bad input stops the run; rows written stay
            raise
        except Exception as exc:  # one bad stage fails its cells, not the matrix
            failure = StageFailed(kind, f"{type(exc).__name__}: {exc}")
            failure.__cause__ = exc
            self.progress.log(f"stage {kind} {key} failed: {traceback.format_exc(limit=-3)}")
            # remembered without its traceback, whose frames hold the stage's tensors
            self._failed[key] = StageFailed(kind, failure.error)
            raise failure from exc
        self._memo[key] = value
        return value

    def task(self, dataset: Component, seed: int, key: str) -> TaskData:
        def compute(out: Path) -> dict:
            spec = self.registry.get("datasets", dataset.plugin)
            task = spec.factory(dataset.options_dict(), self.data_dir)
            task = subsample(
                task,
                self.budget.max_train_examples,
                self.budget.max_select_examples,
                seed,
                self.budget.max_eval_examples,
            )
            write_json(out / "task.json", _task_to_json(task))
            return {
                "train": len(task.train),
                "select": len(task.select),
                "evaluation": len(task.evaluation),
            }

        return self._stage(
            "data", key, compute, lambda entry: _task_from_json(read_json(entry / "task.json"))
        )

    def teacher_model(self, teacher: Component):
        return self.registry.get("teachers", teacher.plugin).factory(teacher.options_dict())

    def predictor(self, teacher: Component, ckpt_dir: Path):
        """The teacher plugin's fp32 ``texts -> logits`` for a fine-tuned checkpoint."""
        return self.teacher_model(teacher).predictor(
            ckpt_dir,
            self.device,
            self.budget.max_length,
            self.budget.annotate_batch_size,
            self.progress,
        )

    def teacher(self, row: TeacherRow | Cell) -> Path:
        task = self.task(row.dataset, row.data_seed, row.data_key)

        def compute(out: Path) -> dict:
            model = self.teacher_model(row.teacher)
            self.progress.log(
                f"fine-tuning {row.teacher.name} on {task.name} ({len(task.train)} examples)"
            )
            info = model.finetune(task, self.budget, row.data_seed, out, self.device, self.progress)
            # score once here: the teacher row and every cell's agreement read these logits
            predict_fn = self.predictor(row.teacher, out)
            save_file(
                {"evaluation": predict_fn(task.evaluation.texts, "teacher on evaluation split")},
                str(out / "predictions.safetensors"),
            )
            return info

        return self._stage("teacher", row.teacher_key, compute, lambda entry: entry)

    def transfer(self, cell: Cell) -> TransferSet:
        task = self.task(cell.dataset, cell.data_seed, cell.data_key)

        def compute(out: Path) -> dict:
            spec = self.registry.get("augmenters", cell.augmenter.plugin)
            own, options = split_options(spec, cell.augmenter.options_dict())
            teacher = {}
            if spec.needs_teacher:  # loaded only if the augmenter asks (eda's neighbours)
                teacher_dir = self.teacher(cell)
                teacher = dict(
                    load_teacher_tokenizer=lambda: self.teacher_model(cell.teacher).tokenizer(
                        teacher_dir
                    ),
                    load_teacher_embeddings=functools.cache(
                        lambda: teacher_embedding_table(teacher_dir).numpy()
                    ),
                )
            ctx = AugmentContext(
                task, options.augment_seed(cell.data_seed), self.data_dir, **teacher
            )
            self.progress.log(f"building transfer set {cell.augmenter.name} for {task.name}")
            transfer, info = make_transfer_set(
                cell.augmenter.plugin,
                spec.factory(own),
                ctx,
                options,
                self.budget.max_transfer_examples,
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
            self.progress.log(
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

        return self._stage("transfer", cell.transfer_key, compute, load)

    def annotation(self, cell: Cell) -> np.ndarray:
        teacher_dir = self.teacher(cell)
        transfer = self.transfer(cell)

        def compute(out: Path) -> dict:
            precision = self.budget.annotate_precision
            if precision == "fp32":  # the teacher plugin's own predictor: any teacher works
                predict_fn = self.predictor(cell.teacher, teacher_dir)
                logits = predict_fn(transfer.texts, "annotate transfer set")
                save_file({"logits": logits}, str(out / "logits.safetensors"))
                return {"examples": len(transfer.texts), "precision": precision}
            # faster precisions (Hugging Face checkpoints): ONNX files stay out of the entry
            work = out.parent / f".{cell.annotate_key}.work"
            try:
                annotator = load_annotator(
                    teacher_dir, precision, self.budget.max_length,
                    self.budget.annotate_batch_size, self.device, work,
                )  # fmt: skip
                index = annotator.annotate_to(
                    out, transfer.texts, progress=self.progress, description="annotate transfer set"
                )
                # what the speed costs: agreement with the fp32 teacher on the selection split
                task = self.task(cell.dataset, cell.data_seed, cell.data_key)
                reference = self.predictor(cell.teacher, teacher_dir)(
                    task.select.texts, "fp32 reference on the selection split"
                )
                candidate = annotator.logits(
                    task.select.texts, description=f"{precision} on the selection split"
                )
                return {
                    "examples": index["examples"],
                    "agreement_with_fp32": agreement(reference, candidate),
                    **annotator.describe(),
                }
            finally:
                shutil.rmtree(work, ignore_errors=True)

        return self._stage(
            "annotate",
            cell.annotate_key,
            compute,
            lambda entry: load_file(str(entry / "logits.safetensors"))["logits"],
        )

    def features(self, cell: Cell):
        """Teacher hidden states / attention maps the cell's loss reads, computed once per
        (teacher, transfer set, layers) and read lazily, shard by shard."""
        teacher_dir = self.teacher(cell)
        transfer = self.transfer(cell)
        profile = cell.profile

        def compute(out: Path) -> dict:
            # fp32 unless bf16 was asked for: int8 / ONNX paths give logits only
            precision = "bf16" if self.budget.annotate_precision == "bf16" else "fp32"
            annotator = load_annotator(
                teacher_dir,
                precision,
                self.budget.max_length,
                self.budget.annotate_batch_size,
                self.device,
            )
            index = annotator.annotate_to(
                out, transfer.texts, profile.hidden_layers, bool(profile.attention_layers),
                attention_layers=profile.attention_layers or None,
                average_heads=not profile.per_head, progress=self.progress,
                description="teacher features",
            )  # fmt: skip
            return {"examples": index["examples"], **annotator.describe()}

        return self._stage(
            "features", cell.features_key, compute, lambda entry: OutputsReader(entry).features()
        )

    def build_loss(self, loss: Component):
        parts = [
            (weight, self.registry.get("losses", plugin).factory(options))
            for plugin, weight, options in loss_parts(loss)
        ]
        return parts[0][1] if loss.plugin != COMPOSE else WeightedSum(parts)

    def student(self, cell: Cell) -> Path:
        task = self.task(cell.dataset, cell.data_seed, cell.data_key)
        teacher_dir = self.teacher(cell)
        transfer = self.transfer(cell)

        def compute(out: Path) -> dict:
            # teacher outputs only when the loss reads them: a ce-hard baseline needs none
            uses = loss_profile(self.registry, cell.loss).uses
            augmenter = self.registry.get("augmenters", cell.augmenter.plugin)
            filter_options = split_options(augmenter, cell.augmenter.options_dict())[1]
            logits = (
                self.annotation(cell)
                if TEACHER_LOGITS in uses or filter_options.filtering
                else None
            )
            # the teacher-confidence filter: unsure transfer examples dropped or downweighted
            kept, filtered = None, None
            if filter_options.filtering:
                kept, filtered = confidence_filter(logits, filter_options, cell.seed)
                transfer_kept = TransferSet(
                    tuple(transfer.texts[i] for i in kept),
                    tuple(transfer.labels[i] for i in kept),
                    transfer.source,
                )
                logits = logits[kept] if TEACHER_LOGITS in uses else None
            else:
                transfer_kept = transfer
            # build: the student's vocabulary and module, the loss
            spec = self.registry.get("students", cell.student.plugin)
            options = cell.student.options_dict()
            teacher_tokenizer = student_io.prepare(
                self.teacher_model(cell.teacher).tokenizer(teacher_dir)
            )
            tokenizer = student_io.student_tokenizer(
                options, teacher_tokenizer, transfer_kept.texts
            )
            ctx = student_io.StudentContext(
                task.num_labels, tokenizer, teacher_dir, spec.special_tokens
            )
            # seeded here, not only in the loop: a student's initial weights must not depend
            # on what ran earlier in this process (loading a teacher draws random numbers)
            torch.manual_seed(cell.seed)
            model = spec.factory(options, ctx)
            if getattr(model, "tokenizer", None) is not None:  # a student with its own vocabulary
                ctx = replace(ctx, tokenizer=student_io.prepare(model.tokenizer))
            loss_fn = self.build_loss(cell.loss)

            vocab_id = hashlib.sha1(ctx.tokenizer.to_str().encode()).hexdigest()

            def ids(texts, source: str):
                # tokenised once per (texts, vocabulary) in this run, shared by every cell
                key = (source, vocab_id, ctx.special_tokens, self.budget.max_length)
                if key not in self._token_ids:
                    self._token_ids[key] = student_io.encode(
                        ctx.tokenizer, texts, self.budget.max_length, ctx.special_tokens
                    )
                return self._token_ids[key]

            # train, keep the best epoch on the selection split, score on the evaluation split
            transfer_ids = self.transfer_ids(cell, ctx, vocab_id)
            features = self.features(cell) if cell.features_key else None
            if kept is not None:  # the filtered set reads the shared ids and features by index
                transfer_ids = transfer_ids.take(kept)
                features = IndexedFeatures(features, kept) if features is not None else None
            info = distill(
                model, loss_fn, transfer_ids, transfer_kept.labels, logits,
                ids(task.select.texts, cell.data_key + '/select'), task.select.labels, task_metric(task),
                self.budget, cell.seed, self.device, task.num_labels, self.progress, features,
            )  # fmt: skip
            if filtered is not None:
                info["confidence_filter"] = filtered
            evaluation = predict(
                model,
                ids(task.evaluation.texts, cell.data_key + "/evaluation"),
                512,
                self.device,
                task.num_labels,
            )
            save_file({"evaluation": evaluation}, str(out / "predictions.safetensors"))
            student_io.save_student(out, model, cell.student.plugin, options, ctx)
            info["vocab_size"] = ctx.vocab_size
            return info

        return self._stage("student", cell.student_key, compute, lambda entry: entry)

    def transfer_ids(self, cell: Cell, ctx, vocab_id: str) -> TokenIds:
        """The transfer set in a student's vocabulary: tokenised once per (transfer set,
        vocabulary) and memory-mapped, so a 500k-sentence epoch streams from disk."""
        key = content_key(
            "tokens",
            {"vocabulary": vocab_id, "special_tokens": ctx.special_tokens,
             "max_length": self.budget.max_length},
            (cell.transfer_key,),
        )  # fmt: skip

        def compute(out: Path) -> dict:
            texts = self.transfer(cell).texts
            return write_token_ids(
                out,
                texts,
                lambda batch: student_io.encode(
                    ctx.tokenizer, batch, self.budget.max_length, ctx.special_tokens
                ),
            )

        return self._stage("tokens", key, compute, TokenIds.load)

    # -- rows ---------------------------------------------------------------------------

    def _measure(
        self,
        role: str,
        plugin: str,
        options: dict,
        ckpt: Path,
        task: TaskData,
        reference: np.ndarray | None = None,
    ) -> dict:
        """Size, speed and memory of a saved model, and of its deployment variants, each
        variant re-scored on the evaluation split (``reference``: the model's own logits)."""
        batch = (
            self.budget.teacher_batch_size if role == "teacher" else self.budget.student_batch_size
        )
        request = MeasureRequest(
            role=role,
            plugin=plugin,
            options=options,
            ckpt_dir=str(ckpt),
            texts=task.evaluation.texts,
            max_length=self.budget.max_length,
            config={
                k: getattr(self.plan.matrix.measure, k)
                for k in self.plan.matrix.measure.__dataclass_fields__
            },
            plugin_modules=self.plugin_modules,
            disabled=self.disabled,
            num_labels=task.num_labels,
            train_batch_size=batch,
        )
        started = time.perf_counter()
        try:
            result = run_measurement(request, isolate=self.plan.matrix.measure.isolate)
        except Exception as exc:  # a crash while measuring fails this row only
            raise StageFailed("measure", f"{type(exc).__name__}: {exc}") from exc
        for variant in result.get("variants", {}).values():
            logits = variant.pop("logits", None)  # scored here, not stored
            if logits is not None:
                variant["metrics"] = self._metrics(task, logits)
                if reference is not None:
                    variant["metrics"]["agreement_with_fp32"] = agreement_rate(logits, reference)
        result["seconds"] = time.perf_counter() - started
        return result

    def _row(self, key: str, role: str, names: dict, seed: int, config: dict, work) -> ResultRow:
        """Run ``work`` and store its row: ok with figures, or failed with stage and error."""
        common = dict(seed=seed, config=config, environment=environment(), **names)
        try:
            metrics, measurements, timings = work()
        except BenchError:
            raise  # bad input stops the run; rows already stored stay
        except Exception as exc:
            failure = exc if isinstance(exc, StageFailed) else StageFailed("evaluate", repr(exc))
            row = ResultRow(self.matrix_name, key, role, status="failed", stage=failure.stage,
                            error=failure.error, **common)  # fmt: skip
            self.summary.failed += 1
        else:
            row = ResultRow(self.matrix_name, key, role, status="ok", metrics=metrics,
                            measurements=measurements, timings=timings, **common)  # fmt: skip
            self.summary.ok += 1
        self.store.put(row)
        return row

    def teacher_row(self, row: TeacherRow) -> ResultRow:
        names = dict(
            dataset=row.dataset.name,
            teacher=row.teacher.name,
            student=row.teacher.name,
            loss="",
            augmenter="",
        )

        def work():
            task = self.task(row.dataset, row.data_seed, row.data_key)
            ckpt = self.teacher(row)
            evaluation = load_file(str(ckpt / "predictions.safetensors"))["evaluation"]
            metrics = self._metrics(task, evaluation)
            metrics |= diagnostics(evaluation, None, task.evaluation.labels)
            measurements = self._measure(
                "teacher", row.teacher.plugin, row.teacher.options_dict(), ckpt, task, evaluation
            )
            info = read_json(ckpt / "info.json")
            return (
                metrics,
                measurements,
                {
                    "data": self._info_seconds("data", row.data_key),
                    "teacher": {
                        "key": row.teacher_key,
                        "seconds": info["seconds"],
                        "finetune_seconds": info.get("finetune_seconds"),
                    },
                    "measure": {"key": row.key, "seconds": measurements["seconds"]},
                },
            )

        config = {
            "dataset": row.dataset.config(),
            "teacher": row.teacher.config(),
            "budget": self.budget.teacher_part(),
            "seed": row.seed,
        }
        return self._row(row.key, "teacher", names, row.seed, config, work)

    def cell_row(self, cell: Cell) -> ResultRow:
        names = dict(
            dataset=cell.dataset.name,
            teacher=cell.teacher.name,
            student=cell.student.name,
            loss=cell.loss.name,
            augmenter=cell.augmenter.name,
        )

        def work():
            task = self.task(cell.dataset, cell.data_seed, cell.data_key)
            ckpt = self.student(cell)
            evaluation = load_file(str(ckpt / "predictions.safetensors"))["evaluation"]
            teacher_eval = load_file(str(self.teacher(cell) / "predictions.safetensors"))[
                "evaluation"
            ]
            metrics = self._metrics(task, evaluation)
            # agreement, calibration, the teacher's errors the student repeats
            metrics |= diagnostics(evaluation, teacher_eval, task.evaluation.labels)
            transfer = self.transfer(cell)
            metrics["transfer_size"] = len(transfer.texts)
            metrics |= row_metrics(
                transfer,
                read_json(self.cache.entry("transfer", cell.transfer_key) / "info.json"),
                read_json(ckpt / "info.json"),
            )
            annotate_info = self.cache.entry("annotate", cell.annotate_key) / "info.json"
            if annotate_info.is_file():  # absent for losses that never read teacher logits
                info = read_json(annotate_info)
                metrics["annotation_precision"] = info.get("precision", "fp32")
                if "agreement_with_fp32" in info:
                    metrics["annotation_agreement"] = info["agreement_with_fp32"]
            measurements = self._measure(
                "student", cell.student.plugin, cell.student.options_dict(), ckpt, task, evaluation
            )
            train = read_json(ckpt / "info.json")
            measurements["train_seconds"] = train["train_seconds"]
            return (
                metrics,
                measurements,
                {
                    stage: self._info_seconds(stage, key)
                    for stage, key in (
                        ("data", cell.data_key),
                        ("teacher", cell.teacher_key),
                        ("transfer", cell.transfer_key),
                        ("annotate", cell.annotate_key),
                        ("student", cell.student_key),
                    )
                }
                | {"measure": {"key": cell.key, "seconds": measurements["seconds"]}},
            )

        config = {
            "dataset": cell.dataset.config(),
            "teacher": cell.teacher.config(),
            "student": cell.student.config(),
            "loss": cell.loss.config(),
            "augmenter": cell.augmenter.config(),
            "budget": self.budget.student_part(),
            "seed": cell.seed,
        }
        return self._row(cell.key, "student", names, cell.seed, config, work)

    def _info_seconds(self, stage: str, key: str) -> dict:
        entry = self.cache.entry(stage, key)
        seconds = (
            read_json(entry / "info.json").get("seconds")
            if (entry / "info.json").is_file()
            else None
        )
        return {"key": key, "seconds": seconds}

    @staticmethod
    def _metrics(task: TaskData, logits: np.ndarray) -> dict:
        metrics = score_task(task, logits.argmax(-1))
        return {
            **metrics,
            "primary_metric": task.primary_metric,
            "primary": metrics[task.primary_metric],
            "eval_split": task.evaluation.name,
            "eval_examples": len(task.evaluation),
        }

    # -- the whole plan -----------------------------------------------------------------

    def pending(self) -> list[tuple[str, TeacherRow | Cell]]:
        """The rows this run computes, teacher rows first. Ok rows in the store are done;
        recorded failures are left alone (and counted) unless ``retry_failed`` is set."""
        work = [("teacher", r) for r in self.plan.teacher_rows] + [
            ("student", c) for c in self.plan.cells
        ]
        self._recorded = self.store.statuses(self.matrix_name)
        todo = []
        for role, item in work:
            status = self._recorded.get(item.key)
            if status == "ok":
                self.summary.skipped += 1
            elif status is not None and not self.retry_failed:
                self.summary.failed_before += 1
            else:
                todo.append((role, item))
        return todo

    def run_item(self, role: str, item: TeacherRow | Cell, block: bool = True) -> bool:
        """Compute and store one row under its row lock; False if another run holds it
        and ``block`` is off. A row another run wrote meanwhile is taken as it is."""
        lock = self.store.row_lock(self.matrix_name, item.key)
        if not lock.acquire(block=block, log=self.progress.log):
            return False
        try:
            now = self.store.statuses(self.matrix_name, item.key).get(item.key)
            if now != self._recorded.get(item.key):  # written by a concurrent run
                if now == "ok":
                    self.summary.skipped += 1
                else:
                    self.summary.failed_before += 1
                return True
            row = self.teacher_row(item) if role == "teacher" else self.cell_row(item)
            self.progress.log(summary_line(row))
            if "MemoryError" in row.error:  # torch.OutOfMemoryError too: give it back
                _free_memory()
        finally:
            lock.release()
        return True

    def run(self) -> RunSummary:
        """Every pending row, one at a time. A row another run is computing is put off to
        the end, then waited for: two runs on one store share the work, never repeat it."""
        started = time.perf_counter()
        busy = [
            (role, item)
            for role, item in self.progress.track(self.pending(), f"matrix {self.matrix_name}")
            if not self.run_item(role, item, block=False)
        ]
        for role, item in self.progress.track(busy, "rows other runs were computing"):
            self.run_item(role, item)
        self.summary.seconds = time.perf_counter() - started
        return self.summary


def _free_memory() -> None:
    """After an out-of-memory failure: the failed cell's tensors are garbage by now."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def summary_line(row: ResultRow) -> str:
    head = row_label(row)
    if row.status != "ok":
        return f"FAILED {head}: {row.stage}: {row.error}"
    m, s = row.metrics, row.measurements
    return (
        f"done {head}: {m['primary_metric']} {100 * m['primary']:.1f} on {m['eval_split']}, "
        f"{s['params_total'] / 1e6:.2f}M params, {s['cpu_throughput']['median']:.0f} sent/s"
    )
