"""Valid inputs the fuzzing and error-message tests start from, and TOML to write them.

A tiny copy of every built-in dataset in shared/data's layout (``TEMPLATE``, written by
``write_dataset_files``), a teacher folder as far as a dry run looks at one
(``write_teacher``), and ``to_toml``, which writes any matrix-like document as TOML
(every value inline, every key quoted) so that generated matrices reach the parser whole.
"""

from __future__ import annotations

import datetime
import gzip
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

from distill_bench.plugins.datasets.labels import (
    BANKING77_LABELS,
    EMOTION_LABELS,
    TREC_FINE_LABELS,
)

from tests.helpers import synthetic_sentences

# -- a tiny, valid copy of every dataset ---------------------------------------------------

N_TRAIN = 60  # enough for every held-out fraction (yelp-polarity's 0.01) to hold out one
INTENTS = tuple(f"intent_{i:03d}" for i in range(150))


def _sentences(n: int, seed: int) -> list[tuple[str, int]]:
    return synthetic_sentences(n, seed)


def _gz_jsonl(rows: list[dict]) -> bytes:
    return gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows), mtime=0)


def tiny_dataset_files() -> dict[str, bytes]:
    """Every file the built-in datasets read, relative to the data dir: small and valid."""
    files: dict[str, bytes] = {}
    tsv = lambda rows: "".join(r + "\n" for r in rows).encode()  # noqa: E731
    for split, n, seed in (("train", N_TRAIN, 1), ("dev", 12, 2)):
        files[f"sst2/{split}.tsv"] = tsv(
            ["sentence\tlabel", *(f"{t} \t{y}" for t, y in _sentences(n, seed))]
        )
        files[f"cola/{split}.tsv"] = tsv(f"gj04\t{y}\t\t{t}" for t, y in _sentences(n, seed + 10))
    for split, n, seed in (("train", N_TRAIN, 3), ("val", 12, 4), ("test", 12, 5)):
        files[f"emotion/{split}.txt"] = tsv(
            f"{t};{EMOTION_LABELS[(y + i) % 6]}" for i, (t, y) in enumerate(_sentences(n, seed))
        )
    for split, n, seed in (("train", N_TRAIN, 6), ("test", 12, 7)):
        rows = []
        for i, (t, _) in enumerate(_sentences(n, seed)):
            fine = TREC_FINE_LABELS[i % 10]
            rows.append(f"{t} ?\t{fine.split(':')[0]}\t{fine}")
        files[f"trec/{split}.tsv"] = tsv(["text\tcoarse_label\tfine_label", *rows])
        files[f"banking77/{split}.csv"] = tsv(
            ["text,category"]
            + [
                f'"{t}, really",{BANKING77_LABELS[i % 5]}'
                for i, (t, _) in enumerate(_sentences(n, seed + 10))
            ]
        )
        files[f"yelp-polarity/{split}.csv"] = tsv(
            f'"{y + 1}","{t}\\n said \\""so\\"" ""twice"""' for t, y in _sentences(n, seed + 20)
        )
        files[f"imdb/{split}.jsonl.gz"] = _gz_jsonl(
            [
                {"id": f"{split}/{i}", "label": y, "text": t}
                for i, (t, y) in enumerate(_sentences(n, seed + 30))
            ]
        )
    files["imdb/unsup.jsonl.gz"] = _gz_jsonl(
        [{"id": i, "text": f"{t}. And more!"} for i, (t, _) in enumerate(_sentences(8, 40))]
    )
    domains = {f"domain_{d}": list(INTENTS[15 * d : 15 * d + 15]) for d in range(10)}
    files["clinc150/domains.json"] = json.dumps(domains, indent=1).encode()
    data = {
        key: [[f"{key} query {i} for {name}", name] for i, name in enumerate(INTENTS[:n])]
        for key, n in (("train", 40), ("val", 10), ("test", 10))
    }
    data |= {
        f"oos_{k}": [[f"oos {k} {i}", "oos"] for i in range(3)] for k in ("train", "val", "test")
    }
    files["clinc150/data_full.json"] = json.dumps(data, indent=1).encode()
    return files


TEMPLATE = tiny_dataset_files()
# The datasets a file feeds (trec and trec-fine read the same files; the folder is the rest).
DATASETS = (
    "sst2",
    "cola",
    "emotion",
    "trec",
    "trec-fine",
    "banking77",
    "imdb",
    "yelp-polarity",
    "clinc150",
)
FOLDER = {name: "trec" if name == "trec-fine" else name for name in DATASETS}
FILES = {name: sorted(f for f in TEMPLATE if f.startswith(FOLDER[name] + "/")) for name in DATASETS}
SEPARATOR = {"tsv": b"\t", "txt": b";", "csv": b",", "gz": b",", "json": b","}


def write_dataset_files(root: Path, files: dict[str, bytes] | None = None) -> Path:
    """Write ``files`` (default: the tiny copy of every dataset) under ``root``."""
    for rel, data in (TEMPLATE if files is None else files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# -- TOML out: every value inline, every key quoted ----------------------------------------


def toml_string(text: str) -> str:
    """A TOML basic string: control characters, quotes and backslashes escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
        )
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(f"no TOML for {type(value).__name__}")


def to_toml(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


def write_teacher(folder: Path) -> Path:
    """A 2-label BERT classifier's folder as far as a dry run looks: config and vocab."""
    folder.mkdir(parents=True)
    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "vocab_size": 8,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nbad\nfilm\n")
    return folder
