"""Fine-tune and run any Hugging Face sequence classifier as a teacher."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import transformers
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.contexts import TaskLabels
from distill_bench.plugin_api.metrics import task_metric
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.tasks import TaskData
from distill_bench.plugins.teachers.as_given import as_given, check_as_given
from distill_bench.plugins.teachers.folder import check_model
from distill_bench.stages.annotation.annotators import TorchAnnotator, load_annotator
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.precision import use_bf16
from distill_bench.stages.teacher.checkpoint import load_classifier, load_tokenizer, tokenize

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


def _linear_warmup_decay(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def adamw_with_warmup(model, lr: float, weight_decay: float, warmup: int, total: int):
    """(optimizer, schedule): AdamW without decay on biases and LayerNorm, linear warm-up
    over ``warmup`` steps then linear decay to 0 at ``total``."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_warmup_decay(warmup, total))
    return optimizer, schedule


class HFTeacher:
    def __init__(self, path: str, options: dict):
        self.path = path
        self.options = options

    def check(self, task: TaskLabels) -> None:
        """Refuse a model that cannot work before anything trains: a local folder without a
        config or tokenizer, or a fine-tuned classifier whose head has another label count."""
        check_model(self.path, task)
        if not self.options.get("finetune", True):
            check_as_given(self.path, self.options["label_order"], task)

    def encode(self, tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
        return tokenize(tokenizer, texts, truncation=True, max_length=max_length)["input_ids"]

    def finetune(
        self,
        task: TaskData,
        budget: Budget,
        seed: int,
        out_dir: Path,
        device: torch.device,
        progress: Progress = quiet,
    ) -> dict:
        if not self.options.get("finetune", True):  # the user's fine-tuned classifier as is
            return as_given(self, task, budget, out_dir, device)
        torch.manual_seed(seed)
        tokenizer = load_tokenizer(self.path)
        model = load_classifier(self.path, task.num_labels, task.label_names).to(device)
        train_ids = self.encode(tokenizer, task.train.texts, budget.max_length)
        select_ids = self.encode(tokenizer, task.select.texts, budget.max_length)
        # selection scores: length-sorted batches that back off on out-of-memory, bf16 on CUDA
        selector = TorchAnnotator(
            model,
            tokenizer,
            precision="bf16" if device.type == "cuda" else "fp32",
            max_length=budget.max_length,
            batch_size=budget.annotate_batch_size,
            device=device,
        )
        labels = torch.tensor(task.train.labels)
        metric = task_metric(task)
        steps_per_epoch = math.ceil(len(train_ids) / budget.teacher_batch_size)
        total_steps = steps_per_epoch * budget.teacher_epochs
        eval_every = max(1, steps_per_epoch // max(1, budget.teacher_evals_per_epoch))
        bf16 = use_bf16(self.options["precision"], device)

        optimizer, schedule = adamw_with_warmup(
            model,
            lr=budget.teacher_lr,
            weight_decay=self.options["weight_decay"],
            warmup=int(budget.teacher_warmup * total_steps),
            total=total_steps,
        )
        best_score, best_state, best_step, stale, step = -math.inf, None, 0, 0, 0
        evaluations, started = [], time.perf_counter()
        stop = False
        epoch_seconds: list[float] = []  # wall time of each epoch, selection evaluations included
        for epoch in range(budget.teacher_epochs):
            epoch_started = time.perf_counter()
            batches = length_grouped_batches(
                [len(x) for x in train_ids], budget.teacher_batch_size, seed + epoch
            )
            model.train()
            for batch in progress.track(
                batches, f"fine-tune epoch {epoch + 1}/{budget.teacher_epochs}"
            ):
                # forward and backward on one length-grouped, dynamically padded batch
                input_ids, mask = pad([train_ids[i] for i in batch], tokenizer.pad_token_id)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    out = model(
                        input_ids=input_ids.to(device),
                        attention_mask=mask.to(device),
                        labels=labels[batch].to(device),
                    )
                out.loss.backward()
                # step: clip, update, schedule
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.options["max_grad_norm"])
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                # select: score on the held-out split, keep the best weights, stop when stale
                if step % eval_every == 0 or step == total_steps:
                    model.eval()
                    logits = selector.logits_of_ids(select_ids)
                    score = metric(task.select.labels, logits.argmax(-1))
                    evaluations.append(
                        {"step": step, "select_score": score, "loss": out.loss.item()}
                    )
                    if score > best_score:
                        best_score, best_step, stale = score, step, 0
                        best_state = copy.deepcopy(
                            {k: v.detach().cpu() for k, v in model.state_dict().items()}
                        )
                    else:
                        stale += 1
                        stop = stale >= self.options["patience"]
                    model.train()
                if stop:
                    break
            epoch_seconds.append(time.perf_counter() - epoch_started)
            if stop:
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.save_pretrained(out_dir, safe_serialization=True)
        tokenizer.save_pretrained(out_dir)
        return {
            "finetune_seconds": time.perf_counter() - started,
            "steps": step,
            "best_step": best_step,
            "best_select_score": best_score,
            "stopped_early": stop,
            "epoch_seconds": epoch_seconds,
            "evaluations": evaluations,
            "train_examples": len(train_ids),
            "device": str(device),
            "autocast": "bf16" if bf16 else "fp32",
        }

    def predictor(
        self,
        ckpt_dir: Path,
        device: torch.device,
        max_length: int,
        batch_size: int,
        progress: Progress = quiet,
    ) -> Callable[[Sequence[str]], np.ndarray]:
        # the fp32 annotator: length-sorted batches that back off on out-of-memory
        annotator = load_annotator(ckpt_dir, "fp32", max_length, batch_size, device)

        def predict(texts: Sequence[str], description: str = "annotate") -> np.ndarray:
            return annotator.logits(texts, progress, description)

        return predict

    def tokenizer(self, ckpt_dir: Path):
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(Path(ckpt_dir) / "tokenizer.json"))

    def inference_model(self, ckpt_dir: Path, max_length: int):
        tokenizer = load_tokenizer(str(ckpt_dir))
        model = load_classifier(str(ckpt_dir)).eval()

        def encode(texts: Sequence[str]) -> dict:
            enc = tokenize(
                tokenizer,
                texts,
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

        return model, encode
