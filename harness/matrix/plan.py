"""Planning: matrix x registry -> cells and the shared stages they need. Pure, no torch.

Every stage gets a content key (``matrix/keys.py``). The expensive stages (teacher fine-tuning, annotation)
depend only on (dataset, teacher, augmenter, seed), so S students x L losses share them.

Bad input is a ``BenchError`` naming the matrix file, the entry and the field, before any
cell exists: an option out of its range (when entries are resolved), a teacher layer
beyond the teacher's depth, a matrix whose every cell is dropped (each drop's reason
listed) or that has no cell at all. A cell that cannot work (a loss needing what a
student lacks) is dropped with its reason, as long as some cell remains.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

from distill_bench.matrix.capabilities import (
    LossProfile,
    depth_problem,
    incompatibility,
    loss_profile,
    pair_problem,
    teacher_depth,
)
from distill_bench.matrix.components import Component, resolve
from distill_bench.matrix.keys import content_key
from distill_bench.matrix.model import Matrix
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import FILTER_OPTIONS, TEACHER_LOGITS


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
    # seed of the data subset, teacher, transfer set and annotation when the matrix has
    # teacher seeds (teacher_seeds or [budget].teacher_seed): every student seed then reads
    # that teacher; None = the cell's own seed
    teacher_seed: int | None = None
    several_teachers: bool = False  # the matrix's teacher_seeds: labels then name the teacher
    # a teacher assistant's cell ([assistants]): its student's logits on the transfer set
    # (annotate_key) replace the teacher's; None = the teacher's own
    assistant: Cell | None = None

    @property
    def data_seed(self) -> int:
        """The seed the shared stages (data, teacher, transfer set) use."""
        return self.seed if self.teacher_seed is None else self.teacher_seed

    @property
    def label(self) -> str:
        return cell_label(
            self.dataset.name, self.teacher.name, self.student.name, self.loss.name,
            self.augmenter.name, self.seed, self.teacher_seed if self.several_teachers else None,
        )  # fmt: skip


def cell_label(
    dataset: str, teacher: str, student: str, loss: str, augmenter: str, seed: int,
    teacher_seed: int | None = None,
) -> str:  # fmt: skip
    """``sst2 | minilm-l6 -> mlp [kd-soft, none, seed 0]``, with ``teacher seed N`` after the
    seed when the matrix distils from several teachers."""
    seeds = f"seed {seed}" + (f", teacher seed {teacher_seed}" if teacher_seed is not None else "")
    return f"{dataset} | {teacher} -> {student} [{loss}, {augmenter}, {seeds}]"


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
    excluded: int = 0  # cells the matrix's exclude left out


def make_plan(matrix: Matrix, registry: Registry, data_source: str = "") -> Plan:
    """Expand the cartesian product; ``data_source`` fingerprints where data comes from."""
    where = matrix.path
    axes = {
        kind: [resolve(e, registry, where) for e in entries]
        for kind, entries in matrix.axes.items()
    }
    check_depths(axes, registry, where)
    budget, measure = matrix.budget, asdict(matrix.measure)
    measure.pop("isolate")  # where it runs does not change what is measured
    stages: dict[str, Stage] = {}
    teacher_rows: dict[str, TeacherRow] = {}
    cells: list[Cell] = []
    dropped: list[Dropped] = []
    excluded = 0  # cells the matrix's exclude leaves out

    def add(kind: str, config: dict, deps: tuple[str, ...], label: str) -> str:
        key = content_key(kind, config, deps)
        stages.setdefault(key, Stage(kind, key, deps, label))
        return key

    for dataset, teacher, augmenter, teacher_seed, seed in itertools.product(
        axes["datasets"], axes["teachers"], axes["augmenters"],
        matrix.teacher_seed_choices(), matrix.seeds,
    ):  # fmt: skip
        # The shared stages (data subset, teacher, transfer set, annotation) take the
        # teacher seed when there is one (teacher_seeds, or [budget].teacher_seed): the
        # seeds then vary the students over each teacher instead of fine-tuning a teacher
        # per seed. Without one, every key is what it was.
        student_seed = seed
        seed = seed if teacher_seed is None else teacher_seed
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

        group: dict[tuple[str, str], Cell] = {}  # (student, loss) -> its cell, for assistants
        for student, loss in itertools.product(axes["students"], axes["losses"]):
            label = cell_label(
                dataset.name, teacher.name, student.name, loss.name, augmenter.name,
                student_seed, teacher_seed if matrix.teacher_seeds else None,
            )  # fmt: skip
            if any(
                rule.matches(dataset, teacher, student, loss, augmenter) for rule in matrix.exclude
            ):
                excluded += 1
                continue
            reason = pair_problem(registry, dataset, student, augmenter) or incompatibility(
                registry, teacher, student, loss, augmenter
            )
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
            names = [dataset.name, teacher.name, augmenter.name, student.name, loss.name]
            student_key, cell_key = _keys(
                student, loss, budget, student_seed, transfer_filter, measure, names,
                (annotate_key,) + ((features_key,) if features_key else ()),
            )  # fmt: skip
            group[student.name, loss.name] = Cell(
                cell_key, dataset, teacher, augmenter, student, loss, student_seed, data_key,
                teacher_key, transfer_key, annotate_key, student_key, features_key, profile,
                teacher_seed, matrix.teacher_seeds is not None,
            )  # fmt: skip
        cells.extend(group.values())
        by_name = {s.name: s for s in axes["students"]}
        for link in matrix.assistants:
            helper = group.get((link.via, link.loss))
            for loss in axes["losses"]:
                mine = group.get((link.student, loss.name))
                if mine is None:  # dropped above with its reason, or excluded (and its chain)
                    continue
                if TEACHER_LOGITS not in mine.profile.uses and not mine.profile.wants_features:
                    continue  # gold labels only (ce-hard): there is no teacher to replace
                student = replace(by_name[link.student], name=f"{link.student} via {link.via}")
                label = cell_label(
                    dataset.name, teacher.name, student.name, loss.name, augmenter.name,
                    student_seed, teacher_seed if matrix.teacher_seeds else None,
                )  # fmt: skip
                reason = assistant_problem(link, helper, mine.profile, loss.name)
                if reason:
                    dropped.append(Dropped(label, reason))
                    continue
                chained_key = add(
                    "annotate",
                    {"max_length": budget.max_length, "assistant": link.via},
                    (helper.student_key, transfer_key),
                    f"annotate {augmenter.name} transfer set with the assistant {link.via} "
                    f"({link.loss}) on {dataset.name} (seed {seed}, student seed {student_seed})",
                )
                names = [dataset.name, teacher.name, augmenter.name, student.name, loss.name]
                student_key, cell_key = _keys(
                    student, loss, budget, student_seed, transfer_filter, measure, names,
                    (chained_key,),
                )  # fmt: skip
                cells.append(replace(
                    mine, key=cell_key, student=student, annotate_key=chained_key,
                    student_key=student_key, assistant=helper,
                ))  # fmt: skip
    if not cells and dropped:  # it would fine-tune teachers for nothing and exit 0
        reasons = "; ".join(f"{d.label}: {d.reason}" for d in dropped)
        raise BenchError(f"{where}: every cell is dropped: {reasons}")
    if not cells and excluded:
        raise BenchError(f"{where}: exclude leaves out every cell ({excluded})")
    if not cells:  # only a Matrix built in code: the file format refuses empty axes
        raise BenchError(f"{where}: the matrix has no cells (an axis or the seeds are empty)")
    return Plan(
        matrix, tuple(stages.values()), tuple(teacher_rows.values()), tuple(cells), tuple(dropped),
        data_source, excluded,
    )  # fmt: skip


def _keys(student, loss, budget, seed, transfer_filter, measure, names, deps) -> tuple[str, str]:
    """A cell's student stage key (what it learns from: ``deps``) and its row key."""
    student_key = content_key(
        "student",
        {
            "student": student.config(),
            "loss": loss.config(),
            "budget": budget.student_part(),
            "seed": seed,
            "transfer_filter": transfer_filter,
        },
        deps,
    )
    names = list(names)
    return student_key, content_key(
        "measure", {"role": "student", "measure": measure, "names": names}, (student_key,)
    )


def assistant_problem(link, helper: Cell | None, profile: LossProfile, loss: str) -> str:
    """Why a student cannot learn through its assistant with ``loss`` ("" if it can)."""
    if helper is None:
        return f"its assistant's cell ({link.via}, {link.loss}) was dropped"
    if profile.wants_features:
        return f"loss {loss!r} reads the teacher's layers; an assistant gives logits only"
    return ""


def check_depths(axes: dict[str, list[Component]], registry: Registry, where: str) -> None:
    """Refuse a student or loss naming a teacher layer that a teacher of the matrix lacks
    (when its depth is known): bad input, whichever cells it would have been in."""
    for teacher in axes["teachers"]:
        depth = teacher_depth(registry, teacher)
        if depth is None:
            continue
        for student in axes["students"]:
            problem = depth_problem(registry, teacher, depth, student=student)
            if problem:
                raise BenchError(f"{where}: {problem}")
        for loss in axes["losses"]:
            problem = depth_problem(registry, teacher, depth, loss=loss)
            if problem:
                raise BenchError(f"{where}: {problem}")
