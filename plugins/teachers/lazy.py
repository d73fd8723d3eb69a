"""What the built-in teacher factories return: cheap to build and to check, the real teacher made on first use.

A ``LazyHFTeacher`` knows how to find its model (``locate``) and how to check it without
writing anything (``precheck``), and builds the torch-backed ``hf.HFTeacher`` only when a
stage calls ``finetune``, ``predictor``, ``tokenizer`` or ``inference_model``. So the
pre-flight of ``bench run --dry-run`` calls ``check`` without importing torch or
transformers, and without extracting a packaged model into the cache (mpnet-base's
``locate`` does that, on first use only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill_bench.plugin_api.contexts import TaskLabels
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugins.teachers.folder import check_model

if TYPE_CHECKING:
    import torch
    from distill_bench.plugin_api.contexts import TeacherBudget
    from distill_bench.plugin_api.tasks import TaskData


class LazyHFTeacher:
    """A Hugging Face teacher (see the ``Teacher`` Protocol) built lazily.

    ``locate()``: the model folder or Hub id (may extract a packaged model: called once,
    on first use). ``precheck()``: what the pre-flight checks instead of locating, without
    writing anything: the folder to check, or None when only availability can be checked
    (it raises ``BenchError`` when the model is not installed). Default: ``locate``."""

    def __init__(
        self,
        options: dict[str, Any],
        locate: Callable[[], str | Path],
        precheck: Callable[[], str | Path | None] | None = None,
    ):
        self.options = options
        self._locate = locate
        self._precheck = precheck or locate

    @functools.cached_property
    def path(self) -> str:
        """The pretrained model's folder or Hub id (``bench augment preview`` reads it)."""
        return str(self._locate())

    @functools.cached_property
    def _teacher(self):
        from distill_bench.plugins.teachers.hf import HFTeacher  # torch: only when used

        return HFTeacher(self.path, self.options)

    def check(self, task: TaskLabels) -> None:
        folder = self._precheck()
        if folder is not None:
            check_model(str(folder), task)

    def finetune(
        self,
        task: TaskData,
        budget: TeacherBudget,
        seed: int,
        out_dir: Path,
        device: torch.device,
        progress: Progress = quiet,
    ) -> dict[str, Any]:
        return self._teacher.finetune(task, budget, seed, out_dir, device, progress)

    def predictor(
        self,
        ckpt_dir: Path,
        device: torch.device,
        max_length: int,
        batch_size: int,
        progress: Progress = quiet,
    ):
        return self._teacher.predictor(ckpt_dir, device, max_length, batch_size, progress)

    def tokenizer(self, ckpt_dir: Path):
        return self._teacher.tokenizer(ckpt_dir)

    def inference_model(self, ckpt_dir: Path, max_length: int):
        return self._teacher.inference_model(ckpt_dir, max_length)
