"""Planning: matrix x registry -> cells and the shared stages they need. Pure, no torch.

Every stage gets a content key: a hash of its resolved config, the keys it depends on,
and the stage's code version. The expensive stages (teacher fine-tuning, annotation)
depend only on (dataset, teacher, augmenter, seed), so S students x L losses share them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from typing import Any

from distill_bench.matrix.model import COMPOSE, Entry, Matrix
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import (
    FILTER_OPTIONS,
    GOLD_LABELS,
    SINGULAR,
    TEACHER_FEATURES,
    TEACHER_LOGITS,
    AugmenterSpec,
    LossSpec,
    StudentSpec,
    TeacherSpec,
)

# Bump a stage's version when its code changes what it computes: old cache entries
# then miss instead of being silently reused.
STAGE_VERSIONS = {
    "data": 2,
    "teacher": 2,  # 2: bf16 autocast really applied on CPU (was recorded, not used)
    "transfer": 2,  # 2: harness-side leakage removal, dedup, size, composition
    "annotate": 2,
    "student": 3,  # 3: the teacher-confidence filter on the transfer set
    "measure": 2,  # 2: steady allocator in the measuring subprocess (small models were 2-3x slow)
    "features": 1,
    "tokens": 1,  # a transfer set's student token ids, memory-mapped (harness/token_ids.py)
}


def content_key(stage: str, config: dict[str, Any], deps: tuple[str, ...] = ()) -> str:
    payload = {
        "stage": stage,
        "version": STAGE_VERSIONS[stage],
        "config": config,
        "deps": list(deps),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Component:
    """An axis entry resolved against its spec: every option present and typed."""

    kind: str
    plugin: str
    name: str
    options: tuple[tuple[str, Any], ...]

    def config(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "options": dict(self.options)}

    def options_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class Stage:
    kind: str  # data | teacher | transfer | annotate
    key: str
    deps: tuple[str, ...]
    label: str  # human-readable, for the dry-run plan


@dataclass(frozen=True)
class Cell:
    """One experiment: a student distilled with a loss, plus the stages it reads."""

    key: str
    dataset: Component
    teacher: Component
    augmenter: Component
    student: Component
    loss: Component
    seed: int
    data_key: str
    teacher_key: str
    transfer_key: str
    annotate_key: str
    student_key: str
    features_key: str | None = None  # teacher hidden states / attentions, when the loss needs them
    profile: LossProfile | None = None
    # seed of the data subset, teacher, transfer set and annotation when [budget].teacher_seed
    # is set: every student seed then reads ONE teacher; None = the cell's own seed
    teacher_seed: int | None = None

    @property
    def data_seed(self) -> int:
        """The seed the shared stages (data, teacher, transfer set) use."""
        return self.seed if self.teacher_seed is None else self.teacher_seed

    @property
    def label(self) -> str:
        return (
            f"{self.dataset.name} | {self.teacher.name} -> {self.student.name} "
            f"[{self.loss.name}, {self.augmenter.name}, seed {self.seed}]"
        )


@dataclass(frozen=True)
class TeacherRow:
    """The teacher's own leaderboard row: one per (dataset, teacher, seed)."""

    key: str
    dataset: Component
    teacher: Component
    seed: int
    data_key: str
    teacher_key: str

    @property
    def data_seed(self) -> int:
        return self.seed


@dataclass(frozen=True)
class Dropped:
    label: str
    reason: str


@dataclass(frozen=True)
class Plan:
    matrix: Matrix
    stages: tuple[Stage, ...]  # in dependency order, each key once
    teacher_rows: tuple[TeacherRow, ...]
    cells: tuple[Cell, ...]
    dropped: tuple[Dropped, ...]
    data_source: str = ""  # the data fingerprint every data key carries; executors replan with it


def resolve(entry: Entry, registry: Registry, where: str) -> Component:
    if entry.plugin == COMPOSE:
        return _resolve_composition(entry, registry, where)
    try:
        spec = registry.get(entry.kind, entry.plugin)
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    options = spec.resolve(dict(entry.options), f"{where}: {SINGULAR[entry.kind]} {entry.name!r}")
    return Component(entry.kind, entry.plugin, entry.name, tuple(sorted(options.items())))


