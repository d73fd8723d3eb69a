"""The GLUE datasets SST-2 and CoLA: hidden test labels, so scored on dev.

Both read GLUE's TSV files (or the Hub's nyu-mll/glue) and hold a selection slice out of
train (``carved_task``).
"""

from __future__ import annotations

from pathlib import Path

from distill_bench.plugin_api.tasks import Split, TaskData
from distill_bench.plugins.datasets.files import COLA_TSV, SST2_TSV
from distill_bench.plugins.datasets.hub import hub_columns, load_from_hub
from distill_bench.plugins.datasets.labels import BINARY_SENTIMENT
from distill_bench.plugins.datasets.readers import read_delimited
from distill_bench.plugins.datasets.splits import carved_task


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
        train_x, train_y = hub_columns(ds["train"], "sentence", "label", label_names)
        dev_x, dev_y = hub_columns(ds["validation"], "sentence", "label", label_names)
    full_train = Split("train", tuple(train_x), tuple(train_y))
    dev = Split("dev", tuple(dev_x), tuple(dev_y))
    return carved_task(name, label_names, full_train, dev, options, metric)


def load_sst2(options, data_dir):
    return _glue_task(
        name="sst2",
        folder="sst2",
        label_names=BINARY_SENTIMENT,
        metric="accuracy",
        options=options,
        data_dir=data_dir,
        hub_config="sst2",
        local_format=SST2_TSV,
    )


def load_cola(options, data_dir):
    return _glue_task(
        name="cola",
        folder="cola",
        label_names=("unacceptable", "acceptable"),
        metric="mcc",
        options=options,
        data_dir=data_dir,
        hub_config="cola",
        local_format=COLA_TSV,
    )
