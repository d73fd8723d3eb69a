"""Pre-flight: what can be checked about a planned matrix without training, before anything is written.

``check_plan`` is what ``bench run`` and ``bench run --dry-run`` both run first, so a bad
matrix fails identically in both, in seconds, with one ``BenchError`` line naming the
matrix file, the entry and what to install or fix:

- extras: each component's ``Spec.requires``, the ONNX packages an ``onnx-*``
  ``[budget].annotate_precision`` or ``[measure].variants`` needs, and Ray for
  ``--executor ray``, looked up with ``importlib.util.find_spec`` (nothing is imported);
- data files: each dataset's (and augmenter's) ``check_files``: existence and header
  line of every local file it will read, not a full parse;
- teachers: each teacher's ``check`` against each dataset entry's name and label count
  (``DatasetLabels``, a ``TaskLabels``): a missing model folder, a head of another size.

It reads and never writes (no store, cache entry, lock or data cache) and imports no torch.
``load_datasets`` is the real run's next step, after the store is open: every dataset
through the data stage (cached), and the teacher check of a dataset whose label count
was unknown until it loaded.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill_bench.matrix.components import Component
from distill_bench.matrix.model import COMPOSE
from distill_bench.matrix.plan import Plan
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import Registry
from distill_bench.plugin_api.specs import SINGULAR

if TYPE_CHECKING:
    from distill_bench.stages.context import StageContext

ONNX_MODULES = ("onnx", "onnxruntime", "onnxscript")  # export, run, and torch's exporter
ONNX_INSTALL = 'pip install "distill-bench[onnx]"'
RAY_INSTALL = 'pip install "distill-bench[ray]"'


@dataclass(frozen=True)
class DatasetLabels:
    """What a teacher's ``check`` receives (a ``TaskLabels``): the dataset entry's name and
    its label count, known before any data loads."""

    name: str
    num_labels: int


def check_plan(
    plan: Plan, registry: Registry, data_dir: Path | None, executor: str = "local"
) -> None:
    """Every pre-flight check of ``plan``, cheapest first; the first problem is raised."""
    check_extras(plan, registry, executor)
    check_data_files(plan, registry, data_dir)
    check_teachers(plan, registry)


def entry(component: Component) -> str:
    """How an error names an axis entry: ``augmenter 'tang'``, or with its plugin when
    the entry is named otherwise (``teacher 'tiny' (plugin 'hf')``)."""
    kind = SINGULAR[component.kind]
    if component.plugin in (component.name, COMPOSE):
        return f"{kind} {component.name!r}"
    return f"{kind} {component.name!r} (plugin {component.plugin!r})"


def located(where: str, component: Component, exc: BenchError) -> BenchError:
    """``exc`` prefixed with the matrix file and the entry (once: a plugin's message may
    already start with the entry, as in "teacher 'mpnet-base' needs ...")."""
    message = str(exc)
    named = f"{SINGULAR[component.kind]} {component.name!r}"
    return BenchError(
        f"{where}: {message}"
        if message.startswith(named)
        else f"{where}: {entry(component)}: {message}"
    )


def components(plan: Plan) -> Iterator[Component]:
    """Each component the plan's rows use, once, in plan order (a loss composition's
    parts as components of their own)."""
    seen: set[tuple[str, str, str]] = set()
    for item in [*plan.teacher_rows, *plan.cells]:
        found = [item.dataset, item.teacher]
        if hasattr(item, "student"):  # a cell, not a teacher row
            found += [item.augmenter, item.student, *_loss_parts(item.loss)]
        for c in found:
            key = (c.kind, c.name, repr(c.options))  # options may hold lists: not hashable
            if key not in seen:
                seen.add(key)
                yield c


def _loss_parts(loss: Component) -> list[Component]:
    if loss.plugin != COMPOSE:
        return [loss]
    parts = dict(loss.options)["parts"]
    return [
        Component("losses", plugin, f"{loss.name}/{plugin}", options)
        for plugin, _, options in parts
    ]


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package missing, or not a module name
        return True


def check_extras(plan: Plan, registry: Registry, executor: str = "local") -> None:
    """The optional packages the plan needs are installed."""
    where = plan.matrix.path
    for component in components(plan):
        spec = registry.get(component.kind, component.plugin)
        for module, hint in spec.requires:
            if _missing(module):
                raise BenchError(
                    f"{where}: {entry(component)} needs the module {module!r}, which is not "
                    f"installed: {hint}"
                )
    needs: list[str] = []
    precision = plan.matrix.budget.annotate_precision
    if precision.startswith("onnx-") and any(s.kind == "annotate" for s in plan.stages):
        needs.append(f"[budget] annotate_precision = {precision!r}")
    needs += [
        f"[measure] variants {v!r}" for v in plan.matrix.measure.variants if v.startswith("onnx-")
    ]
    for what in needs[:1]:  # one line: the first setting that needs them
        missing = [m for m in ONNX_MODULES if _missing(m)]
        if missing:
            raise BenchError(
                f"{where}: {what} needs ONNX Runtime ({', '.join(missing)} not installed): "
                f"{ONNX_INSTALL}"
            )
    if executor == "ray" and _missing("ray"):
        raise BenchError(f"--executor ray needs Ray: {RAY_INSTALL}")


def check_data_files(plan: Plan, registry: Registry, data_dir: Path | None) -> None:
    """Every local file each dataset and augmenter will read is there, with its header."""
    where = plan.matrix.path
    for component in components(plan):
        if component.kind not in ("datasets", "augmenters"):
            continue
        check = getattr(registry.get(component.kind, component.plugin), "check_files", None)
        if check is None:
            continue
        try:
            check(component.options_dict(), data_dir)
        except BenchError as exc:
            raise located(where, component, exc) from None
        except OSError as exc:  # unreadable: permissions, a directory where a file belongs
            raise BenchError(
                f"{where}: {entry(component)}: cannot read its files ({exc})"
            ) from None


def label_count(registry: Registry, dataset: Component) -> int | None:
    """The dataset entry's label count from its spec, or None when unknown before loading."""
    spec = registry.get("datasets", dataset.plugin)
    return spec.label_count(dataset.options_dict())


