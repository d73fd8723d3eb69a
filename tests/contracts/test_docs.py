"""The contract documentation stays true, as datasette's tests keep its hook docs true.

- every hook in ``plugin_api/hookspecs.py`` has a docstring naming its Spec and the
  Protocol of its factory; every Protocol ``distill_bench.plugin_api`` exports (from
  ``plugin_api/protocols.py`` and ``plugin_api/contexts.py``) is named by a hook,
  and every Protocol method (``__call__`` included) has a docstring and is written out in a
  hook docstring;
- every signature written in a hook docstring (````Teacher.finetune(task, ...) -> dict````,
  ````Loss(student_out, batch) -> torch.Tensor```` for a callable Protocol) matches
  ``inspect.signature`` of the Protocol method: parameter names, order, defaults, return;
- README's "Commands" section (the ``<!-- commands -->`` block) is every ``bench``
  subcommand's usage exactly as argparse prints it, so a new flag without docs fails.
  Regenerate the block with ``python -m tests.contracts.test_docs``.
"""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args, get_type_hints

import distill_bench.plugin_api as plugin_api
import pytest
from distill_bench.cli import build_parser
from distill_bench.plugin_api import contexts, hookspecs, protocols

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
USAGE_COLUMNS = "100"  # argparse wraps usage at $COLUMNS - 2; the README block uses this width
HOOKS = {
    name: fn
    for name, fn in vars(hookspecs).items()
    if callable(fn) and name.startswith("register_") and fn.__module__ == hookspecs.__name__
}
PROTOCOLS = {name: getattr(plugin_api, name) for name in plugin_api.__all__}
# ``Teacher.finetune(task, budget) -> dict`` or ``Loss(student_out, batch) -> torch.Tensor``
SIGNATURE = re.compile(
    r"``(?P<protocol>[A-Z]\w*)(?:\.(?P<method>\w+))?\((?P<params>[^`]*?)\)"
    r"(?:\s*->\s*(?P<returns>[^`]+?))?``"
)


def protocol_methods(protocol: type) -> dict[str, object]:
    """The methods a Protocol declares itself (``__call__`` included)."""
    return {
        name: value
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and (not name.startswith("_") or name == "__call__")
    }


def render_default(value: object) -> str:
    """A default as the source writes it: a literal, or the module-level name it is bound to."""
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    names = [
        name
        for module in (protocols, contexts)
        for name, bound in vars(module).items()
        if bound is value
    ]
    assert names, f"default {value!r} is neither a literal nor a name in plugin_api.protocols"
    return names[0]


def render_params(function: object) -> str:
    parts = []
    for param in list(inspect.signature(function).parameters.values())[1:]:  # self
        if param.default is inspect.Parameter.empty:
            parts.append(param.name)
        else:
            parts.append(f"{param.name}={render_default(param.default)}")
    return ", ".join(parts)


def documented_signatures() -> Iterator[tuple[str, re.Match]]:
    for hook, fn in HOOKS.items():
        for match in SIGNATURE.finditer(inspect.getdoc(fn) or ""):
            if match["protocol"] in PROTOCOLS:
                yield hook, match


def test_the_hooks_are_found():
    assert set(HOOKS) == {
        "register_datasets",
        "register_teachers",
        "register_students",
        "register_losses",
        "register_augmenters",
    }


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_names_its_spec_and_factory_protocol(hook):
    doc = inspect.getdoc(HOOKS[hook])
    assert doc, f"{hook} has no docstring"
    spec = get_args(get_type_hints(HOOKS[hook], vars(hookspecs))["register"])[0][0]
    factory = spec.__name__.removesuffix("Spec") + "Factory"
    assert factory in PROTOCOLS, f"protocols has no {factory} for {spec.__name__}"
    assert spec.__name__ in doc, f"{hook}'s docstring does not name {spec.__name__}"
    assert f"``{factory}(" in doc, f"{hook}'s docstring does not write out {factory}(...)"


