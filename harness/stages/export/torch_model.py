"""A ``--format torch`` export rebuilt as the harness's own module (needs torch and the
student's plugin): what ``runtime.load_student`` runs for a folder of safetensors weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.student import io as student_io
from distill_bench.stages.student.loop import as_output
from safetensors.torch import load_file

TEACHER = "teacher"  # the teacher's config.json, for students built on its architecture


def rebuild(folder: Path, config: dict) -> torch.nn.Module:
    """The student module with the folder's weights (its plugin from the installed ones)."""
    teacher_dir = folder / config["teacher_dir"] if config.get("teacher_dir") else None
    ctx = student_io.StudentContext(
        num_labels=config["num_labels"],
        tokenizer=student_io.load_tokenizer_file(folder / config["tokenizer"]),
        teacher_dir=teacher_dir,
        special_tokens=config["special_tokens"],
        init_weights=False,
    )
    model = load_registry(()).get("students", config["plugin"]).factory(config["options"], ctx)
    model.load_state_dict(load_file(str(folder / config["weights"])))
    return model.eval()


def torch_runner(
    folder: Path, config: dict, threads: int | None = None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if threads:
        torch.set_num_threads(threads)
    model = rebuild(Path(folder), config)

    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
            return as_output(out)["logits"].float().numpy()

    return run
