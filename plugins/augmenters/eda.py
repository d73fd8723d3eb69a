"""EDA (Wei and Zou 2019, "Easy Data Augmentation Techniques for Boosting Performance on
Text Classification Tasks") with synonyms from the teacher's input-embedding space.

Four operations on whitespace-separated words, each augmented sentence using one:

- synonym replacement: n words (not stop words) replaced by one of their synonyms;
- random insertion: a synonym of a random word inserted at a random position, n times;
- random swap: two random words swapped, n times;
- random deletion: each word deleted with probability p (one word always survives);

with n = max(1, alpha * words). As in the authors' code, each operation makes
``n_aug // 4 + 1`` sentences and ``n_aug`` of them are kept at random.

WordNet is not available offline, so a word's synonyms are its ``neighbours`` nearest
whole words (cosine similarity) in the fine-tuned teacher's input-embedding table: only
vocabulary entries that are alphabetic whole words (no ``##`` pieces, no [special] or
[unusedN] tokens) are candidates, and only words the vocabulary holds whole have
synonyms. Embedding neighbours are related words, not strictly synonyms: they include
inflections and, as is known for such spaces, some antonyms ("good" / "bad").
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

import numpy as np

# The stop words EDA leaves alone (the authors' NLTK-derived list, abridged to its core).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now""".split()
)


def whole_word(token: str) -> bool:
    return token.isalpha() and token.isascii()


class EmbeddingSynonyms:
    """A word's nearest whole words in an input-embedding table, computed for a batch of
    words at once (chunked matrix products) and kept."""

    def __init__(self, tokenizer, table: np.ndarray, neighbours: int = 5):
        vocab = tokenizer.get_vocab()
        self.tokenizer, self.k = tokenizer, neighbours
        self.candidates = np.array(
            sorted(i for tok, i in vocab.items() if whole_word(tok) and i < len(table)),
            dtype=np.int64,
        )
        self.position = {int(i): p for p, i in enumerate(self.candidates)}
        self.candidate_tokens = [tokenizer.id_to_token(int(i)) for i in self.candidates]
        table = np.asarray(table, dtype=np.float32)
        self.unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
        self.vocab = vocab
        self.normalize = (
            tokenizer.normalizer.normalize_str if tokenizer.normalizer else (lambda s: s)
        )
        self.table: dict[str, tuple[str, ...]] = {}

    def prepare(self, words: Iterable[str], chunk: int = 2048) -> None:
        """Compute the neighbours of every word not seen yet."""
        todo = sorted({w for w in words if w not in self.table})
        ids = []
        for word in todo:
            token = self.normalize(word)
            i = self.vocab.get(token) if whole_word(token) and token not in STOP_WORDS else None
            if i is None or i >= len(self.unit):
                self.table[word] = ()
            else:
                ids.append((word, i))
        cand = self.unit[self.candidates]
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            sims = self.unit[[i for _, i in part]] @ cand.T
            for row, (_, i) in enumerate(part):
                if i in self.position:
                    sims[row, self.position[i]] = -np.inf  # not itself
            top = np.argpartition(-sims, self.k, axis=1)[:, : self.k]
            order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
            top = np.take_along_axis(top, order, axis=1)
            for row, (word, _) in enumerate(part):
                self.table[word] = tuple(self.candidate_tokens[j] for j in top[row])

    def __call__(self, word: str) -> tuple[str, ...]:
        if word not in self.table:
            self.prepare([word])
        return self.table[word]


def synonym_replacement(words: list[str], n: int, synonyms, rng: random.Random) -> list[str]:
    out = words.copy()
    spots = [i for i, w in enumerate(words) if synonyms(w)]
    rng.shuffle(spots)
    for i in spots[:n]:
        out[i] = rng.choice(synonyms(words[i]))
    return out


def random_insertion(words: list[str], n: int, synonyms, rng: random.Random) -> list[str]:
    out = words.copy()
    having = [w for w in words if synonyms(w)]
    for _ in range(n if having else 0):
        out.insert(rng.randint(0, len(out)), rng.choice(synonyms(rng.choice(having))))
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    out = words.copy()
    for _ in range(n if len(out) > 1 else 0):
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: random.Random) -> list[str]:
    if len(words) <= 1:
        return words.copy()
    out = [w for w in words if rng.random() >= p]
    return out or [rng.choice(words)]


def eda_augment(
    texts: Sequence[str],
    synonyms,
    n_aug: int = 9,
    alpha_sr: float = 0.1,
    alpha_ri: float = 0.1,
    alpha_rs: float = 0.1,
    p_rd: float = 0.1,
    seed: int = 0,
) -> tuple[list[str], list[int]]:
    """``n_aug`` edited copies of every text: (texts, index of each one's text)."""
    rng = random.Random(seed)
    if hasattr(synonyms, "prepare"):
        synonyms.prepare({w for text in texts for w in text.split()})
    out: list[str] = []
    origins: list[int] = []
    per_op = n_aug // 4 + 1
    for index, text in enumerate(texts):
        words = text.split()
        if not words:
            continue
        n_sr, n_ri, n_rs = (max(1, int(a * len(words))) for a in (alpha_sr, alpha_ri, alpha_rs))
        made = (
            [synonym_replacement(words, n_sr, synonyms, rng) for _ in range(per_op)]
            + [random_insertion(words, n_ri, synonyms, rng) for _ in range(per_op)]
            + [random_swap(words, n_rs, rng) for _ in range(per_op)]
            + [random_deletion(words, p_rd, rng) for _ in range(per_op)]
        )
        rng.shuffle(made)
        for edited in made[:n_aug]:
            out.append(" ".join(edited))
            origins.append(index)
    return out, origins
