"""distill-bench: a benchmark harness for distilling BERT-family text classifiers."""

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.hookspecs import hookimpl
from distill_bench.plugin_api.options import Option
from distill_bench.plugin_api.specs import (
    AugmenterSpec,
    DatasetSpec,
    LossSpec,
    StudentSpec,
    TeacherSpec,
)

__version__ = "0.1.0"

__all__ = [
    "load_student",
    "AugmenterSpec",
    "BenchError",
    "DatasetSpec",
    "LossSpec",
    "Option",
    "StudentSpec",
    "TeacherSpec",
    "hookimpl",
]


def __getattr__(name: str):
    """``distill_bench.load_student``, imported on first use: it brings onnxruntime and
    tokenizers, which ``import distill_bench`` (every plugin's first line) must not."""
    if name == "load_student":
        # lazily, and torch-free: the exported student's loader (architecture.TOP_LAZY)
        from distill_bench.stages.export.runtime import load_student

        return load_student
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
