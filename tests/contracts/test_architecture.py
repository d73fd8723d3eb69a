"""The house stays standing: no import cycles, the layer order, torch-free layers, packages.

The rules and their reasons are in ``tests/contracts/architecture.py``; the parsing in
``benchmarks/import_graph.py``. The first tests check the real tree; the rest build small
synthetic trees that must fail, so a checker that silently passes everything cannot hide.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchmarks.import_graph import Module, cycles, parse_tree
from tests.contracts.architecture import (
    cycle_violations,
    layer_violations,
    listed_packages,
    local_import_comment_violations,
    package_violations,
    roots_from_pyproject,
    torch_violations,
)


@pytest.fixture(scope="module")
def house() -> dict[str, Module]:
    return parse_tree(roots_from_pyproject())


def report(violations: list[str]) -> str:
    return "\n".join(violations)


def test_the_tree_is_parsed(house):
    # the mapping found both roots: a misread pyproject would make every rule pass vacuously
    assert "distill_bench.plugin_api.hookspecs" in house
    assert "distill_bench.plugins.teachers" in house
    assert len(house) > 40


def test_no_import_cycles(house):
    found = cycle_violations(house)
    assert not found, report(found)


def test_layers_hold(house):
    found = layer_violations(house)
    assert not found, report(found)


def test_torch_free_layers_import_no_torch(house):
    found = torch_violations(house)
    assert not found, report(found)


def test_every_package_is_in_pyproject(house):
    found = package_violations(house, listed_packages())
    assert not found, report(found)


def test_function_local_imports_of_the_harness_say_why(house):
    found = local_import_comment_violations(house)
    assert not found, report(found)


# ---------------------------------------------------------------------------------------
# The checker fails when it must: small synthetic trees


def make_tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    """Write ``{"harness/x/y.py": source, ...}`` and parse it with the real mapping's shape."""
    for relative, source in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for folder in ("harness", "plugins"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").touch()
    return parse_tree(
        {"distill_bench": tmp_path / "harness", "distill_bench.plugins": tmp_path / "plugins"}
    )


LAYERED = {
    "harness/plugin_api/__init__.py": "",
    "harness/plugin_api/specs.py": "from distill_bench.plugin_api import errors\n",
    "harness/plugin_api/errors.py": "",
    "harness/matrix/__init__.py": "",
    "harness/matrix/model.py": "from distill_bench.plugin_api.specs import KINDS\n",
    "harness/matrix/plan.py": "from distill_bench.matrix.model import Budget\n",
    "harness/stages/__init__.py": "",
    "harness/stages/loop.py": """
        from ..matrix.model import Budget

        def train():
            # torch stays out of planning
            import torch
    """,
    "harness/execute/__init__.py": "",
    "harness/execute/runner.py": "from distill_bench.stages import loop\n",
    "plugins/teachers.py": """
        from distill_bench import hookimpl
        from distill_bench.matrix.model import Budget
        from distill_bench.stages.loop import train
    """,
}


def test_a_clean_synthetic_tree_passes(tmp_path):
    tree = make_tree(tmp_path, LAYERED)
    assert tree["distill_bench.stages.loop"].imports[0].target == "distill_bench.matrix.model"
    assert cycle_violations(tree) == []
    assert layer_violations(tree) == []
    assert torch_violations(tree) == []
    assert local_import_comment_violations(tree) == []


def test_a_cycle_is_found(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED | {"harness/plugin_api/errors.py": "from distill_bench.plugin_api import specs\n"},
    )
    assert cycles(tree) == [["distill_bench.plugin_api.errors", "distill_bench.plugin_api.specs"]]
    assert cycle_violations(tree)


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/matrix/model.py": """
                from distill_bench.plugin_api.specs import KINDS

                def plan_of(matrix):
                    # a local import hides the cycle from a reader, not from the checker
                    from distill_bench.matrix.plan import plan

                    return plan(matrix)
            """
        },
    )
    assert cycles(tree) == [["distill_bench.matrix.model", "distill_bench.matrix.plan"]]


def test_a_package_import_is_an_import_of_its_init(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/stages/__init__.py": "from distill_bench.stages.loop import train\n",
            "harness/stages/loop.py": "from distill_bench import stages\n\ndef train(): ...\n",
        },
    )
    assert cycles(tree) == [["distill_bench.stages", "distill_bench.stages.loop"]]


def test_a_type_checking_import_is_no_cycle(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/plugin_api/errors.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from distill_bench.plugin_api.specs import Spec
            """
        },
    )
    assert cycle_violations(tree) == []


