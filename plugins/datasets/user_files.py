"""The ``files`` dataset: a user's own labelled text, no code, through ``datasets``' loaders.

CSV, TSV, JSON Lines and Parquet files under the data dir (``--data-dir``, whose
fingerprint keys the cache, so changed files are never mistaken for cached ones). Options
name the files, the text and label columns, the label order and the primary metric; a
missing selection or evaluation file becomes a seeded, stratified slice of train, as the
built-in datasets do. Every check fails with the file (and line) and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill_bench import BenchError, Option
from distill_bench.plugin_api.metrics import METRICS
from distill_bench.plugin_api.pairs import join_pairs
from distill_bench.plugin_api.tasks import Split, TaskData, carve
from distill_bench.plugins.datasets.hub import load_from_hub
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
    Option("text_pair", str, "", "a second text column: the task reads sentence pairs "
           "(text, text_pair); '': single sentences"),
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


@dataclass(frozen=True)
class Columns:
    """One split's text and label columns as read, and where row i is, for messages."""

    source: str  # the file, or the Hub split
    texts: list
    labels: list
    where: Callable[[int], str]
    seconds: list | None = None  # a pair task's second texts (option text_pair)


def _texts(columns: Columns, options: dict) -> tuple[str, ...]:
    """The split's texts, checked non-empty; a pair task's two columns joined
    (``plugin_api.pairs``)."""
    sides = [(columns.texts, options["text"])]
    if columns.seconds is not None:
        sides.append((columns.seconds, options["text_pair"]))
    for values, column in sides:
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise BenchError(f"{columns.where(i)}: empty text in column {column!r}")
    if columns.seconds is None:
        return tuple(columns.texts)
    return tuple(join_pairs(columns.texts, columns.seconds))


def text_columns(options: dict) -> list[str]:
    """The columns that hold text: ``text``, and ``text_pair`` for a pair task."""
    return [options["text"]] + ([options["text_pair"]] if options["text_pair"] else [])


def task_from_columns(
    name: str,
    tables: dict[str, Columns],
    options: dict,
    unlabelled: tuple[str, ...] = (),
    class_names: Sequence[str] = (),
) -> TaskData:
    """The task of a train table (and optional "select" / "evaluation" tables): labels in
    ``label_names``' order, else ``class_names`` (a Hub ClassLabel's), else train's sorted;
    a missing split held out of train, as the built-in datasets do."""
    label = options["label"]
    train_labels = [str(v) for v in tables["train"].labels]
    if len(set(train_labels)) < 2:
        raise BenchError(
            f"{tables['train'].source}: label column {label!r} has one class "
            f"({train_labels[0]!r}); a classifier needs at least two"
        )
    names = tuple(options["label_names"]) or tuple(class_names) or tuple(sorted(set(train_labels)))
    ids = {n: i for i, n in enumerate(names)}
    splits = {}
    for key, columns in tables.items():
        labels = []
        for i, value in enumerate(columns.labels):
            if str(value) not in ids:
                known = "label_names" if options["label_names"] or class_names else "train's labels"
                raise BenchError(
                    f"{columns.where(i)}: label {str(value)!r} is not among {known} "
                    f"({', '.join(names)})"
                )
            labels.append(ids[str(value)])
        splits[key] = Split(key, _texts(columns, options), tuple(labels))
    train = splits["train"]
    n_out = max(1, round(len(train) * options["heldout_fraction"]))
    seed = options.get("split_seed", 0)
    if "evaluation" not in splits:
        train, splits["evaluation"] = carve(train, n_out, seed, "train-heldout-evaluation")
    if "select" not in splits:
        avoid = set(splits["evaluation"].texts)
        train, splits["select"] = carve(train, n_out, seed + 1, "train-heldout", avoid)
    return TaskData(
        name, names, train, splits["select"], splits["evaluation"], options["metric"], unlabelled
    )


FILE_KEYS = ("train", "select", "evaluation", "unlabelled")  # the options that name files


def _columns(path: Path, options: dict, labelled: bool) -> Columns:
    """One file's text (and pair, and label) columns."""
    texts = text_columns(options)
    read = read_columns(path, texts + ([options["label"]] if labelled else []))
    return Columns(
        str(path),
        read[texts[0]],
        read[options["label"]] if labelled else [],
        lambda i: _where(path, i),
        read[texts[1]] if len(texts) > 1 else None,
    )


def load_files(options: dict, data_dir: Path | None) -> TaskData:
    name = "files"
    paths = {key: _path(options, key, data_dir, name) for key in FILE_KEYS if options[key]}
    tables = {key: _columns(p, options, True) for key, p in paths.items() if key != "unlabelled"}
    unlabelled = ()
    if "unlabelled" in paths:
        unlabelled = _texts(_columns(paths["unlabelled"], options, False), options)
    return task_from_columns(name, tables, options, unlabelled)


def check_user_files(options: dict, data_dir: Path | None) -> None:
    """The pre-flight: every named file is under the data dir, of a known format, there."""
    for key in FILE_KEYS:
        if options[key]:
            _path(options, key, data_dir, "files")


HUB_OPTIONS = (
    Option("path", str, None, "a Hugging Face dataset id (or a local dataset folder)"),
    Option("config", str, "", "the dataset's configuration name, if it has several"),
    Option("train_split", str, "train", "the split teachers fine-tune on"),
    Option("select_split", str, "validation", "the selection split; absent: held out of train"),
    Option("evaluation_split", str, "test", "the scored split; absent: held out of train"),
    *(o for o in FILES_OPTIONS if o.name in ("text", "text_pair", "label", "label_names",
                                              "metric", "heldout_fraction")),
)  # fmt: skip


def load_hub_dataset(options: dict, data_dir: Path | None) -> TaskData:
    """Any Hub dataset's text and label columns; offline, the one-line error of
    ``hub.load_from_hub``. A ClassLabel column's names give the label order."""
    name = "hub"
    source = options["path"] + (f"/{options['config']}" if options["config"] else "")
    splits = load_from_hub(options["path"], options["config"] or None)
    text, label = options["text"], options["label"]
    if options["train_split"] not in splits:
        raise BenchError(
            f"{source}: no split {options['train_split']!r} (splits: {', '.join(splits)})"
        )
    tables, class_names = {}, ()
    for key in ("train", "select", "evaluation"):
        split = options[f"{key}_split"]
        if split not in splits:
            continue  # held out of train
        data = splits[split]
        missing = [c for c in (*text_columns(options), label) if c not in data.column_names]
        if missing:
            raise BenchError(
                f"{source}[{split}]: no column {missing[0]!r} (columns: {', '.join(data.column_names)})"
            )
        feature = data.features[label]
        labels = list(data[label])
        if getattr(feature, "names", None):  # a ClassLabel: ids -> its names
            class_names = tuple(feature.names)
            labels = [feature.names[y] if y >= 0 else "-1 (unlabelled)" for y in labels]
        where = lambda i, s=split: f"{source}[{s}] row {i + 1}"  # noqa: E731
        seconds = list(data[options["text_pair"]]) if options["text_pair"] else None
        tables[key] = Columns(f"{source}[{split}]", list(data[text]), labels, where, seconds)
    return task_from_columns(name, tables, options, class_names=class_names)
