"""The modified-or-not probes: each returns a sentence's modified text, or None when it
cannot be modified that way (``tasks`` draws which half of the sentences are)."""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from distill_bench.stages.probe.sentence import Sentence, Token, children, root, text_of, words


def bigram_shift(s: Sentence, rng: random.Random) -> str | None:
    w = words(s)
    spots = [
        (a, b) for a, b in zip(w, w[1:], strict=False)
        if b == a + 1 and s[a].text.lower() != s[b].text.lower()
    ]  # fmt: skip
    if len(w) < 4 or not spots:
        return None
    a, b = rng.choice(spots)
    swapped = list(s)
    # the words trade places, the spaces stay where they were
    swapped[a] = replace(s[b], space=s[a].space)
    swapped[b] = replace(s[a], space=s[b].space)
    return text_of(swapped)


def odd_man_out(pool_by_tag: dict[str, dict[str, int]]):
    def modify(s: Sentence, rng: random.Random) -> str | None:
        spots = [i for i, t in enumerate(s) if t.pos in ("NOUN", "VERB") and t.text.isalpha()]
        rng.shuffle(spots)
        for i in spots:
            freqs = pool_by_tag.get(s[i].tag, {})
            own = freqs.get(s[i].text.lower(), 1)
            like = sorted(
                w for w, f in freqs.items() if own / 2 <= f <= own * 2 and w != s[i].text.lower()
            )
            if like:
                out = list(s)
                word = rng.choice(like)
                if s[i].text[:1].isupper():  # the case it replaces: no cue in the case
                    word = word[:1].upper() + word[1:]
                out[i] = replace(s[i], text=word)
                return text_of(out)
        return None

    return modify


def words_by_tag(pool: Sequence[Sentence]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter] = defaultdict(Counter)
    for s in pool:
        for t in s:
            if t.pos in ("NOUN", "VERB") and t.text.isalpha():
                out[t.tag][t.text.lower()] += 1
    return {tag: dict(c) for tag, c in out.items()}


def coordination_inversion(s: Sentence, rng: random.Random) -> str | None:
    del rng  # deterministic: there is one way to swap two clauses
    r = root(s)
    if r is None or s[r].pos not in ("VERB", "AUX"):
        return None
    kids = children(s, r)
    ccs = [c for c in kids if s[c].dep == "cc" and c > r]
    conjs = [c for c in kids if s[c].dep == "conj" and s[c].pos in ("VERB", "AUX")]
    if len(ccs) != 1 or len(conjs) != 1 or conjs[0] < ccs[0]:
        return None
    cc, conj = ccs[0], conjs[0]
    has_subject = {"nsubj", "nsubjpass", "expl"}
    if not any(s[c].dep in has_subject for c in children(s, conj)) or not any(
        s[c].dep in has_subject and c < cc for c in kids
    ):
        return None  # a shared subject: not two clauses
    end = len(s) - 1 if s[-1].pos == "PUNCT" else len(s)
    left, right = _clause(s[:cc]), _clause(s[cc + 1 : end])
    if not left or not right:
        return None
    comma = [s[cc - 1]] if s[cc - 1].text == "," else []
    if s[0].text[:1].isupper():  # a cased corpus: the new first word gets the capital
        right, left = _recased(right, True), _recased(left, False)
    # the corpus's own convention: SST-2 writes "fresh , but", CoLA "fresh, but"
    spaced = any(t.space for k, t in enumerate(s[:-1]) if s[k + 1].pos == "PUNCT")
    return _joined([right, comma, [s[cc]], left, s[end:]], spaced)


def _clause(tokens: Sequence[Token]) -> list[Token]:
    """The clause without the punctuation at its edges."""
    out = list(tokens)
    while out and out[0].pos == "PUNCT":
        out.pop(0)
    while out and out[-1].pos == "PUNCT":
        out.pop()
    return out


def _recased(clause: list[Token], first: bool) -> list[Token]:
    """The clause's first word capitalised when it now opens the sentence, lowercased when
    it no longer does (names and "I" keep theirs), so case gives no cue to a cased model."""
    head = clause[0]
    if head.tag in ("NNP", "NNPS") or head.text == "I":
        return clause
    text = head.text[:1].upper() + head.text[1:] if first else head.text[:1].lower() + head.text[1:]
    return [replace(head, text=text), *clause[1:]]


def _joined(groups: Sequence[Sequence[Token]], before_punctuation: bool) -> str:
    """The groups in order: each keeps its tokens' own spaces ("didn't" stays whole); a
    junction between groups gets a space, before punctuation only if
    ``before_punctuation`` (the corpus's convention)."""
    tokens = [t for g in groups for t in g]
    ends = set(itertools.accumulate(len(g) for g in groups))
    out = []
    for k, t in enumerate(tokens, start=1):
        if k == len(tokens):
            out.append(t.text)
        elif k in ends:
            out.append(
                t.text + ("" if tokens[k].pos == "PUNCT" and not before_punctuation else " ")
            )
        else:
            out.append(t.text + (" " if t.space else ""))
    return "".join(out)