def test_an_upward_import_is_a_layer_breach(tmp_path):
    tree = make_tree(
        tmp_path, LAYERED | {"harness/matrix/plan.py": "from distill_bench.stages import loop\n"}
    )
    assert layer_violations(tree) == [
        "distill_bench.matrix.plan:1: matrix imports distill_bench.stages.loop "
        "(stages is a higher layer)"
    ]


def test_a_function_local_upward_import_is_a_layer_breach(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/stages/loop.py": """
                def run():
                    # the scheduler, from a stage: a breach even inside a function
                    from distill_bench.execute.runner import Runner
            """
        },
    )
    assert [v.split(": ", 1)[0] for v in layer_violations(tree)] == ["distill_bench.stages.loop:4"]


def test_the_core_never_imports_plugins(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED | {"harness/stages/data.py": "from distill_bench.plugins.teachers import x\n"},
    )
    assert layer_violations(tree) == [
        "distill_bench.stages.data:1: the core imports the plugin module distill_bench.plugins.teachers"
    ]


def test_plugins_use_only_the_public_api(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED | {"plugins/bad.py": "from distill_bench.matrix.plan import plan\n"},
    )
    assert [v.split(": ", 1)[0] for v in layer_violations(tree)] == ["distill_bench.plugins.bad:1"]


def test_the_public_api_imports_plugin_api_only(tmp_path):
    tree = make_tree(
        tmp_path, LAYERED | {"harness/__init__.py": "from distill_bench.matrix import model\n"}
    )
    assert [v.split(": ", 1)[0] for v in layer_violations(tree)] == ["distill_bench:1"]


def test_a_module_outside_the_layers_is_reported(tmp_path):
    tree = make_tree(tmp_path, LAYERED | {"harness/misc.py": ""})
    assert layer_violations(tree) == [
        "distill_bench.misc: in no layer (layers: plugin_api, matrix, store, report, analysis, "
        "stages, execute, cli)"
    ]


def test_torch_in_a_torch_free_layer_is_found(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/matrix/plan.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    import torch  # annotations only: allowed

                def plan():
                    import torch.nn
            """,
            "harness/plugin_api/specs.py": "from distill_bench.plugin_api.heavy import x\n",
            "harness/plugin_api/heavy.py": "from transformers import AutoModel\n",
        },
    )
    assert torch_violations(tree) == [
        "distill_bench.matrix.model: imports torch through distill_bench.plugin_api.heavy "
        "(at module level)",
        "distill_bench.matrix.plan:8: imports torch in a torch-free layer",
        "distill_bench.plugin_api.heavy:1: imports torch in a torch-free layer",
        "distill_bench.plugin_api.specs: imports torch through distill_bench.plugin_api.heavy "
        "(at module level)",
    ]


def test_an_unexplained_function_local_import_is_found(tmp_path):
    tree = make_tree(
        tmp_path,
        LAYERED
        | {
            "harness/stages/loop.py": """
                def a():
                    # keeps torch out of planning: one comment explains the group
                    from distill_bench.matrix.model import Budget
                    from distill_bench.matrix.plan import (
                        plan,
                    )
                    from distill_bench.plugin_api import errors

                def b():
                    from distill_bench.matrix.model import Budget
            """
        },
    )
    assert local_import_comment_violations(tree) == [
        "distill_bench.stages.loop:11: function-local import of distill_bench.matrix.model"
    ]


def test_packages_and_pyproject_are_compared_both_ways(tmp_path):
    tree = make_tree(tmp_path, LAYERED)
    listed = [name for name, module in tree.items() if module.is_package]
    assert package_violations(tree, listed) == []
    missing = [name for name in listed if name != "distill_bench.matrix"] + ["distill_bench.gone"]
    assert package_violations(tree, missing) == [
        "distill_bench.matrix: has an __init__.py, missing from pyproject's packages",
        "distill_bench.gone: listed in pyproject's packages, no such package",
    ]


def test_the_house_measures_read_a_tree(tmp_path):
    from benchmarks.house import measures, table

    tree = make_tree(
        tmp_path,
        LAYERED | {"harness/plugin_api/errors.py": "from distill_bench.plugin_api import specs\n"},
    )
    rows = measures(tree)
    assert rows["import cycles"] == "1; plugin_api.errors <-> plugin_api.specs"
    assert rows["function-local imports of harness modules, core"] == "0"
    assert rows["modules in `plugin_api/`"] == "3"
    assert "| import cycles | 1; plugin_api.errors <-> plugin_api.specs |" in table({"t": rows})
