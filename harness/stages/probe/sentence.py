"""A parsed sentence as the probes read it: ``Token`` tuples (``parse`` makes them with
spaCy) and the few tree walks every probe needs. Pure Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    text: str
    tag: str  # Penn Treebank tag (spaCy's ``tag_``)
    pos: str  # universal POS (spaCy's ``pos_``)
    dep: str  # dependency label; the root's is "ROOT"
    head: int  # index of the head in the sentence (the root heads itself)
    space: bool = True  # a space follows the token in the original text
    stop: bool = False  # a stop word (spaCy's list)


Sentence = tuple[Token, ...]


def text_of(tokens: Sequence[Token]) -> str:
    return "".join(t.text + (" " if t.space else "") for t in tokens).strip()


def words(sentence: Sentence) -> list[int]:
    return [i for i, t in enumerate(sentence) if t.pos not in ("PUNCT", "SPACE")]


def root(sentence: Sentence) -> int | None:
    return next((i for i, t in enumerate(sentence) if t.dep == "ROOT"), None)


def children(sentence: Sentence, head: int) -> list[int]:
    return [i for i, t in enumerate(sentence) if t.head == head and i != head]


def depth(sentence: Sentence) -> int:
    """Tokens on the longest path from the root down, the root counted (a one-word
    sentence has depth 1)."""

    def up(i: int) -> int:
        steps = 1
        while sentence[i].head != i and steps <= len(sentence):
            i, steps = sentence[i].head, steps + 1
        return steps

    return max(up(i) for i in range(len(sentence)))
