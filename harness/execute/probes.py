"""``bench analyze``'s probes: which of a matrix's cached models to probe (``probe_jobs``,
pure, for ``--dry-run``) and probing them (``run_probes``; ``stages.probe`` does the work).

Each entry of the analysis page (the teacher, each student / loss / augmenter) is probed on
up to ``ProbeConfig.runs`` of its runs, spread over teacher seeds first, so a student's
runs pair with probed teachers of the same seed where the matrix has several."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from distill_bench.analysis.page import entry_label
from distill_bench.analysis.probes import ProbeRuns, ProbeSetInfo
from distill_bench.execute.api import PlannedMatrix
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.report.entries import TEACHER_MARK
from distill_bench.report.seeds import unit_of
from distill_bench.report.stats import Unit, one_per_seed, teacher_blind
from distill_bench.stages.probe.plan import ProbeConfig, results_key, sets_key
from distill_bench.stages.probe.tasks import SPLITS
from distill_bench.store.results import ResultRow


@dataclass(frozen=True)
class ProbeJob:
    dataset: str
    entry: str  # the analysis page's label: "(teacher)" or "student / loss / augmenter"
    unit: Unit  # (teacher seed, seed)
    stage: str  # the cached model's stage: "teacher" or "student"
    model_key: str
    component: str  # the teacher entry (for its plugin) or the student entry
    sets_key: str
    key: str
    cached: bool


@dataclass(frozen=True)
class DatasetProbes:
    sets: dict[str, ProbeSetInfo]
    entries: list[ProbeRuns]  # the teacher first, as the jobs were ordered


@dataclass(frozen=True)
class ProbePlan:
    jobs: tuple[ProbeJob, ...]
    sets: dict[str, str]  # dataset -> its probe sets' key
    sets_cached: dict[str, bool]
    skipped: dict[str, str]  # dataset -> why it has no probes


def _spread(units: Sequence[Unit], runs: int) -> list[Unit]:
    """The first ``runs`` units, one per teacher seed before a second student seed."""
    return sorted(units, key=lambda u: (u[1], u[0]))[:runs]


def probe_jobs(planned: PlannedMatrix, rows: Sequence[ResultRow], config: ProbeConfig) -> ProbePlan:
    """The probe stages the finished ``rows`` call for, and which are cached."""
    cells = {c.key: c for c in planned.plan.cells}
    teachers = {t.key: t for t in planned.plan.teacher_rows}
    sets, skipped, entries, predictions = {}, {}, {}, {}
    present = {r.dataset for r in rows}
    for t in planned.plan.teacher_rows:
        if t.dataset.name not in present:
            continue
        spec = planned.registry.get("datasets", t.dataset.plugin)
        if spec.gives_pairs(t.dataset.options_dict()):
            skipped[t.dataset.name] = (
                "its texts are sentence pairs; the probes read single sentences"
            )
        else:
            sets.setdefault(t.dataset.name, sets_key(t.data_key, config))
    for r in rows:
        if r.status != "ok" or r.dataset not in sets:
            continue
        if r.role == "teacher" and r.key in teachers:
            t = teachers[r.key]
            found = ("teacher", t.teacher_key, t.teacher.name)
        elif r.key in cells:
            c = cells[r.key]
            found = ("student", c.student_key, c.student.name)
        else:
            continue
        label = entry_label(r.role, r.student, r.loss, r.augmenter)
        entries.setdefault((r.dataset, label), {})[unit_of(r)] = found
        predictions.setdefault((r.dataset, label), {})[unit_of(r)] = r.metrics.get(
            "eval_predictions"
        )
    for entry, by_unit in entries.items():  # the same run under every teacher: probe seeds
        preds = predictions[entry]
        if None not in preds.values() and teacher_blind(preds):
            entries[entry] = one_per_seed(by_unit)
    jobs = []
    for (dataset, label), by_unit in sorted(
        entries.items(), key=lambda kv: (kv[0][0], kv[0][1] != TEACHER_MARK, kv[0][1])
    ):
        for unit in _spread(list(by_unit), config.runs):
            stage, model_key, component = by_unit[unit]
            key = results_key(sets[dataset], model_key, config)
            cached = planned.cache.exists("probe", key)  # no checksums: planning only looks
            jobs.append(
                ProbeJob(
                    dataset, label, unit, stage, model_key, component, sets[dataset], key, cached
                )
            )
    sets_cached = {d: planned.cache.exists("probe_sets", k) for d, k in sets.items()}
    return ProbePlan(tuple(jobs), sets, sets_cached, skipped)


def run_probes(
    planned: PlannedMatrix, plan: ProbePlan, config: ProbeConfig, progress: Progress = quiet
) -> dict[str, DatasetProbes]:
    """Every dataset's probe sets and each entry's probe scores per run, computed where
    not cached (models load one at a time)."""
    # spaCy and the classifiers' torch load here, only when probes run: planning stays light
    from distill_bench.stages.probe.stage import probe_scores, probe_sets

    # each model a probe still needs, checked once and before any work: one evicted from
    # the cache stops the run here (a cached probe needs no model)
    models = {}
    for job in (j for j in plan.jobs if not j.cached):
        models[job] = planned.cache.get(job.stage, job.model_key)
        if models[job] is None:
            raise BenchError(
                f"{job.dataset} | {job.entry} (seeds {job.unit}): its {job.stage} stage "
                f"{job.model_key} is no longer in the cache; re-run the matrix to probe it"
            )
    out = {}
    by_dataset = {t.dataset.name: t for t in planned.plan.teacher_rows}
    for dataset, key in plan.sets.items():
        jobs = [j for j in plan.jobs if j.dataset == dataset]
        if not jobs:
            continue
        texts = functools.partial(_train_texts, planned, by_dataset[dataset])
        sets = probe_sets(planned.cache, key, texts, config, progress)
        runs: dict[str, dict] = {}
        for job in jobs:
            if not job.cached:
                progress.log(f"probing {job.dataset} | {job.entry} (seeds {job.unit})")
            load = functools.partial(_forward, planned, job, models.get(job), config.max_length)
            scores = probe_scores(planned.cache, job.key, sets, load, config, progress)
            runs.setdefault(job.entry, {})[job.unit] = scores
        infos = {
            name: ProbeSetInfo(
                name, s.label_names, tuple(len(s.indices(x)) for x in SPLITS), s.note
            )
            for name, s in sets.items()
        }
        out[dataset] = DatasetProbes(infos, [ProbeRuns(e, r) for e, r in runs.items()])
    return out


def _forward(planned: PlannedMatrix, job: ProbeJob, entry, max_length: int):
    """The job's model, loaded from its cache entry, as ``represent``'s forward."""
    # torch loads only when a probe is computed (see run_probes)
    from distill_bench.stages.probe import represent

    if job.stage == "student":
        return represent.student_forward(entry, planned.registry, max_length, job.component)
    teacher = next(t.teacher for t in planned.plan.teacher_rows if t.teacher_key == job.model_key)
    model = planned.registry.get("teachers", teacher.plugin).factory(teacher.options_dict())
    return represent.teacher_forward(model, entry, max_length, job.component)


def _train_texts(planned: PlannedMatrix, row) -> list[str]:
    """The dataset's training text (all of it: the probes draw their own pool)."""
    spec = planned.registry.get("datasets", row.dataset.plugin)
    task = spec.factory(row.dataset.options_dict(), planned.data_dir)
    return list(task.train.texts)