def check_teacher(registry: Registry, teacher: Component, task: Any, where: str) -> None:
    """One teacher's ``check`` (when it has one) against ``task`` (a ``TaskLabels``)."""
    try:
        model = registry.get("teachers", teacher.plugin).factory(teacher.options_dict())
        check = getattr(model, "check", None)
        if check is not None:
            check(task)
    except BenchError as exc:
        raise located(where, teacher, exc) from None


def check_teachers(plan: Plan, registry: Registry) -> None:
    """Every teacher accepts every dataset it will be fine-tuned on (model folder, label
    count), for the datasets whose label count is known before loading."""
    done: set[tuple[str, str]] = set()
    for row in plan.teacher_rows:
        count = label_count(registry, row.dataset)
        if count is None or (row.teacher.name, row.dataset.name) in done:
            continue  # unknown: load_datasets checks it once the task is loaded
        done.add((row.teacher.name, row.dataset.name))
        check_teacher(
            registry, row.teacher, DatasetLabels(row.dataset.name, count), plan.matrix.path
        )


def load_datasets(ctx: StageContext) -> None:
    """The real run's second pre-flight step, after ``check_plan``: load every dataset of
    the plan through the data stage (a malformed row stops the run before any training),
    then check each teacher against the loaded task: a label count only loading told, or
    label names (a teacher used as given must name the dataset's labels)."""
    # imported here: the data stage imports torch, and check_plan must not
    from distill_bench.stages.context import StageFailed
    from distill_bench.stages.data.stage import entry_task, task_of

    plan = ctx.plan
    for item in [*plan.teacher_rows, *plan.cells]:
        try:
            task_of(ctx, item)
        except StageFailed as failure:
            raise BenchError(f"dataset {item.dataset.name!r}: {failure.error}") from None
    for row in plan.teacher_rows:
        check_teacher(ctx.registry, row.teacher, entry_task(ctx, row), plan.matrix.path)
