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
    "AugmenterSpec",
    "BenchError",
    "DatasetSpec",
    "LossSpec",
    "Option",
    "StudentSpec",
    "TeacherSpec",
    "hookimpl",
]
