"""Plugin discovery and the registry: built-ins, third-party plugins, entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

import distill_bench
import pytest
from distill_bench import BenchError, LossSpec, StudentSpec, hookimpl
from distill_bench.plugin_api.registry import (
    BUILTIN_PLUGINS,
    DISABLE_ENV,
    collect,
    load_registry,
    make_plugin_manager,
    plugin_origins,
)
from distill_bench.plugin_api.specs import TEACHER_LOGITS

STUDENTS = "distill_bench.plugins.students"
LOSSES = "distill_bench.plugins.losses"


@pytest.fixture(autouse=True)
def _no_env_disable(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def make_plugin(name: str, **hooks) -> types.ModuleType:
    """A module-like third-party plugin whose hooks are the given functions."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def student_plugin(name: str, *student_names: str) -> types.ModuleType:
    def register_students(register):
        for student in student_names:
            register(StudentSpec(name=student, factory=lambda options, v, n: None))

    return make_plugin(name, register_students=register_students)


def test_builtins_register_every_kind():
    """The built-in plugins provide at least one spec of every kind, sourced to their module."""
    registry = load_registry()
    for kind, specs in registry.specs.items():
        assert specs, f"no built-in {kind}"
    assert registry.sources[("students", "mlp")] == STUDENTS
    assert registry.sources[("losses", "kd-soft")] == LOSSES


def test_third_party_plugin_is_collected():
    """A plugin object handed to the manager contributes specs and is named as their source."""
    pm = make_plugin_manager(entrypoints=False, extra=[student_plugin("acme_students", "acme-cnn")])
    registry = collect(pm)
    assert "acme-cnn" in registry.specs["students"]
    assert registry.sources[("students", "acme-cnn")] == "acme_students"
    assert {"mlp", "bilstm"} <= set(registry.specs["students"])  # built-ins still there
    origins = {name: origin for name, origin, _ in plugin_origins(pm)}
    assert origins["acme_students"] == "registered directly"
    assert origins[STUDENTS].startswith("built-in")


def test_registry_keeps_registration_order():
    """Built-ins are listed before third-party specs (the order `bench list` shows)."""
    pm = make_plugin_manager(entrypoints=False, extra=[student_plugin("late", "zz-late")])
    names = list(collect(pm).specs["students"])
    assert names[-1] == "zz-late"
    assert names.index("mlp") < names.index("zz-late")


def test_managers_are_independent():
    """No global state: a plugin added to one manager is absent from a fresh one."""
    collect(make_plugin_manager(entrypoints=False, extra=[student_plugin("one_off", "one-off")]))
    assert "one-off" not in collect(make_plugin_manager(entrypoints=False)).specs["students"]


def test_builtins_can_be_left_out():
    """builtins=False gives an empty registry for a test to fill."""
    registry = collect(make_plugin_manager(builtins=False, entrypoints=False))
    assert all(not specs for specs in registry.specs.values())


def test_duplicate_name_names_both_sources():
    """Two plugins registering the same student name fail, naming both plugins in order."""
    pm = make_plugin_manager(entrypoints=False, extra=[student_plugin("copycat", "mlp")])
    with pytest.raises(BenchError) as info:
        collect(pm)
    message = str(info.value)
    assert "'mlp'" in message
    assert f"by {STUDENTS!r} and by 'copycat'" in message


def test_duplicate_within_one_plugin():
    """A single plugin registering a name twice is caught too."""
    pm = make_plugin_manager(
        builtins=False, entrypoints=False, extra=[student_plugin("twice", "a", "a")]
    )
    with pytest.raises(BenchError, match="registered twice"):
        collect(pm)


def test_same_name_in_different_kinds_is_fine():
    """Names are unique per kind, not globally."""

    def register_losses(register):
        register(LossSpec(name="mlp", factory=lambda o: None, uses=frozenset({TEACHER_LOGITS})))

    pm = make_plugin_manager(
        entrypoints=False, extra=[make_plugin("mlp_loss", register_losses=register_losses)]
    )
    registry = collect(pm)
    assert "mlp" in registry.specs["losses"] and "mlp" in registry.specs["students"]


def test_unknown_name_lists_available():
    """Asking for a missing name fails with every available name of that kind."""
    registry = load_registry()
    with pytest.raises(BenchError) as info:
        registry.get("students", "lstm")
    message = str(info.value)
    assert "unknown student 'lstm'" in message
    assert all(name in message for name in ("bilstm", "mlp", "cnn"))


def test_wrong_spec_type_raises_type_error():
    """register_students handing over a LossSpec is a plugin bug, reported with the plugin name."""

    def register_students(register):
        register(LossSpec(name="oops", factory=lambda o: None))

    pm = make_plugin_manager(
        entrypoints=False, extra=[make_plugin("confused", register_students=register_students)]
    )
    with pytest.raises(TypeError) as info:
        collect(pm)
    assert "confused" in str(info.value)
    assert "LossSpec" in str(info.value) and "StudentSpec" in str(info.value)


