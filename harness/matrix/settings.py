"""A matrix's ``[budget]`` and ``[measure]`` tables: their fields, defaults, ranges and help.

``Budget`` and ``MeasureConfig`` hold the values (their defaults are commented with why);
``BUDGET_FIELDS`` / ``MEASURE_FIELDS`` say, for every field, which values are valid and
what it means. The matrix parser refuses a value out of range at planning time, before
anything trains, and ``bench list budget`` / ``bench list measure`` print the same table.
A 0 stays allowed only where it has a meaning the help states (``annotate_batch_size``,
``train_steps``, ``warmup``). Pure: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from distill_bench.plugin_api.bounds import Bounds
from distill_bench.plugin_api.errors import BenchError

ANNOTATE_PRECISIONS = ("fp32", "bf16", "int8", "onnx-fp32", "onnx-int8")
MEASURE_VARIANTS = ("int8", "onnx-fp32", "onnx-int8")  # stages/measure/variants.py builds them


@dataclass(frozen=True)
class Budget:
    """How much work each stage does. Defaults suit a laptop-sized CPU run."""

    max_train_examples: int | None = None  # None = the whole training split
    max_select_examples: int | None = 1000  # selection only needs a stable estimate
    # None = the whole evaluation split; a number scores a fixed stratified slice (named
    # so in the leaderboard): for smoke matrices, never for figures set beside papers'
    max_eval_examples: int | None = None
    max_transfer_examples: int | None = None  # caps what augmenters produce
    max_length: int = 128  # WordPiece tokens; SST-2's 95th percentile is well under 64
    teacher_epochs: int = 3  # BERT's recommended 2-4 for GLUE fine-tuning
    teacher_batch_size: int = 32
    teacher_lr: float = 5e-5  # BERT paper's grid {2,3,5}e-5; small models like the top end
    teacher_warmup: float = 0.1  # fraction of steps with linear warm-up
    teacher_evals_per_epoch: int = 2  # selection points for early stopping / best checkpoint
    student_epochs: int = 10  # students are cheap; the best epoch on `select` is kept
    student_batch_size: int = 64
    student_lr: float = 1e-3  # Adam default; Tang et al. used Adam/Adadelta at this scale
    # sentences per annotation batch, length-sorted; 0 = auto (1024 on a GPU, 128 on CPU);
    # an out-of-memory error halves it for the rest of the run
    annotate_batch_size: int = 128
    # teacher precision for annotating transfer sets: fp32 | bf16 | int8 | onnx-fp32 | onnx-int8;
    # benchmarks/bench_annotation.py measures what each costs in agreement with fp32
    annotate_precision: str = "fp32"
    # None: each seed fine-tunes its own teacher (and subsamples its own data). A number:
    # one teacher (data subset, transfer set, annotation) from this seed, and the matrix's
    # seeds vary the students only, so a gain over ce-hard is measured against one teacher
    teacher_seed: int | None = None

    def teacher_part(self) -> dict[str, Any]:
        # teacher_seed is not a training setting: the teacher's key carries the seed it used
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name.startswith("teacher_") and f.name != "teacher_seed"
        } | {"max_length": self.max_length}

    def student_part(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.name.startswith("student_")
        } | {"max_length": self.max_length}


@dataclass(frozen=True)
class MeasureConfig:
    """How every model in a matrix is measured, identically."""

    threads: int = 2  # CPU threads for timing, fixed and recorded (this machine has 2)
    batch_size: int = 128  # throughput batch: large enough to amortise per-call overhead
    latency_samples: int = 100  # real sentences timed one at a time for p50/p90
    repeats: int = 5  # timed passes; the median and spread are reported
    warmup: int = 1  # untimed passes first (allocator, caches, lazy init)
    min_pass_seconds: float = 0.5  # a timed pass repeats its batches until it lasts this long
    max_sentences: int = 1000  # throughput is measured on up to this many eval sentences
    isolate: bool = True  # measure in a fresh subprocess so memory figures are the model's own
    # noise guard: a timed pass during which other processes used more than this share of
    # the machine's CPU time, beyond the cores `threads` leaves free, is set aside and re-run,
    # up to max_passes passes in all; a figure still short of `repeats` quiet passes is
    # flagged noisy
    max_background_load: float = 0.1
    max_passes: int = 12
    train_steps: int = 3  # training steps (batch = student/teacher batch size) for the training memory peak; 0: skip
    # deployment variants re-scored on the evaluation split and re-timed, for teacher and
    # students: "int8" (torch dynamic), "onnx-fp32", "onnx-int8" (ONNX Runtime)
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Setting:
    """What one field of ``[budget]`` or ``[measure]`` accepts and means."""

    bounds: Bounds
    help: str


AT_LEAST_1 = Bounds(min=1)
# numpy's generators refuse a negative seed and torch.manual_seed one of 2**64 or more; the
# store keeps seeds in a 64-bit column: [0, 2**32) is what every consumer takes
SEED_BOUNDS = Bounds(min=0, max=2**32 - 1)
POSITIVE = Bounds(above=0)
SHARE = Bounds(min=0, max=1)

# Why each range: a zero count, epoch or batch makes a cell meaningless or crashes it later
# (an empty split, an untrained model on the leaderboard, a division by zero in the loop).
BUDGET_FIELDS: dict[str, Setting] = {
    "max_train_examples": Setting(
        AT_LEAST_1, "labelled training examples kept, stratified (unset: all)"
    ),
    "max_select_examples": Setting(
        AT_LEAST_1, "model-selection examples kept, stratified (unset: all)"
    ),
    "max_eval_examples": Setting(
        AT_LEAST_1,
        "evaluation examples scored, a fixed stratified slice (unset: all; smoke runs only)",
    ),
    "max_transfer_examples": Setting(
        AT_LEAST_1, "cap on the transfer set an augmenter makes (unset: none)"
    ),
    # 3 = [CLS], one token, [SEP]: with 2 the teacher sees no text at all. 512: the position
    # embeddings of the built-in teachers (MiniLM-L6: 512; MPNet-base: 514, 2 of them offset)
    # and of BERT-family checkpoints; a longer input indexes past them and crashes
    "max_length": Setting(
        Bounds(min=3, max=512), "WordPiece tokens per input, [CLS] and [SEP] included"
    ),
    "teacher_epochs": Setting(AT_LEAST_1, "teacher fine-tuning epochs"),
    "teacher_batch_size": Setting(AT_LEAST_1, "teacher fine-tuning batch size"),
    "teacher_lr": Setting(
        POSITIVE, "teacher peak learning rate (AdamW, linear warm-up then decay)"
    ),
    "teacher_warmup": Setting(SHARE, "share of the teacher's steps with linear warm-up"),
    "teacher_evals_per_epoch": Setting(
        AT_LEAST_1, "teacher selection points per epoch (early stopping)"
    ),
    "student_epochs": Setting(
        AT_LEAST_1, "student training epochs (a student's own `epochs` option wins)"
    ),
    "student_batch_size": Setting(AT_LEAST_1, "student training batch size"),
    "student_lr": Setting(
        POSITIVE, "student learning rate (a student's own `learning_rate` option wins)"
    ),
    "annotate_batch_size": Setting(
        Bounds(min=0), "sentences per annotation batch; 0 = auto (1024 on a GPU, 128 on CPU)"
    ),
    "annotate_precision": Setting(
        Bounds(choices=ANNOTATE_PRECISIONS), "teacher precision when annotating transfer sets"
    ),
    "teacher_seed": Setting(
        SEED_BOUNDS, "one teacher from this seed, the seeds vary students (unset: one per seed)"
    ),
}
MEASURE_FIELDS: dict[str, Setting] = {
    "threads": Setting(AT_LEAST_1, "CPU threads for timing, fixed and recorded"),
    "batch_size": Setting(AT_LEAST_1, "throughput batch size"),
    "latency_samples": Setting(AT_LEAST_1, "sentences timed one at a time for latency p50/p90"),
    "repeats": Setting(AT_LEAST_1, "quiet timed passes wanted; the median and spread are reported"),
    "warmup": Setting(Bounds(min=0), "untimed passes before timing; 0 = none"),
    "min_pass_seconds": Setting(
        POSITIVE, "a timed pass repeats its batches until it lasts this long"
    ),
    "max_sentences": Setting(AT_LEAST_1, "evaluation sentences throughput is measured on"),
    "isolate": Setting(
        Bounds(), "measure in a fresh subprocess, so memory figures are the model's own"
    ),
    "max_background_load": Setting(
        SHARE,
        "share of the machine's CPU other processes may use during a pass before it is re-run",
    ),
    "max_passes": Setting(AT_LEAST_1, "timed passes in all, re-runs included; at least `repeats`"),
    "train_steps": Setting(
        Bounds(min=0), "training steps timed for the training memory peak; 0 = skip"
    ),
    "variants": Setting(
        Bounds(choices=MEASURE_VARIANTS), "deployment variants re-scored and re-timed, each once"
    ),
}
SECTIONS: dict[str, tuple[type, dict[str, Setting]]] = {
    "budget": (Budget, BUDGET_FIELDS),
    "measure": (MeasureConfig, MEASURE_FIELDS),
}


def check_settings(values: Any, section: str, path: str) -> None:
    """Every field of a ``Budget`` / ``MeasureConfig`` within its range, or a one-line
    BenchError: ``<path>: [budget].teacher_epochs must be >= 1, got 0``."""
    for name, setting in SECTIONS[section][1].items():
        problem = setting.bounds.violation(_listed(getattr(values, name)))
        if problem:
            raise BenchError(f"{path}: [{section}].{name} {problem}")


def _listed(value: Any) -> Any:
    # Bounds checks a list item by item; a tuple field (variants) is a TOML array
    return list(value) if isinstance(value, tuple) else value


def field_type(cls: type, name: str) -> str:
    """The type as a matrix writes it (``int | None``, ``list[str]``), for ``bench list``."""
    written = next(str(f.type) for f in fields(cls) if f.name == name)
    return written.replace("tuple[str, ...]", "list[str]")  # a TOML array of names
