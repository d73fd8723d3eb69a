"""CLINC150 intents from oos-eval's ``data_full.json`` (or the Hub's clinc_oos), out-of-scope optional.

The 150 in-scope intents come from ``domains.json``, sorted; with ``include_oos`` the
out-of-scope queries join every split as the label ``oos``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from distill_bench import BenchError
from distill_bench.plugin_api.tasks import Split, TaskData
from distill_bench.plugins.datasets.hub import hub_columns, load_from_hub
from distill_bench.plugins.datasets.readers import json_text, label_id, read_json, shown

CLINC_OOS = "oos"
CLINC_KEYS = ("train", "val", "test", "oos_train", "oos_val", "oos_test")


def _clinc_intents(path: Path) -> tuple[str, ...]:
    """The 150 in-scope intents, sorted, from oos-eval's domains.json."""
    domains = read_json(path, "an object mapping each domain to its intents")
    if not isinstance(domains, dict):
        raise BenchError(f"{path}: expected a JSON object mapping each domain to its intents")
    intents: set[str] = set()
    for domain, names in domains.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BenchError(f"{path}: key {shown(domain)}: expected a list of intent names")
        intents.update(names)
    if len(intents) != 150:
        raise BenchError(f"{path}: expected 150 intents over the domains, found {len(intents)}")
    return tuple(sorted(intents))


def _clinc_pairs(
    obj: dict, path: Path, key: str, lookup: Mapping[str, int], values: Sequence[str]
) -> tuple[list[str], list[int]]:
    if key not in obj:
        found = ", ".join(shown(k, 30) for k in list(obj)[:8]) + (", ..." if len(obj) > 8 else "")
        raise BenchError(
            f"{path}: no key {key!r} (found {found or 'none'}; "
            f"expected the oos-eval layout: {', '.join(CLINC_KEYS)})"
        )
    rows = obj[key]
    if not isinstance(rows, list) or not rows:
        raise BenchError(f"{path}: key {key!r}: expected a non-empty list of [text, intent] pairs")
    texts, labels = [], []
    for i, row in enumerate(rows):
        where = f"{path}: key {key!r}, item {i}"
        if not (isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row)):
            raise BenchError(
                f"{where}: expected a [text, intent] pair of strings, got {json.dumps(row)[:80]}"
            )
        texts.append(json_text(row[0], where))
        labels.append(label_id(row[1], lookup, values, where))
    return texts, labels


def load_clinc150(options, data_dir):
    """150 intents; with include_oos the out-of-scope queries join every split as ``oos``."""
    include_oos = options["include_oos"]
    parts: dict[str, tuple[list[str], list[int]]] = {}
    if data_dir is not None:
        base = data_dir / "clinc150"
        intents = _clinc_intents(base / "domains.json")
        path = base / "data_full.json"
        obj = read_json(path, f"an object with keys {', '.join(CLINC_KEYS)}")
        if not isinstance(obj, dict):
            raise BenchError(f"{path}: expected a JSON object with keys {', '.join(CLINC_KEYS)}")
        inscope = {name: i for i, name in enumerate(intents)}
        for split in ("train", "val", "test"):
            texts, labels = _clinc_pairs(obj, path, split, inscope, intents)
            if include_oos:
                more, _ = _clinc_pairs(obj, path, f"oos_{split}", {CLINC_OOS: 0}, (CLINC_OOS,))
                texts, labels = texts + more, labels + [len(intents)] * len(more)
            parts[split] = (texts, labels)
    else:
        ds = load_from_hub("clinc_oos", "plus")
        names = ds["train"].features["intent"].names
        intents = tuple(sorted(n for n in names if n != CLINC_OOS))
        ours = (*intents, CLINC_OOS)
        for split, hub in (("train", "train"), ("val", "validation"), ("test", "test")):
            texts, labels = hub_columns(ds[hub], "text", "intent", ours)
            keep = [i for i, y in enumerate(labels) if include_oos or y != len(intents)]
            parts[split] = ([texts[i] for i in keep], [labels[i] for i in keep])
    label_names = (*intents, CLINC_OOS) if include_oos else intents
    train, val, test = (Split(s, tuple(x), tuple(y)) for s, (x, y) in parts.items())
    return TaskData(
        "clinc150",
        label_names,
        train,
        val,
        test,
        # the literature's figure: accuracy over in-scope test queries. Without oos, every
        # test query is in scope and that is plain accuracy.
        "inscope_accuracy" if include_oos else "accuracy",
        oos_label=len(intents) if include_oos else None,
    )