def test_disable_builtin_by_argument():
    """disabled= blocks a built-in plugin: its specs disappear, others stay."""
    pm = make_plugin_manager(entrypoints=False, disabled=[LOSSES])
    registry = collect(pm)
    assert registry.specs["losses"] == {}
    assert "mlp" in registry.specs["students"]
    assert (LOSSES, "blocked", "") in plugin_origins(pm)


def test_disable_by_env_var(monkeypatch):
    """BENCH_DISABLE_PLUGINS (comma separated, spaces allowed) blocks plugins too."""
    monkeypatch.setenv(DISABLE_ENV, f"{LOSSES}, {STUDENTS}")
    registry = load_registry()
    assert registry.specs["losses"] == {} and registry.specs["students"] == {}
    assert registry.specs["datasets"]


def test_disable_third_party_plugin():
    """A blocked third-party plugin object is not registered at all."""
    pm = make_plugin_manager(
        entrypoints=False, disabled=["acme"], extra=[student_plugin("acme", "acme-cnn")]
    )
    assert "acme-cnn" not in collect(pm).specs["students"]


def test_builtin_plugin_names_are_importable():
    """Every built-in plugin name is a module under distill_bench.plugins."""
    assert all(name.startswith("distill_bench.plugins.") for name in BUILTIN_PLUGINS)
    pm = make_plugin_manager(entrypoints=False)
    for name in BUILTIN_PLUGINS:
        assert pm.get_plugin(name) is not None


# --- entry points -----------------------------------------------------------------------

FAKE_MODULE = "fake_distill_bench_plugin"


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """An installed-looking distribution on sys.path declaring a `distill_bench` entry point."""

    def install(plugin_source: str) -> None:
        (tmp_path / f"{FAKE_MODULE}.py").write_text(textwrap.dedent(plugin_source))
        info = tmp_path / "fake_plugin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[distill_bench]\nfake = {FAKE_MODULE}\n")
        monkeypatch.syspath_prepend(str(tmp_path))

    sys.modules.pop(FAKE_MODULE, None)
    yield install
    sys.modules.pop(FAKE_MODULE, None)


FAKE_LOSS_PLUGIN = """
    import distill_bench
    from distill_bench.plugin_api.specs import TEACHER_LOGITS

    @distill_bench.hookimpl
    def register_losses(register):
        register(distill_bench.LossSpec(
            name="fake-loss", factory=lambda options: None, uses=frozenset({TEACHER_LOGITS})))
"""


def test_entry_point_plugin_is_discovered(fake_distribution):
    """A distribution declaring the entry-point group is loaded and its origin reported."""
    fake_distribution(FAKE_LOSS_PLUGIN)
    pm = make_plugin_manager()
    assert pm.get_plugin("fake") is not None
    registry = collect(pm)
    assert "fake-loss" in registry.specs["losses"]
    assert registry.sources[("losses", "fake-loss")] == "fake"
    rows = {name: (origin, hooks) for name, origin, hooks in plugin_origins(pm)}
    origin, hooks = rows["fake"]
    assert origin.startswith("entry point of fake-plugin 0.1")
    assert hooks == "register_losses"


def test_entry_points_can_be_switched_off(fake_distribution):
    """entrypoints=False ignores installed plugins."""
    fake_distribution(FAKE_LOSS_PLUGIN)
    assert "fake-loss" not in collect(make_plugin_manager(entrypoints=False)).specs["losses"]


@pytest.mark.parametrize("how", ["argument", "env"])
def test_entry_point_plugin_can_be_disabled(fake_distribution, monkeypatch, how):
    """Blocking the entry-point name keeps the plugin from being imported."""
    fake_distribution(FAKE_LOSS_PLUGIN)
    if how == "env":
        monkeypatch.setenv(DISABLE_ENV, "fake")
        pm = make_plugin_manager()
    else:
        pm = make_plugin_manager(disabled=["fake"])
    assert "fake-loss" not in collect(pm).specs["losses"]
    assert FAKE_MODULE not in sys.modules
    assert ("fake", "blocked", "") in plugin_origins(pm)


def test_entry_point_duplicate_of_builtin(fake_distribution):
    """An installed plugin reusing a built-in name fails, naming the built-in and the entry point."""
    fake_distribution(
        """
        import distill_bench

        @distill_bench.hookimpl
        def register_students(register):
            register(distill_bench.StudentSpec(name="mlp", factory=lambda o, v, n: None))
        """
    )
    with pytest.raises(BenchError, match=f"by {STUDENTS!r} and by 'fake'"):
        load_registry()


# --- `bench list` stays light ---------------------------------------------------------


def test_load_registry_does_not_import_torch():
    """Listing plugins must not import torch or transformers (it would take seconds)."""
    code = (
        "import sys\n"
        "from distill_bench.plugin_api.registry import load_registry\n"
        "r = load_registry()\n"
        "assert r.specs['students'], r\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_package_exports_hookimpl_marker():
    """Plugins use distill_bench.hookimpl; it must be the marker of the project's hookspecs."""
    assert distill_bench.hookimpl.project_name == "distill_bench"