def _resolve_composition(entry: Entry, registry: Registry, where: str) -> Component:
    parts = []
    for plugin, weight, options in dict(entry.options)["parts"]:
        part = resolve(Entry("losses", plugin, f"{entry.name}/{plugin}", options), registry, where)
        parts.append((plugin, weight, part.options))
    return Component("losses", COMPOSE, entry.name, (("parts", tuple(parts)),))


@dataclass(frozen=True)
class LossProfile:
    """What a loss (or a composition of losses) needs, from the specs alone."""

    needs: frozenset[str]
    uses: frozenset[str]
    hidden_layers: tuple[int, ...] = ()  # teacher hidden states (0 = embeddings)
    attention_layers: tuple[int, ...] = ()  # teacher attention maps (1-based)
    per_head: bool = False  # attention maps kept per head instead of head-averaged

    @property
    def wants_features(self) -> bool:
        return bool(self.hidden_layers or self.attention_layers)


def loss_parts(loss: Component) -> list[tuple[str, float, dict[str, Any]]]:
    """(plugin, weight, options) of each part; a plain loss is one part of weight 1."""
    if loss.plugin == COMPOSE:
        return [
            (plugin, weight, dict(options))
            for plugin, weight, options in dict(loss.options)["parts"]
        ]
    return [(loss.plugin, 1.0, loss.options_dict())]


def loss_profile(registry: Registry, loss: Component) -> LossProfile:
    needs, uses, hidden, attention, per_head = set(), set(), set(), set(), False
    for plugin, _, options in loss_parts(loss):
        spec = registry.get("losses", plugin)
        assert isinstance(spec, LossSpec)
        needs |= spec.needs
        uses |= spec.uses
        if spec.teacher_features is not None:
            layers, attentions = spec.teacher_features(options)
            (attention if attentions else hidden).update(layers)
            per_head = per_head or (attentions and options.get("heads") == "per-head")
    return LossProfile(
        frozenset(needs), frozenset(uses), tuple(sorted(hidden)), tuple(sorted(attention)), per_head
    )


def incompatibility(
    registry: Registry,
    teacher: Component,
    student: Component,
    loss: Component,
    augmenter: Component,
) -> str | None:
    """Why a cell cannot work, or None. Checked from capability flags alone."""
    loss_spec = loss_profile(registry, loss)
    student_spec = registry.get("students", student.plugin)
    teacher_spec = registry.get("teachers", teacher.plugin)
    augmenter_spec = registry.get("augmenters", augmenter.plugin)
    assert isinstance(student_spec, StudentSpec)
    assert isinstance(teacher_spec, TeacherSpec) and isinstance(augmenter_spec, AugmenterSpec)
    missing = sorted(loss_spec.needs - student_spec.exposes)
    if missing:
        return f"loss {loss.name!r} needs {', '.join(missing)}, which student {student.name!r} does not expose"
    missing = sorted(loss_spec.needs - teacher_spec.exposes)
    if missing:
        return f"loss {loss.name!r} needs teacher {', '.join(missing)}, which teacher {teacher.name!r} does not expose"
    if loss_spec.uses == {GOLD_LABELS} and not augmenter_spec.gold_labels:
        return (
            f"loss {loss.name!r} learns from gold labels only, and augmenter "
            f"{augmenter.name!r} makes unlabelled text"
        )
    if not loss_spec.uses & {GOLD_LABELS, TEACHER_LOGITS, TEACHER_FEATURES}:
        return f"loss {loss.name!r} declares no training signal"
    return None