def test_every_protocol_is_named_by_a_hook():
    docs = "\n".join(inspect.getdoc(fn) or "" for fn in HOOKS.values())
    unnamed = [name for name in PROTOCOLS if not re.search(rf"\b{name}\b", docs)]
    assert not unnamed, f"no hook docstring names {unnamed}"


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocols_and_their_methods_have_docstrings(name):
    protocol = PROTOCOLS[name]
    assert protocol.__doc__, f"{name} has no docstring"
    assert getattr(protocol, "_is_runtime_protocol", False), f"{name} is not runtime_checkable"
    for method, function in protocol_methods(protocol).items():
        assert inspect.getdoc(function), f"{name}.{method} has no docstring"


def test_every_protocol_method_is_written_out_in_a_hook():
    written = {(m["protocol"], m["method"] or "__call__") for _, m in documented_signatures()}
    missing = [
        f"{name}.{method}"
        for name, protocol in PROTOCOLS.items()
        for method in protocol_methods(protocol)
        if (name, method) not in written
    ]
    assert not missing, f"no hook docstring writes out the signature of {missing}"


def test_documented_signatures_match_the_protocols():
    checked, wrong = 0, []
    for hook, match in documented_signatures():
        protocol = PROTOCOLS[match["protocol"]]
        method = match["method"] or "__call__"
        function = protocol_methods(protocol).get(method)
        where = f"{hook}: ``{match[0].strip('`')}``"
        if function is None:
            wrong.append(f"{where}: {match['protocol']} has no method {method}")
            continue
        params = render_params(function)
        if re.sub(r"\s+", "", match["params"]) != re.sub(r"\s+", "", params):
            wrong.append(f"{where}: the Protocol says ({params})")
        returns = inspect.signature(function).return_annotation
        if match["returns"] is None:
            wrong.append(f"{where}: write the return type, -> {returns}")
        elif match["returns"].strip() != returns:
            wrong.append(f"{where}: the Protocol returns {returns}")
        checked += 1
    assert checked >= 10  # a regex that matches nothing would pass everything
    assert not wrong, "\n".join(wrong)


def test_a_wrong_signature_is_caught():
    match = SIGNATURE.search("``Teacher.predictor(ckpt_dir, device) -> Predictor``")
    function = protocol_methods(protocols.Teacher)["predictor"]
    assert match["params"] != render_params(function)
    assert render_params(function) == "ckpt_dir, device, max_length, batch_size, progress=quiet"


# ---------------------------------------------------------------------------------------
# bench subcommands in README.md


def leaf_commands(
    parser: argparse.ArgumentParser, help_text: str | None = None
) -> Iterator[tuple[argparse.ArgumentParser, str | None]]:
    """Every runnable ``bench`` subcommand (``bench datasets show``, not ``bench datasets``)
    with its one-line help, in the order the parser declares them."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield parser, help_text
        return
    for group in groups:
        helps = {choice.dest: choice.help for choice in group._choices_actions}
        for name, sub in group.choices.items():
            yield from leaf_commands(sub, helps.get(name) or help_text)


def commands_block() -> str:
    """The README's commands block: each subcommand's help line and argparse usage."""
    lines = []
    for parser, help_text in leaf_commands(build_parser()):
        lines.append(f"# {help_text}")
        lines.append(parser.format_usage().rstrip("\n"))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def readme_commands_block() -> str:
    match = re.search(
        r"<!-- commands -->\s*```text\n(.*?)```\s*<!-- /commands -->", README.read_text(), re.S
    )
    assert match, "README.md has no ```text block between <!-- commands --> and <!-- /commands -->"
    return match.group(1)


def test_every_subcommand_is_documented_in_the_readme(monkeypatch):
    monkeypatch.setenv("COLUMNS", USAGE_COLUMNS)
    expected = commands_block()
    names = [p.prog for p, _ in leaf_commands(build_parser())]
    assert {"bench list", "bench run", "bench report", "bench plugins"} <= set(names)
    assert readme_commands_block() == expected, (
        "README's Commands block differs from argparse's usage; regenerate it with "
        "`python -m tests.contracts.test_docs`"
    )


if __name__ == "__main__":
    import os

    os.environ["COLUMNS"] = USAGE_COLUMNS
    print(commands_block(), end="")
