"""Sentence pairs as plain strings: the two sides joined by one reserved character.

Every stage moves texts as ``str`` (cached, hashed, deduplicated, batched by length), so a
pair travels as one string, ``first + PAIR_SEP + second``, and only the code that reads
text splits it: tokenizers (a teacher's encodes a pair as a pair; a student's adds its
separator), augmenters (each side is edited on its own) and readers of pair datasets
(``join_pair``). U+001F, the ASCII unit separator, never occurs in natural text, and BERT
normalisers drop control characters, so a joined pair cannot leak it into a vocabulary.
Pure: no torch."""

from __future__ import annotations

from collections.abc import Sequence

from distill_bench.plugin_api.errors import BenchError

PAIR_SEP = "\x1f"


def join_pair(first: str, second: str) -> str:
    """One text of a pair task; a side that holds the separator itself is refused."""
    if PAIR_SEP in first or PAIR_SEP in second:
        raise BenchError(
            f"sentence pair {first[:40]!r} / {second[:40]!r}: a side holds U+001F, the "
            "character that joins pairs; expected plain text"
        )
    return f"{first}{PAIR_SEP}{second}"


def split_pair(text: str) -> tuple[str, str] | None:
    """(first, second) of a pair, None for a single sentence."""
    first, sep, second = text.partition(PAIR_SEP)
    return (first, second) if sep else None


def is_pair_task(texts: Sequence[str]) -> bool:
    """Whether ``texts`` are pairs, from the first one (a task is all pairs or none)."""
    return bool(texts) and PAIR_SEP in texts[0]


def split_pairs(texts: Sequence[str], where: str = "texts") -> tuple[list[str], list[str]] | None:
    """The first and second sides of every text, or None when they are single sentences;
    a mixture is refused (a pair task whose transfer set holds single sentences)."""
    sides = [split_pair(t) for t in texts]
    paired = sum(s is not None for s in sides)
    if paired == 0:
        return None
    if paired < len(sides):
        raise BenchError(
            f"{where}: {paired} of {len(sides)} are sentence pairs, the rest single "
            "sentences; expected one kind (a pair task's transfer set must hold pairs too)"
        )
    return [s[0] for s in sides], [s[1] for s in sides]  # type: ignore[index]


def join_pairs(firsts: Sequence[str], seconds: Sequence[str]) -> list[str]:
    return [join_pair(a, b) for a, b in zip(firsts, seconds, strict=True)]


PAIR_SHOWN = " ⟂ "  # how a pair reads on a page or a terminal


def shown(text: str) -> str:
    """A text for people: a pair's sides with ``PAIR_SHOWN`` between them."""
    return text.replace(PAIR_SEP, PAIR_SHOWN)
