"""The plugin API: what a plugin registers and what the harness hands it. No torch.

Owns the hook specifications (one hook per kind), the typed specs a plugin registers, the
registry that collects them, the Protocols of the objects plugins return (``protocols``)
and of what the harness hands them (``contexts``), the task data types datasets build,
the progress interface and the metric functions. Imports nothing
from the rest of the harness: every other layer, and every plugin, builds on this one.
"""

from distill_bench.plugin_api.contexts import (
    AugmentContextView,
    LossBatch,
    StudentContextView,
    TaskLabels,
    TeacherBudget,
)
from distill_bench.plugin_api.protocols import (
    AugmenterBuild,
    AugmenterFactory,
    DatasetFactory,
    InferenceEncoder,
    Loss,
    LossFactory,
    Predictor,
    StudentFactory,
    StudentModule,
    Teacher,
    TeacherCheck,
    TeacherFactory,
)

# The Protocols of the plugin contract: what plugins return and what the harness hands them.
__all__ = [
    "AugmentContextView",
    "AugmenterBuild",
    "AugmenterFactory",
    "DatasetFactory",
    "InferenceEncoder",
    "Loss",
    "LossBatch",
    "LossFactory",
    "Predictor",
    "StudentContextView",
    "StudentFactory",
    "StudentModule",
    "TaskLabels",
    "Teacher",
    "TeacherBudget",
    "TeacherCheck",
    "TeacherFactory",
]
