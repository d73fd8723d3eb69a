"""Conneau et al. (2018)'s ten probing tasks, built from parsed in-domain sentences.

Pure Python over ``Token`` tuples (``parse`` makes them with spaCy), so every construction
is testable without a parser. The paper built its sets from the Toronto Book Corpus with a
constituency parser; this harness has a dependency parser (spaCy's ``en_core_web_sm``)
and the task's own training text, so each construction below says how it maps:

- ``sentence_length``: the number of words (punctuation left out), in 6 equal-count bins;
- ``word_content``: which of 30 mid-frequency content words (ranks 51-80 among nouns,
  verbs, adjectives and adverbs) the sentence holds, for sentences holding exactly one;
- ``bigram_shift``: whether two adjacent words (neither punctuation) were swapped;
- ``tree_depth``: the depth of the dependency tree (the root at depth 1), not the
  constituency depth; each depth that has enough sentences is a class;
- ``top_constituents``: the root's dependents in order, punctuation left out (``nsubj
  ROOT dobj``), the dependency analogue of the constituents under S; the 10 most frequent;
- ``tense``: past or present of the main verb (the root, or its auxiliary when the root is
  a participle or bare verb), from its Penn tag;
- ``subject_number`` / ``object_number``: singular or plural of the root's nominal
  subject / direct object when it is a common or proper noun (NN/NNP vs NNS/NNPS);
- ``odd_man_out``: whether a noun or verb was replaced by another word of the same Penn
  tag and about the same frequency (within 2x) in the pool; unlike the paper, the
  bigrams this forms are not frequency-matched;
- ``coordination_inversion``: whether the two clauses around a coordinating conjunction
  of the root (``X, but Y``, each clause with its own subject) were swapped.

Every set is balanced: classes are cut to one size, and the modified-or-not tasks
modify exactly half the sentences they draw. Splits are 80/10/10 within each class.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from distill_bench.stages.probe.modified import (
    bigram_shift,
    coordination_inversion,
    odd_man_out,
    words_by_tag,
)
from distill_bench.stages.probe.sentence import Sentence, children, depth, root, text_of, words

PROBES = (
    "sentence_length",
    "word_content",
    "bigram_shift",
    "tree_depth",
    "top_constituents",
    "tense",
    "subject_number",
    "object_number",
    "odd_man_out",
    "coordination_inversion",
)
SPLITS = ("train", "dev", "test")
MIN_PER_CLASS = 20  # a class with fewer sentences than this is left out, not kept tiny
WORD_CONTENT_WORDS, WORD_CONTENT_SKIP = 30, 50
TOP_CONSTITUENT_CLASSES = 10
LENGTH_BINS = 6
# the share of a probe's labelled sentences a class needs to be kept: depths and
# constituent sequences have long tails that would cut every class to a handful
MIN_SHARE = {"tree_depth": 0.05, "top_constituents": 0.03}
SINGULAR, PLURAL = frozenset({"NN", "NNP"}), frozenset({"NNS", "NNPS"})
PAST, PRESENT = frozenset({"VBD"}), frozenset({"VBP", "VBZ"})
CONTENT_POS = frozenset({"NOUN", "VERB", "ADJ", "ADV"})


@dataclass(frozen=True)
class ProbeSet:
    """One probe's balanced examples: ``split[i]`` says which split example i is in."""

    name: str
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    label_names: tuple[str, ...]
    split: tuple[str, ...]
    note: str = ""  # why the set is empty, when it is

    def indices(self, split: str) -> list[int]:
        return [i for i, s in enumerate(self.split) if s == split]


# Labelled sentence properties: each returns (text, label) or None (not applicable).


def _length_label(edges: Sequence[int]) -> Callable[[Sentence], tuple[str, str] | None]:
    def label(s: Sentence):
        n = len(words(s))
        for lo, hi in zip(edges, edges[1:], strict=False):
            if lo <= n < hi:
                single = "1 word" if lo == 1 else f"{lo} words"
                return text_of(s), single if hi == lo + 1 else f"{lo}-{hi - 1} words"
        return None

    return label


