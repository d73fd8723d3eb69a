"""``intent-pairs``: a real-text sentence-pair task from the intent data at hand.

Two utterances of BANKING77 (or CLINC150) labelled ``same`` when they ask for the same
intent and ``different`` otherwise, half of each: paraphrase detection in the shape of
QQP and MRPC, from files already in the data dir. Each split's pairs are drawn within the
matching split of the source task (evaluation pairs from its test utterances, selection
pairs from its held-out slice of train), so no utterance of an evaluation pair is ever
trained on. Drawn with ``split_seed``; a pair and its swap count as one.
"""

from __future__ import annotations

import random
from collections import defaultdict

from distill_bench import BenchError, Option
from distill_bench.plugin_api.pairs import join_pair
from distill_bench.plugin_api.tasks import Split, TaskData

PAIR_LABELS = ("different", "same")
SOURCES = ("banking77", "clinc150")

INTENT_PAIRS_OPTIONS = (
    Option("source", str, "banking77", "the intent dataset the utterances come from",
           choices=SOURCES),
    Option("train_pairs", int, 20000, "pairs drawn from the source's train split", min=2),
    Option("select_pairs", int, 1000, "pairs drawn from its selection split", min=2),
    Option("evaluation_pairs", int, 2000, "pairs drawn from its evaluation split", min=2),
)  # fmt: skip


def draw_pairs(split: Split, n: int, seed: int, name: str) -> Split:
    """``n`` distinct pairs of ``split``'s texts, alternately same-intent and different."""
    rng = random.Random(f"{name}-{split.name}-{seed}")
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(split.labels):
        by_label[label].append(i)
    repeated = [label for label, members in by_label.items() if len(members) >= 2]
    if not repeated or len(by_label) < 2:
        raise BenchError(
            f"dataset {name!r}: split {split.name!r} has too few utterances per intent to draw "
            "same-intent and different-intent pairs; expected two intents, one with two"
        )
    labels = sorted(by_label)
    seen: set[frozenset[int]] = set()
    texts, targets = [], []
    tries = 0
    while len(texts) < n:
        tries += 1
        if tries > 50 * n:
            raise BenchError(
                f"dataset {name!r}: split {split.name!r} ({len(split)} utterances) holds fewer "
                f"than {n} distinct pairs; expected a smaller count"
            )
        same = len(texts) % 2 == 1  # alternate: the two classes stay balanced
        if same:
            i, j = rng.sample(by_label[rng.choice(repeated)], 2)
        else:
            a, b = rng.sample(labels, 2)
            i, j = rng.choice(by_label[a]), rng.choice(by_label[b])
        key = frozenset((i, j))
        if key in seen or split.texts[i] == split.texts[j]:
            continue
        seen.add(key)
        texts.append(join_pair(split.texts[i], split.texts[j]))
        targets.append(PAIR_LABELS.index("same" if same else "different"))
    order = list(range(n))
    rng.shuffle(order)
    return Split(split.name, tuple(texts[k] for k in order), tuple(targets[k] for k in order))


def intent_pairs(source: TaskData, options: dict) -> TaskData:
    """The pair task of a loaded intent task."""
    name, seed = "intent-pairs", options["split_seed"]
    return TaskData(
        name,
        PAIR_LABELS,
        draw_pairs(source.train, options["train_pairs"], seed, name),
        draw_pairs(source.select, options["select_pairs"], seed, name),
        draw_pairs(source.evaluation, options["evaluation_pairs"], seed, name),
    )
