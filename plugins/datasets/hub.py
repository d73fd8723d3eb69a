"""Loading a dataset from the Hugging Face Hub, and reading its columns under our label ids.

The real path for users with a network; offline, ``load_from_hub`` fails with a one-line
error saying how to point the harness at a local copy instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from distill_bench import BenchError
from distill_bench.plugins.datasets.readers import describe_labels


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


def hub_columns(
    split,
    text_col: str,
    label_col: str,
    label_names: tuple[str, ...],
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[str], list[int]]:
    """Texts and label ids of a Hub split, ids remapped by name to ``label_names``."""
    texts, raw = list(split[text_col]), list(split[label_col])
    names = getattr(split.features[label_col], "names", None)
    if names is None:  # a plain integer column: ids are already ours
        return texts, [int(y) for y in raw]
    lookup = {n: i for i, n in enumerate(label_names)}
    try:
        remap = [lookup[(aliases or {}).get(n, n)] for n in names]
    except KeyError as exc:
        raise BenchError(
            f"Hub column {label_col!r}: label {exc.args[0]!r} is not one of {describe_labels(label_names)}"
        ) from None
    return texts, [remap[y] for y in raw]


def first_column(split, *names: str) -> str:
    for name in names:
        if name in split.column_names:
            return name
    raise BenchError(
        f"Hub columns {' / '.join(names)}: none is in the split (columns: {split.column_names})"
    )
