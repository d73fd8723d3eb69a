"""The pipeline's stages in flow order: data, teacher, transfer, annotation, student, measure.

One package per stage, each with its cached key/compute/load in one place and its helpers
beside it. Stages import ``plugin_api``, ``matrix``, ``store`` and each other's helpers;
never ``execute``, ``report`` or ``cli``. Plugins may use the helpers here (the public
building blocks: checkpoint loading, the annotator, the student I/O).
"""
