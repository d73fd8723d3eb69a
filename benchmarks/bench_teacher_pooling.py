"""Does MiniLM-L6 do better on CoLA with the pooling it was trained with? An experiment outside
the `hf` teacher: all-MiniLM-L6-v2 is a sentence-embedding model trained on mean-pooled
token states, while AutoModelForSequenceClassification classifies from the [CLS] pooler, which
that training never used. Here the encoder is fine-tuned with a linear head over the masked
mean (or over the raw [CLS] state, `--pooling cls`) with the teacher's schedule: AdamW, 10%
linear warm-up then decay, clipping 1.0, length-grouped batches of 32, bf16 autocast on CPU,
selection twice per epoch on the same 855-sentence slice of train, best checkpoint kept.

    python -m benchmarks.bench_teacher_pooling --epochs 6 --lr 1e-4 [--pooling mean]

Prints each selection point (with the dev score beside it, for the curve only) and one JSON
line: the dev score of the best-on-selection checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from distill_bench.matrix.model import Budget
from distill_bench.plugin_api.metrics import task_metric
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.teachers import minilm_path
from distill_bench.plugins.teachers.hf import adamw_with_warmup
from distill_bench.stages.batching import length_grouped_batches, pad
from distill_bench.stages.teacher.checkpoint import load_tokenizer
from torch import nn
from transformers import AutoModel

from benchmarks.bench_teacher_schedule import load_task


class PooledClassifier(nn.Module):
    def __init__(self, path: str, num_labels: int, pooling: str):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(path)
        self.pooling = pooling
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(self.encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask):
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "mean":  # over real tokens only, as sentence-transformers pools
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:
            pooled = states[:, 0]
        return self.head(self.dropout(pooled))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="cola")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--pooling", choices=("mean", "cls"), default="mean")
    parser.add_argument("--select", type=int, default=855)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    registry = load_registry()
    task = load_task(registry, args.dataset, args.select)
    tokenizer = load_tokenizer(minilm_path())

    def encode(texts):
        return tokenizer(list(texts), truncation=True, max_length=64)["input_ids"]

    train, select, dev = (encode(s.texts) for s in (task.train, task.select, task.evaluation))
    model = PooledClassifier(minilm_path(), task.num_labels, args.pooling)
    labels, metric = torch.tensor(task.train.labels), task_metric(task)
    steps_per_epoch = math.ceil(len(train) / 32)
    total = steps_per_epoch * args.epochs
    # the hf teacher's optimizer and schedule, at its default weight decay and warm-up
    weight_decay = registry.get("teachers", "minilm-l6").resolve({}, "minilm-l6")["weight_decay"]
    warmup = int(Budget().teacher_warmup * total)
    optimizer, schedule = adamw_with_warmup(model, args.lr, weight_decay, warmup, total)

    def predict(ids):
        model.eval()
        with torch.inference_mode():
            parts = [model(*pad(ids[i : i + 256], tokenizer.pad_token_id)).argmax(-1)
                     for i in range(0, len(ids), 256)]  # fmt: skip
        model.train()
        return torch.cat(parts).numpy()

    best, best_state, step, started, curve = -math.inf, None, 0, time.perf_counter(), []
    for epoch in range(args.epochs):
        for batch in length_grouped_batches([len(x) for x in train], 32, args.seed + epoch):
            # forward and backward under bf16 autocast, then clip, step, schedule
            input_ids, mask = pad([train[i] for i in batch], tokenizer.pad_token_id)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(input_ids, mask)
            nn.functional.cross_entropy(logits.float(), labels[batch]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            # select twice per epoch; dev is printed for the curve, never used to choose
            if step % max(1, steps_per_epoch // 2) == 0 or step == total:
                score = metric(task.select.labels, predict(select))
                curve.append(round(score, 3))
                dev_now = metric(task.evaluation.labels, predict(dev))
                print(f"step {step}: selection {score:.3f}, dev {dev_now:.3f}", flush=True)
                if score > best:
                    best = score
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    print(json.dumps({
        "dataset": args.dataset, "pooling": args.pooling, "epochs": args.epochs, "lr": args.lr,
        "dev": metric(task.evaluation.labels, predict(dev)), "best_select": best,
        "selection_curve": curve, "wall_seconds": round(time.perf_counter() - started),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
