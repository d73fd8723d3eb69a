"""The ``files`` dataset: a user's own labelled text, no code, through ``datasets``' loaders.

CSV, TSV, JSON Lines and Parquet files under the data dir (``--data-dir``, whose
fingerprint keys the cache, so changed files are never mistaken for cached ones). Options
name the files, the text and label columns, the label order and the primary metric; a
missing selection or evaluation file becomes a seeded, stratified slice of train, as the
built-in datasets do. Every check fails with the file (and line) and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distill_bench import BenchError, Option
from distill_bench.plugin_api.metrics import METRICS
from distill_bench.plugin_api.tasks import Split, TaskData, carve
from distill_bench.plugins.datasets.readers import decode_utf8

LOADERS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}
# the line of row i in the file, for messages: CSV/TSV have a header line, JSON Lines none
_FIRST_LINE = {".csv": 2, ".tsv": 2, ".jsonl": 1, ".json": 1}

FILES_OPTIONS = (
    Option("train", str, None, "labelled training file under the data dir (.csv, .tsv, "
           ".jsonl, .parquet)"),
    Option("select", str, "", "selection file (early stopping); '': a held-out slice of train"),
    Option("evaluation", str, "", "evaluation file (the leaderboard's scores); '': a held-out "
           "slice of train"),
    Option("unlabelled", str, "", "in-domain text without labels for transfer sets (its text "
           "column only); '': none"),
    Option("text", str, "text", "the text column"),
    Option("text_pair", str, "", "a second text column (sentence pairs): not supported yet"),
    Option("label", str, "label", "the label column (strings or integers)"),
    Option("label_names", list, [], "the labels in the order of the model's outputs (a "
           "fine-tuned teacher's order); []: train's labels, sorted", item_type=str),
    Option("metric", str, "accuracy", "the primary metric", choices=tuple(METRICS)),
    Option("heldout_fraction", float, 0.1, "share of train held out for each missing split",
           above=0, below=0.5),
)  # fmt: skip


def _path(options: dict, key: str, data_dir: Path | None, name: str) -> Path:
    if data_dir is None:
        raise BenchError(
            f"dataset {name!r}: the files dataset reads files under a data dir; pass "
            "--data-dir (or set BENCH_DATA_DIR)"
        )
    path = (data_dir / options[key]).resolve()
    if not path.is_relative_to(data_dir.resolve()):
        raise BenchError(
            f"dataset {name!r}: option {key!r} ({options[key]}) must be a path inside the data "
            f"dir {data_dir}, whose fingerprint keys the cache"
        )
    if path.suffix not in LOADERS:
        raise BenchError(
            f"dataset {name!r}: option {key!r}: {path.name} is not one of {', '.join(LOADERS)}"
        )
    if not path.is_file():
        raise BenchError(f"{path}: no such file (dataset {name!r}, option {key!r})")
    return path


def read_columns(path: Path, columns: Sequence[str]) -> dict[str, list]:
    """The named columns of a file, read by ``datasets``' own loader for its format."""
    import tempfile

    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    kwargs = {"delimiter": "\t"} if path.suffix == ".tsv" else {}
    if path.suffix != ".parquet":  # the loaders' own errors do not say where
        decode_utf8(path, path.read_bytes())
    # read into memory through a scratch cache: the user's files stay the only copy on disk
    with tempfile.TemporaryDirectory() as scratch:
        try:
            table = datasets.load_dataset(
                LOADERS[path.suffix], data_files=str(path), split="train", cache_dir=scratch,
                keep_in_memory=True, **kwargs,
            )  # fmt: skip
        except Exception as exc:  # the loaders wrap what went wrong; say what it was
            cause = _root_cause(exc)
            raise BenchError(f"{path}: cannot read it ({str(cause).splitlines()[0]})") from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise BenchError(
                f"{path}: no column {missing[0]!r} (columns: {', '.join(table.column_names)})"
            )
        return {c: table[c] for c in columns}


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return exc


def _where(path: Path, row: int) -> str:
    first = _FIRST_LINE.get(path.suffix)
    return f"{path}:{row + first}" if first else f"{path}: row {row + 1}"


def _texts(path: Path, values: list, column: str) -> tuple[str, ...]:
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise BenchError(f"{_where(path, i)}: empty text in column {column!r}")
    return tuple(values)


def load_files(options: dict, data_dir: Path | None) -> TaskData:
    name = "files"
    if options["text_pair"]:
        raise BenchError(
            f"dataset {name!r}: option 'text_pair': sentence pairs are not supported yet"
        )
    text, label = options["text"], options["label"]
    paths = {
        key: _path(options, key, data_dir, name)
        for key in ("train", "select", "evaluation", "unlabelled")
        if options[key]
    }
    raw = {key: read_columns(p, [text, label]) for key, p in paths.items() if key != "unlabelled"}
    train_labels = [str(v) for v in raw["train"][label]]
    names = tuple(options["label_names"]) or tuple(sorted(set(train_labels)))
    if len(set(train_labels)) < 2:
        raise BenchError(
            f"{paths['train']}: label column {label!r} has one class ({train_labels[0]!r}); a "
            "classifier needs at least two"
        )
    ids = {n: i for i, n in enumerate(names)}
    splits = {}
    for key, columns in raw.items():
        path = paths[key]
        labels = []
        for i, value in enumerate(columns[label]):
            if str(value) not in ids:
                known = "train's labels" if not options["label_names"] else "label_names"
                raise BenchError(
                    f"{_where(path, i)}: label {str(value)!r} is not among {known} "
                    f"({', '.join(names)})"
                )
            labels.append(ids[str(value)])
        splits[key] = Split(key, _texts(path, columns[text], text), tuple(labels))
    train = splits["train"]
    n_out = max(1, round(len(train) * options["heldout_fraction"]))
    seed = options.get("split_seed", 0)
    if "evaluation" not in splits:
        train, splits["evaluation"] = carve(train, n_out, seed, "train-heldout-evaluation")
    if "select" not in splits:
        avoid = set(splits["evaluation"].texts)
        train, splits["select"] = carve(train, n_out, seed + 1, "train-heldout", avoid)
    unlabelled = ()
    if "unlabelled" in paths:
        unlabelled = _texts(
            paths["unlabelled"], read_columns(paths["unlabelled"], [text])[text], text
        )
    return TaskData(
        name, names, train, splits["select"], splits["evaluation"], options["metric"], unlabelled
    )


def check_user_files(options: dict, data_dir: Path | None) -> None:
    """The pre-flight: every named file is under the data dir, of a known format, there."""
    if options["text_pair"]:
        raise BenchError("dataset option 'text_pair': sentence pairs are not supported yet")
    for key in ("train", "select", "evaluation", "unlabelled"):
        if options[key]:
            _path(options, key, data_dir, "files")