def length_edges(pool: Sequence[Sentence], bins: int = LENGTH_BINS) -> list[int]:
    """Equal-count bin edges over the pool's word counts ([lo, hi) each)."""
    counts = sorted(len(words(s)) for s in pool if words(s))
    if not counts:
        return []
    edges = [counts[min(len(counts) - 1, len(counts) * b // bins)] for b in range(bins)]
    return sorted(set(edges)) + [counts[-1] + 1]


def _word_label(targets: frozenset[str]):
    def label(s: Sentence):
        found = {t.text.lower() for t in s} & targets
        return (text_of(s), found.pop()) if len(found) == 1 else None

    return label


def content_words(pool: Sequence[Sentence]) -> frozenset[str]:
    counts = Counter(
        t.text.lower()
        for s in pool
        for t in s
        if t.pos in CONTENT_POS and not t.stop and t.text.isalpha()
    )
    ranked = [w for w, _ in counts.most_common()]
    return frozenset(ranked[WORD_CONTENT_SKIP : WORD_CONTENT_SKIP + WORD_CONTENT_WORDS])


def _depth_label(s: Sentence):
    return text_of(s), f"depth {depth(s)}"


def _top_label(s: Sentence):
    r = root(s)
    if r is None:
        return None
    shown = [
        "ROOT" if i == r else s[i].dep
        for i in sorted([r, *children(s, r)])
        if s[i].pos not in ("PUNCT", "SPACE")
    ]
    return text_of(s), " ".join(shown)


def _tense_label(s: Sentence):
    r = root(s)
    if r is None or s[r].pos not in ("VERB", "AUX"):
        return None
    candidates = [r] if s[r].tag in PAST | PRESENT else []
    candidates += [c for c in children(s, r) if s[c].dep in ("aux", "auxpass")]
    for i in candidates:
        if s[i].tag in PAST:
            return text_of(s), "past"
        if s[i].tag in PRESENT:
            return text_of(s), "present"
    return None


def _number_label(deps: frozenset[str]):
    def label(s: Sentence):
        r = root(s)
        if r is None:
            return None
        heads = [c for c in children(s, r) if s[c].dep in deps]
        if len(heads) != 1:
            return None
        tag = s[heads[0]].tag
        if tag in SINGULAR:
            return text_of(s), "singular"
        if tag in PLURAL:
            return text_of(s), "plural"
        return None

    return label


def build_probe_sets(
    pool: Sequence[Sentence], per_probe: int, seed: int, probes: Sequence[str] = PROBES
) -> dict[str, ProbeSet]:
    """Each probe's balanced set of at most ``per_probe`` examples from ``pool``."""
    builders = {
        "sentence_length": lambda: _labelled(pool, _length_label(length_edges(pool))),
        "word_content": lambda: _labelled(pool, _word_label(content_words(pool))),
        "tree_depth": lambda: _labelled(pool, _depth_label),
        "top_constituents": lambda: _labelled(pool, _top_label, TOP_CONSTITUENT_CLASSES),
        "tense": lambda: _labelled(pool, _tense_label),
        "subject_number": lambda: _labelled(pool, _number_label(frozenset({"nsubj", "nsubjpass"}))),
        "object_number": lambda: _labelled(pool, _number_label(frozenset({"dobj"}))),
        "bigram_shift": lambda: _modified(pool, bigram_shift, seed, "shifted"),
        "odd_man_out": lambda: _modified(pool, odd_man_out(words_by_tag(pool)), seed, "replaced"),
        "coordination_inversion": lambda: _modified(pool, coordination_inversion, seed, "inverted"),
    }
    return {
        name: _balanced(name, builders[name](), per_probe, seed, MIN_SHARE.get(name, 0.0))
        for name in probes
    }


def _labelled(pool, label, top: int | None = None) -> list[tuple[str, str]]:
    found = [x for x in map(label, pool) if x is not None]
    if top is not None:
        keep = {name for name, _ in Counter(lab for _, lab in found).most_common(top)}
        found = [x for x in found if x[1] in keep]
    return found


def _modified(pool, modify, seed: int, changed: str) -> list[tuple[str, str]]:
    """Half the modifiable sentences modified, the other half as they were."""
    rng = random.Random(seed)
    candidates = [(s, m) for s in pool if (m := modify(s, random.Random(rng.random())))]
    rng.shuffle(candidates)
    half = len(candidates) // 2
    return [(text_of(s), "original") for s, _ in candidates[half : 2 * half]] + [
        (m, changed) for _, m in candidates[:half]
    ]


def _natural(label: str):
    """Sort key: "depth 10" after "depth 9", "11-42 words" after "5 words"."""
    head = label.split()[0].split("-")[0]
    return (0, int(head), label) if head.isdigit() else (1, 0, label)


def _classes_kept(counts: dict[str, int], min_share: float) -> list[str]:
    """The classes holding at least ``min_share`` of the examples and ``MIN_PER_CLASS``
    (rare depths or constituent sequences would otherwise cut every class to their size)."""
    floor = max(MIN_PER_CLASS, min_share * sum(counts.values()))
    return sorted((lab for lab, c in counts.items() if c >= floor), key=_natural)


def _balanced(name: str, examples, per_probe: int, seed: int, min_share: float) -> ProbeSet:
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in dict.fromkeys(examples):  # one copy of a repeated sentence
        by_label[label].append(text)
    kept = _classes_kept({lab: len(texts) for lab, texts in by_label.items()}, min_share)
    if len(kept) < 2:
        found = ", ".join(f"{lab}: {len(t)}" for lab, t in sorted(by_label.items())) or "none"
        return ProbeSet(name, (), (), (), (), f"fewer than 2 classes with {MIN_PER_CLASS} "
                        f"sentences each in the pool ({found})")  # fmt: skip
    size = min(min(len(by_label[lab]) for lab in kept), per_probe // len(kept))
    rng = random.Random(seed)
    rows = []
    for index, lab in enumerate(kept):
        texts = sorted(by_label[lab])
        rng.shuffle(texts)
        n_dev = n_test = max(1, size // 10)
        for j, text in enumerate(texts[:size]):
            split = "dev" if j < n_dev else "test" if j < n_dev + n_test else "train"
            rows.append((text, index, split))
    rng.shuffle(rows)
    texts, labels, splits = zip(*rows, strict=True)
    return ProbeSet(name, texts, labels, tuple(kept), splits)
