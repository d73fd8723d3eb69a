"""Built-in datasets, read from a local data dir (layout of shared/data) or the Hub.

GLUE keeps SST-2's and CoLA's test labels hidden, so both are scored on dev and a
seeded, stratified slice of train is held out for model selection.
"""

from __future__ import annotations

from pathlib import Path

from distill_bench import BenchError, DatasetSpec, Option, hookimpl
from distill_bench.data import Split, TaskData, carve


def read_delimited(
    path: Path,
    *,
    columns: int,
    text_col: int,
    label_col: int,
    label_names: tuple[str, ...],
    header: bool,
    sep: str = "\t",
) -> tuple[list[str], list[int]]:
    """Rows of a TSV/CSV-like file; a malformed row is an error naming file and line."""
    if not path.is_file():
        raise BenchError(
            f"{path}: file not found (expected the layout of shared/data; see --data-dir)"
        )
    texts, labels = [], []
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BenchError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for number, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
        fields = line.split(sep)
        if len(fields) != columns:
            raise BenchError(
                f"{path}:{number}: expected {columns} {sep!r}-separated fields, got {len(fields)}"
            )
        text, raw_label = fields[text_col].strip(), fields[label_col].strip()
        if not text:
            raise BenchError(f"{path}:{number}: empty text")
        if not raw_label.isdigit() or int(raw_label) >= len(label_names):
            raise BenchError(
                f"{path}:{number}: label {raw_label!r} is not one of 0..{len(label_names) - 1}"
            )
        texts.append(text)
        labels.append(int(raw_label))
    if not texts:
        raise BenchError(f"{path}: no rows")
    return texts, labels


def load_from_hub(path: str, config: str | None = None):
    """The real path for users with a network; offline, a one-line error saying what to do."""
    from datasets import load_dataset

    try:
        return load_dataset(path, config)
    except (ConnectionError, OSError) as exc:
        raise BenchError(
            f"dataset {path}{'/' + config if config else ''}: not reachable on the Hugging Face Hub "
            f"({type(exc).__name__}); set --data-dir or BENCH_DATA_DIR to a local copy"
        ) from None


def _glue_task(
    *,
    name: str,
    folder: str,
    label_names: tuple[str, ...],
    metric: str,
    options: dict,
    data_dir: Path | None,
    local_format: dict,
    hub_config: str,
) -> TaskData:
    if data_dir is not None:
        base = Path(data_dir) / folder
        train_x, train_y = read_delimited(
            base / "train.tsv", label_names=label_names, **local_format
        )
        dev_x, dev_y = read_delimited(base / "dev.tsv", label_names=label_names, **local_format)
    else:
        ds = load_from_hub("nyu-mll/glue", hub_config)
        train_x, train_y = list(ds["train"]["sentence"]), list(ds["train"]["label"])
        dev_x, dev_y = list(ds["validation"]["sentence"]), list(ds["validation"]["label"])
    full_train = Split("train", tuple(train_x), tuple(train_y))
    n_select = round(len(full_train) * options["heldout_fraction"])
    train, select = carve(full_train, n_select, options["split_seed"], "train-heldout")
    return TaskData(
        name, label_names, train, select, Split("dev", tuple(dev_x), tuple(dev_y)), metric
    )


_SPLIT_OPTIONS = (
    Option("split_seed", int, 0, "seed of the held-out selection slice carved from train"),
)


def _sst2(options, data_dir):
    return _glue_task(
        name="sst2",
        folder="sst2",
        label_names=("negative", "positive"),
        metric="accuracy",
        options=options,
        data_dir=data_dir,
        hub_config="sst2",
        local_format=dict(columns=2, text_col=0, label_col=1, header=True),
    )


def _cola(options, data_dir):
    return _glue_task(
        name="cola",
        folder="cola",
        label_names=("unacceptable", "acceptable"),
        metric="mcc",
        options=options,
        data_dir=data_dir,
        hub_config="cola",
        local_format=dict(columns=4, text_col=3, label_col=1, header=False),
    )


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="sst2",
            factory=_sst2,
            description="GLUE SST-2 binary sentence sentiment; scored on dev (872), selection on held-out train.",
            options=(
                *_SPLIT_OPTIONS,
                Option(
                    "heldout_fraction", float, 0.02, "share of train held out for model selection"
                ),
            ),
            primary_metric="accuracy",
            num_labels=2,
        )
    )
    register(
        DatasetSpec(
            name="cola",
            factory=_cola,
            description="GLUE CoLA linguistic acceptability; Matthews correlation on dev (1,043), selection on held-out train.",
            options=(
                *_SPLIT_OPTIONS,
                Option(
                    "heldout_fraction", float, 0.1, "share of train held out for model selection"
                ),
            ),
            primary_metric="mcc",
            num_labels=2,
        )
    )
