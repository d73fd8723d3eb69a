"""distill-bench: a benchmark harness for distilling BERT-family text classifiers."""

from .errors import BenchError
from .hookspecs import hookimpl
from .specs import (
    AugmenterSpec,
    DatasetSpec,
    LossSpec,
    Option,
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