def make_plan(matrix: Matrix, registry: Registry, data_source: str = "") -> Plan:
    """Expand the cartesian product; ``data_source`` fingerprints where data comes from."""
    where = matrix.path
    axes = {
        kind: [resolve(e, registry, where) for e in entries]
        for kind, entries in matrix.axes.items()
    }
    budget, measure = matrix.budget, asdict(matrix.measure)
    measure.pop("isolate")  # where it runs does not change what is measured
    stages: dict[str, Stage] = {}
    teacher_rows: dict[str, TeacherRow] = {}
    cells: list[Cell] = []
    dropped: list[Dropped] = []

    def add(kind: str, config: dict, deps: tuple[str, ...], label: str) -> str:
        key = content_key(kind, config, deps)
        stages.setdefault(key, Stage(kind, key, deps, label))
        return key

    for dataset, teacher, augmenter, seed in itertools.product(
        axes["datasets"], axes["teachers"], axes["augmenters"], matrix.seeds
    ):
        # The shared stages (data subset, teacher, transfer set, annotation) take the seed
        # of [budget].teacher_seed when set: seeds then vary the students over one teacher
        # instead of fine-tuning a teacher per seed. Unset, every key is what it was.
        student_seed = seed
        seed = seed if budget.teacher_seed is None else budget.teacher_seed
        data_cfg = dataset.config() | {
            "source": data_source,
            "max_train_examples": budget.max_train_examples,
            "max_select_examples": budget.max_select_examples,
            "max_eval_examples": budget.max_eval_examples,
            "seed": seed,
        }
        data_key = add("data", data_cfg, (), f"load {dataset.name} (seed {seed})")
        teacher_key = add(
            "teacher",
            teacher.config() | {"budget": budget.teacher_part(), "seed": seed},
            (data_key,),
            f"fine-tune {teacher.name} on {dataset.name} (seed {seed})",
        )
        # Row keys carry display names: two entries sharing a plugin and options share
        # every stage, but each keeps its own leaderboard row.
        row_key = content_key(
            "measure",
            {"role": "teacher", "measure": measure, "names": [dataset.name, teacher.name]},
            (teacher_key,),
        )
        teacher_rows.setdefault(
            row_key, TeacherRow(row_key, dataset, teacher, seed, data_key, teacher_key)
        )
        # The confidence filter reads teacher logits: it shapes students, not the set. An
        # augmenter that reads the teacher makes one set per teacher; others share theirs.
        augmenter_options = augmenter.options_dict()
        transfer_filter = {k: augmenter_options.pop(k) for k in sorted(FILTER_OPTIONS)}
        needs_teacher = registry.get("augmenters", augmenter.plugin).needs_teacher
        transfer_key = add(
            "transfer",
            {"plugin": augmenter.plugin, "options": augmenter_options}
            | {"max_transfer_examples": budget.max_transfer_examples, "seed": seed},
            (data_key, teacher_key) if needs_teacher else (data_key,),
            f"transfer set {augmenter.name} for {dataset.name} (seed {seed})"
            + (f" from {teacher.name}" if needs_teacher else ""),
        )
        annotate_key = add(
            "annotate",
            {"max_length": budget.max_length, "precision": budget.annotate_precision},
            (teacher_key, transfer_key),
            f"annotate {augmenter.name} transfer set with {teacher.name} on {dataset.name} (seed {seed})",
        )
        for student, loss in itertools.product(axes["students"], axes["losses"]):
            label = (
                f"{dataset.name} | {teacher.name} -> {student.name} "
                f"[{loss.name}, {augmenter.name}, seed {student_seed}]"
            )
            reason = incompatibility(registry, teacher, student, loss, augmenter)
            if reason:
                dropped.append(Dropped(label, reason))
                continue
            profile = loss_profile(registry, loss)
            features_key = None
            if profile.wants_features:
                features_key = add(
                    "features",
                    {"hidden_layers": list(profile.hidden_layers),
                     "attention_layers": list(profile.attention_layers),
                     "per_head": profile.per_head, "max_length": budget.max_length},
                    (teacher_key, transfer_key),
                    f"teacher hidden states {list(profile.hidden_layers)}, attention maps "
                    f"{list(profile.attention_layers)} of {teacher.name} on the {augmenter.name} "
                    f"transfer set of {dataset.name} (seed {seed})",
                )  # fmt: skip
            student_key = content_key(
                "student",
                {
                    "student": student.config(),
                    "loss": loss.config(),
                    "budget": budget.student_part(),
                    "seed": student_seed,
                    "transfer_filter": transfer_filter,
                },
                (annotate_key,) + ((features_key,) if features_key else ()),
            )
            names = [dataset.name, teacher.name, augmenter.name, student.name, loss.name]
            cell_key = content_key(
                "measure", {"role": "student", "measure": measure, "names": names}, (student_key,)
            )
            cells.append(
                Cell(
                    cell_key,
                    dataset,
                    teacher,
                    augmenter,
                    student,
                    loss,
                    student_seed,
                    data_key,
                    teacher_key,
                    transfer_key,
                    annotate_key,
                    student_key,
                    features_key,
                    profile,
                    budget.teacher_seed,
                )
            )
    return Plan(
        matrix, tuple(stages.values()), tuple(teacher_rows.values()), tuple(cells), tuple(dropped),
        data_source,
    )  # fmt: skip
