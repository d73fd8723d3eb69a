"""Where each built-in dataset's local files are and how they are laid out, and each
dataset's pre-flight ``check_files``.

The layouts (``SST2_TSV``, ``TREC_TSV``, ...) are what the loaders pass the strict readers,
so a check and a load can never disagree on a header or a column count. Every
``check_<dataset>(options, data_dir)`` is a ``DatasetSpec.check_files``: with a data dir
it looks at each file the loader will read (``checks.py``: existence, header, first row);
without one (the Hub) there is nothing local to check. ``check_corpus`` does the same for
the named unlabelled corpora the ``unlabeled`` augmenter reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distill_bench import BenchError
from distill_bench.plugins.datasets.checks import (
    check_csv,
    check_delimited,
    check_json_object,
    check_jsonl_gz,
    check_semicolon,
)
from distill_bench.plugins.datasets.clinc import CLINC_KEYS

YELP_URL = "https://s3.amazonaws.com/fast-ai-nlp/yelp_review_polarity_csv.tgz"

# What the readers are told about each layout (label names and values are the loaders')
SST2_TSV: dict[str, Any] = dict(
    columns=2, text_col=0, label_col=1, header=True, header_names=("sentence", "label")
)
COLA_TSV: dict[str, Any] = dict(columns=4, text_col=3, label_col=1, header=False)
TREC_TSV: dict[str, Any] = dict(
    columns=3, text_col=0, header=True, header_names=("text", "coarse_label", "fine_label")
)
BANKING77_CSV: dict[str, Any] = dict(
    columns=2, text_col=0, label_col=1, header_names=("text", "category")
)
YELP_CSV: dict[str, Any] = dict(
    columns=2, text_col=1, label_col=0, label_values=("1", "2"), unescape=True
)
CLINC_DOMAINS = "mapping each domain to its intents"
CLINC_DATA = f"with keys {', '.join(CLINC_KEYS)}"

Check = Callable[[dict[str, Any], Path | None], None]


def _local(check: Callable[[dict[str, Any], Path], None]) -> Check:
    """A ``check_files``: ``check`` with the data dir, nothing for the Hub."""

    @functools.wraps(check)
    def check_files(options: dict[str, Any], data_dir: Path | None) -> None:
        if data_dir is not None:
            check(options, Path(data_dir))

    return check_files


def _tsv(path: Path, layout: dict[str, Any]) -> None:
    check_delimited(
        path,
        columns=layout["columns"],
        header=layout["header"],
        header_names=layout.get("header_names"),
    )


def yelp_file(base: Path, split: str) -> Path:
    """yelp-polarity's ``split``.csv, or the one-line error saying where to get it (the
    data dirs here hold no copy)."""
    path = base / f"{split}.csv"
    if not path.is_file():
        raise BenchError(
            f"{path}: file not found (yelp-polarity has no copy in shared/data); download "
            f"{YELP_URL} and put the train.csv and test.csv from its "
            f"yelp_review_polarity_csv/ folder into {base}/ (or run without a data dir "
            "to load fancyzhx/yelp_polarity from the Hugging Face Hub)"
        )
    return path


@_local
def check_sst2(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "dev"):
        _tsv(data_dir / "sst2" / f"{split}.tsv", SST2_TSV)


@_local
def check_cola(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "dev"):
        _tsv(data_dir / "cola" / f"{split}.tsv", COLA_TSV)


@_local
def check_emotion(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "val", "test"):
        check_semicolon(data_dir / "emotion" / f"{split}.txt")


@_local
def check_trec(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "test"):
        _tsv(data_dir / "trec" / f"{split}.tsv", TREC_TSV)


@_local
def check_clinc150(options: dict[str, Any], data_dir: Path) -> None:
    check_json_object(data_dir / "clinc150" / "domains.json", CLINC_DOMAINS)
    check_json_object(data_dir / "clinc150" / "data_full.json", CLINC_DATA)


@_local
def check_banking77(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "test"):
        check_csv(
            data_dir / "banking77" / f"{split}.csv",
            columns=BANKING77_CSV["columns"],
            header_names=BANKING77_CSV["header_names"],
        )


def _check_imdb_unsup(data_dir: Path) -> None:
    check_jsonl_gz(data_dir / "imdb" / "unsup.jsonl.gz", labelled=False)


@_local
def check_imdb(options: dict[str, Any], data_dir: Path) -> None:
    for split in ("train", "test"):
        check_jsonl_gz(data_dir / "imdb" / f"{split}.jsonl.gz", labelled=True)
    _check_imdb_unsup(data_dir)


@_local
def check_yelp_polarity(options: dict[str, Any], data_dir: Path) -> None:
    base = data_dir / "yelp-polarity"
    for split in ("train", "test"):
        check_csv(yelp_file(base, split), columns=YELP_CSV["columns"])


# The files of each named unlabelled corpus (``UNLABELLED_CORPORA``), by name
CORPUS_CHECKS: dict[str, Callable[[Path], None]] = {
    "imdb-unsup-sentences": _check_imdb_unsup,
}


@_local
def check_corpus(options: dict[str, Any], data_dir: Path) -> None:
    """The ``unlabeled`` augmenter's ``check_files``: its ``corpus`` option's files, if any."""
    corpus = options.get("corpus")
    if corpus in CORPUS_CHECKS:
        CORPUS_CHECKS[corpus](data_dir)
