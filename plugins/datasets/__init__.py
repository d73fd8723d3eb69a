"""Built-in datasets, read from a local data dir (layout of shared/data) or the Hub.

Every dataset has a train split (teachers fine-tune on it), a selection split (early
stopping only, never scored) and an evaluation split whose name the leaderboard shows:

- official validation split (Emotion, CLINC150): select on it, score on test;
- no validation split (TREC, BANKING77, IMDB, Yelp): a seeded, stratified slice of train
  (``heldout_fraction``, ``split_seed``) is held out for selection; score on test;
- hidden test labels (GLUE SST-2, CoLA): the same held-out slice; score on dev.

A held-out slice never contains an evaluation text (``data.carve(avoid=...)``).

Every dataset also takes ``max_labeled`` / ``labels_per_class``: a seeded, stratified
labelled subset of train, the rest of train becoming ``TaskData.unlabelled`` (the
low-resource axis; see ``data.low_resource``).

Local files are parsed strictly: a malformed row is a one-line BenchError naming the
file, the line (or JSON key and item) and what was expected; nothing is dropped.
Label ids follow the Hugging Face datasets' ClassLabel order, so a model trained on
the local copy and one trained on the Hub copy agree on what id 3 means.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from distill_bench import BenchError, DatasetSpec, Option, hookimpl
from distill_bench.plugin_api.tasks import Split, TaskData, carve, heldout_indices, low_resource

# -- label sets (Hugging Face ClassLabel order) -------------------------------------------

EMOTION_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
TREC_COARSE_LABELS = ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")
TREC_FINE_LABELS = (
    *("ABBR:abb", "ABBR:exp"),
    *("ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat", "ENTY:currency"),
    *("ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang", "ENTY:letter"),
    *("ENTY:other", "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport"),
    *("ENTY:substance", "ENTY:symbol", "ENTY:techmeth", "ENTY:termeq", "ENTY:veh"),
    *("ENTY:word", "DESC:def", "DESC:desc", "DESC:manner", "DESC:reason"),
    *("HUM:gr", "HUM:ind", "HUM:title", "HUM:desc"),
    *("LOC:city", "LOC:country", "LOC:mount", "LOC:other", "LOC:state"),
    *("NUM:code", "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord", "NUM:other"),
    *("NUM:period", "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight"),
)
# Case-insensitive alphabetical, as the Hub's banking77 (categories.json has another order).
BANKING77_LABELS = (
    *("activate_my_card", "age_limit", "apple_pay_or_google_pay", "atm_support"),
    *("automatic_top_up", "balance_not_updated_after_bank_transfer"),
    *("balance_not_updated_after_cheque_or_cash_deposit", "beneficiary_not_allowed"),
    *("cancel_transfer", "card_about_to_expire", "card_acceptance", "card_arrival"),
    *("card_delivery_estimate", "card_linking", "card_not_working", "card_payment_fee_charged"),
    *("card_payment_not_recognised", "card_payment_wrong_exchange_rate", "card_swallowed"),
    *("cash_withdrawal_charge", "cash_withdrawal_not_recognised", "change_pin"),
    *("compromised_card", "contactless_not_working", "country_support", "declined_card_payment"),
    *("declined_cash_withdrawal", "declined_transfer", "direct_debit_payment_not_recognised"),
    *("disposable_card_limits", "edit_personal_details", "exchange_charge", "exchange_rate"),
    *("exchange_via_app", "extra_charge_on_statement", "failed_transfer"),
    *("fiat_currency_support", "get_disposable_virtual_card", "get_physical_card"),
    *("getting_spare_card", "getting_virtual_card", "lost_or_stolen_card"),
    *("lost_or_stolen_phone", "order_physical_card", "passcode_forgotten"),
    *("pending_card_payment", "pending_cash_withdrawal", "pending_top_up", "pending_transfer"),
    *("pin_blocked", "receiving_money", "Refund_not_showing_up", "request_refund"),
    *("reverted_card_payment?", "supported_cards_and_currencies", "terminate_account"),
    *("top_up_by_bank_transfer_charge", "top_up_by_card_charge", "top_up_by_cash_or_cheque"),
    *("top_up_failed", "top_up_limits", "top_up_reverted", "topping_up_by_card"),
    *("transaction_charged_twice", "transfer_fee_charged", "transfer_into_account"),
    *("transfer_not_received_by_recipient", "transfer_timing", "unable_to_verify_identity"),
    *("verify_my_identity", "verify_source_of_funds", "verify_top_up"),
    *("virtual_card_not_working", "visa_or_mastercard", "why_verify_identity"),
    *("wrong_amount_of_cash_received", "wrong_exchange_rate_for_cash_withdrawal"),
)
BINARY_SENTIMENT = ("negative", "positive")
CLINC_OOS = "oos"
CLINC_KEYS = ("train", "val", "test", "oos_train", "oos_val", "oos_test")
YELP_URL = "https://s3.amazonaws.com/fast-ai-nlp/yelp_review_polarity_csv.tgz"

# -- strict readers -------------------------------------------------------------------------


def _need_file(path: Path) -> None:
    if not path.is_file():
        raise BenchError(
            f"{path}: file not found (expected the layout of shared/data, see its README.md; "
            "set --data-dir or BENCH_DATA_DIR)"
        )


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchError(
            f"{path}:{line}: expected UTF-8 text, found byte 0x{data[exc.start]:02x} ({exc.reason})"
        ) from None


def _lines(path: Path) -> list[str]:
    """Physical lines: split on LF only (a text may hold U+2028), CR of CRLF removed."""
    _need_file(path)
    lines = _decode(path, path.read_bytes()).split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    return [line.removesuffix("\r") for line in lines]


def _expected(values: Sequence[str]) -> str:
    if len(values) <= 8:
        return ", ".join(values)
    return f"the {len(values)} labels ({', '.join(values[:3])}, ..., {values[-1]})"


def _label(raw: str, lookup: Mapping[str, int], values: Sequence[str], where: str) -> int:
    try:
        return lookup[raw]
    except KeyError:
        raise BenchError(f"{where}: label {raw!r} is not one of {_expected(values)}") from None


def _text(raw: str, where: str) -> str:
    text = raw.strip()
    if not text:
        raise BenchError(f"{where}: empty text")
    return text


def _nonempty(path: Path, texts: list) -> None:
    if not texts:
        raise BenchError(f"{path}: no rows")


def read_delimited(
    path: Path,
    *,
    columns: int,
    text_col: int,
    label_col: int,
    label_names: tuple[str, ...],
    header: bool,
    sep: str = "\t",
    label_values: Sequence[str] | None = None,
    header_names: Sequence[str] | None = None,
) -> tuple[list[str], list[int]]:
    """Rows of a TSV-like file (no quoting); a malformed row names file and line.

    ``label_values`` are the labels as written in the file, in id order (default: the
    digits 0..k-1); ``header_names``, when given, must match the header line."""
    values = tuple(label_values or (str(i) for i in range(len(label_names))))
    lookup = {v: i for i, v in enumerate(values)}
    lines = _lines(path)
    if header:
        got = lines[0].split(sep) if lines else []
        if header_names is not None and got != list(header_names):
            raise BenchError(
                f"{path}:1: expected the header {sep.join(header_names)!r}, got {sep.join(got)!r}"
            )
        lines = lines[1:]
    layout = f" ({', '.join(header_names)})" if header_names else ""
    texts, labels = [], []
    for number, line in enumerate(lines, start=2 if header else 1):
        where = f"{path}:{number}"
        fields = line.split(sep)
        if len(fields) != columns:
            raise BenchError(
                f"{where}: expected {columns} {sep!r}-separated fields{layout}, got {len(fields)}"
            )
        texts.append(_text(fields[text_col], where))
        labels.append(_label(fields[label_col].strip(), lookup, values, where))
    _nonempty(path, texts)
    return texts, labels


def read_semicolon(path: Path, label_values: Sequence[str]) -> tuple[list[str], list[int]]:
    """``text;label`` lines (Emotion), split on the last ``;``."""
    lookup = {v: i for i, v in enumerate(label_values)}
    texts, labels = [], []
    for number, line in enumerate(_lines(path), start=1):
        where = f"{path}:{number}"
        text, sep, raw = line.rpartition(";")
        if not sep:
            raise BenchError(f"{where}: expected 'text;label', found no ';'")
        texts.append(_text(text, where))
        labels.append(_label(raw.strip(), lookup, label_values, where))
    _nonempty(path, texts)
    return texts, labels


def read_csv(
    path: Path,
    *,
    columns: int,
    text_col: int,
    label_col: int,
    label_values: Sequence[str],
    header_names: Sequence[str] | None = None,
    unescape: bool = False,
) -> tuple[list[str], list[int]]:
    """RFC-4180 CSV (quotes, embedded commas and newlines, CRLF); errors name the line a
    record starts on. ``unescape`` turns the Zhang et al. escapes ``\\n`` and ``\\"``
    back into a newline and a quote."""
    _need_file(path)
    lookup = {v: i for i, v in enumerate(label_values)}
    reader = csv.reader(io.StringIO(_decode(path, path.read_bytes()), newline=""), strict=True)
    layout = f" ({', '.join(header_names)})" if header_names else ""
    texts, labels = [], []
    start, first = 1, True
    try:
        for fields in reader:
            where, start = f"{path}:{start}", reader.line_num + 1
            if header_names is not None and first:
                first = False
                if fields != list(header_names):
                    raise BenchError(
                        f"{where}: expected the header {','.join(header_names)!r}, "
                        f"got {','.join(fields)!r}"
                    )
                continue
            if len(fields) != columns:
                raise BenchError(
                    f"{where}: expected {columns} comma-separated fields{layout}, got {len(fields)}"
                )
            text = fields[text_col]
            if unescape:
                text = text.replace("\\n", "\n").replace('\\"', '"')
            texts.append(_text(text, where))
            labels.append(_label(fields[label_col].strip(), lookup, label_values, where))
    except csv.Error as exc:
        raise BenchError(
            f"{path}:{start}: malformed CSV ({exc}); expected {columns} comma-separated "
            'fields, quoted with " where needed'
        ) from None
    _nonempty(path, texts)
    return texts, labels


def read_json(path: Path) -> object:
    _need_file(path)
    try:
        return json.loads(_decode(path, path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None


def read_jsonl_gz(
    path: Path, *, labelled: bool, label_names: tuple[str, ...] = BINARY_SENTIMENT
) -> tuple[list[str], list[int]]:
    """Gzip JSON Lines ``{"text": ..., "label": 0..k-1}`` (``label`` absent when unlabelled;
    the labels returned are then empty)."""
    _need_file(path)
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchError(
            f"{path}: not a readable gzip file ({exc}); expected gzip-compressed JSON Lines"
        ) from None
    lines = _decode(path, data).split("\n")
    if lines[-1] == "":
        lines.pop()
    expected = '{"text": ...' + (f', "label": 0..{len(label_names) - 1}}}' if labelled else "}")
    texts, labels = [], []
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(
                f"{where}: not valid JSON ({exc.msg}, column {exc.colno}); expected {expected}"
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise BenchError(f"{where}: expected an object {expected}")
        texts.append(_text(obj["text"], where))
        if labelled:
            label = obj.get("label")
            if type(label) is not int or not 0 <= label < len(label_names):
                raise BenchError(
                    f"{where}: label {label!r} is not one of 0..{len(label_names) - 1}"
                )
            labels.append(label)
    _nonempty(path, texts)
    return texts, labels


# -- the Hub --------------------------------------------------------------------------------


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
            f"Hub column {label_col!r}: label {exc.args[0]!r} is not one of {_expected(label_names)}"
        ) from None
    return texts, [remap[y] for y in raw]


def _first_column(split, *names: str) -> str:
    for name in names:
        if name in split.column_names:
            return name
    raise BenchError(f"Hub split has none of the columns {names} (columns: {split.column_names})")


# -- shared options and the low-resource view -------------------------------------------------

_SPLIT_OPTIONS = (
    Option(
        "split_seed",
        int,
        0,
        "seed of the held-out selection slice carved from train and of the low-resource subset",
    ),
)
_LOW_RESOURCE_OPTIONS = (
    Option(
        "max_labeled",
        int,
        0,
        "keep this many labelled train examples (stratified, seeded by split_seed); "
        "the rest of train becomes the unlabelled pool; 0 = all",
    ),
    Option(
        "labels_per_class",
        int,
        0,
        "keep this many labelled train examples of every label (seeded by split_seed; "
        "then capped by max_labeled); the rest of train becomes the unlabelled pool; 0 = off",
    ),
)
_DATASET_OPTIONS = (*_SPLIT_OPTIONS, *_LOW_RESOURCE_OPTIONS)


def _heldout(default: float) -> Option:
    return Option("heldout_fraction", float, default, "share of train held out for model selection")


def apply_low_resource(task: TaskData, options: Mapping) -> TaskData:
    """The shared low-resource step every dataset factory ends with."""
    for name in ("max_labeled", "labels_per_class"):
        if options.get(name, 0) < 0:
            raise BenchError(
                f"dataset {task.name!r}: option {name!r} must be >= 0 (0 = off), got {options[name]}"
            )
    return low_resource(
        task,
        max_labeled=options.get("max_labeled", 0),
        labels_per_class=options.get("labels_per_class", 0),
        seed=options.get("split_seed", 0),
    )


def _labelled(load: Callable[[dict, Path | None], TaskData]):
    """A dataset factory: ``load`` then the shared low-resource step."""

    @functools.wraps(load)
    def factory(options, data_dir):
        task = load(options, None if data_dir is None else Path(data_dir))
        return apply_low_resource(task, options)

    return factory


def _n_heldout(name: str, n_train: int, options: Mapping) -> int:
    fraction = options["heldout_fraction"]
    if not 0 < fraction < 1:
        raise BenchError(
            f"dataset {name!r}: option 'heldout_fraction' must be between 0 and 1, got {fraction}"
        )
    return round(n_train * fraction)


def _carved_task(
    name: str,
    label_names: tuple[str, ...],
    full_train: Split,
    evaluation: Split,
    options: Mapping,
    metric: str = "accuracy",
    unlabelled: tuple[str, ...] = (),
) -> TaskData:
    """Selection split held out of train, never holding an evaluation text."""
    n_select = _n_heldout(name, len(full_train), options)
    train, select = carve(
        full_train, n_select, options["split_seed"], "train-heldout", avoid=set(evaluation.texts)
    )
    return TaskData(name, label_names, train, select, evaluation, metric, unlabelled)


# -- the datasets ---------------------------------------------------------------------------


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
    return _carved_task(name, label_names, full_train, dev, options, metric)


def _sst2(options, data_dir):
    return _glue_task(
        name="sst2",
        folder="sst2",
        label_names=BINARY_SENTIMENT,
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


def _emotion(options, data_dir):
    if data_dir is not None:
        base = data_dir / "emotion"
        parts = {
            s: read_semicolon(base / f"{s}.txt", EMOTION_LABELS) for s in ("train", "val", "test")
        }
    else:
        ds = load_from_hub("dair-ai/emotion", "split")
        parts = {
            ours: hub_columns(ds[hub], "text", "label", EMOTION_LABELS)
            for ours, hub in (("train", "train"), ("val", "validation"), ("test", "test"))
        }
    train, val, test = (Split(s, tuple(parts[s][0]), tuple(parts[s][1])) for s in parts)
    return TaskData("emotion", EMOTION_LABELS, train, val, test, "accuracy")


def _trec_task(name: str, fine: bool, options, data_dir) -> TaskData:
    """TREC-6 and TREC-50 share one held-out slice: it is stratified on the fine labels."""
    columns = {}
    if data_dir is not None:
        fmt = dict(
            columns=3, text_col=0, header=True, header_names=("text", "coarse_label", "fine_label")
        )
        for split in ("train", "test"):
            path = data_dir / "trec" / f"{split}.tsv"
            texts, coarse = read_delimited(
                path,
                label_col=1,
                label_names=TREC_COARSE_LABELS,
                label_values=TREC_COARSE_LABELS,
                **fmt,
            )
            _, fine_y = read_delimited(
                path,
                label_col=2,
                label_names=TREC_FINE_LABELS,
                label_values=TREC_FINE_LABELS,
                **fmt,
            )
            columns[split] = (texts, coarse, fine_y)
    else:
        ds = load_from_hub("CogComp/trec")
        for split in ("train", "test"):
            part = ds[split]
            coarse_col = _first_column(part, "coarse_label", "label-coarse")
            fine_col = _first_column(part, "fine_label", "label-fine")
            texts, coarse = hub_columns(part, "text", coarse_col, TREC_COARSE_LABELS)
            _, fine_y = hub_columns(part, "text", fine_col, TREC_FINE_LABELS)
            columns[split] = (texts, coarse, fine_y)
    label_names = TREC_FINE_LABELS if fine else TREC_COARSE_LABELS
    column = 2 if fine else 1
    texts, *_ = columns["train"]
    test = Split("test", tuple(columns["test"][0]), tuple(columns["test"][column]))
    by_fine = Split("train", tuple(texts), tuple(columns["train"][2]))
    n_select = _n_heldout(name, len(by_fine), options)
    out = heldout_indices(by_fine, n_select, options["split_seed"], avoid=set(test.texts))
    full_train = Split("train", tuple(texts), tuple(columns["train"][column]))
    chosen = set(out)
    train = full_train.take([i for i in range(len(full_train)) if i not in chosen])
    select = full_train.take(out, "train-heldout")
    return TaskData(name, label_names, train, select, test, "accuracy")


def _trec(options, data_dir):
    return _trec_task("trec", False, options, data_dir)


def _trec_fine(options, data_dir):
    return _trec_task("trec-fine", True, options, data_dir)


def _clinc_intents(path: Path) -> tuple[str, ...]:
    """The 150 in-scope intents, sorted, from oos-eval's domains.json."""
    domains = read_json(path)
    if not isinstance(domains, dict):
        raise BenchError(f"{path}: expected a JSON object mapping each domain to its intents")
    intents: set[str] = set()
    for domain, names in domains.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BenchError(f"{path}: key {domain!r}: expected a list of intent names")
        intents.update(names)
    if len(intents) != 150:
        raise BenchError(f"{path}: expected 150 intents over the domains, found {len(intents)}")
    return tuple(sorted(intents))


def _clinc_pairs(
    obj: dict, path: Path, key: str, lookup: Mapping[str, int], values: Sequence[str]
) -> tuple[list[str], list[int]]:
    if key not in obj:
        raise BenchError(
            f"{path}: no key {key!r} (found {', '.join(map(repr, obj)) or 'none'}; "
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
        texts.append(_text(row[0], where))
        labels.append(_label(row[1], lookup, values, where))
    return texts, labels


def _clinc150(options, data_dir):
    """150 intents; with include_oos the out-of-scope queries join every split as ``oos``."""
    include_oos = options["include_oos"]
    parts: dict[str, tuple[list[str], list[int]]] = {}
    if data_dir is not None:
        base = data_dir / "clinc150"
        intents = _clinc_intents(base / "domains.json")
        path = base / "data_full.json"
        obj = read_json(path)
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


def _banking77(options, data_dir):
    if data_dir is not None:
        fmt = dict(
            columns=2,
            text_col=0,
            label_col=1,
            label_values=BANKING77_LABELS,
            header_names=("text", "category"),
        )
        train_x, train_y = read_csv(data_dir / "banking77" / "train.csv", **fmt)
        test_x, test_y = read_csv(data_dir / "banking77" / "test.csv", **fmt)
    else:
        ds = load_from_hub("PolyAI/banking77")
        train_x, train_y = hub_columns(ds["train"], "text", "label", BANKING77_LABELS)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BANKING77_LABELS)
    return _carved_task(
        "banking77",
        BANKING77_LABELS,
        Split("train", tuple(train_x), tuple(train_y)),
        Split("test", tuple(test_x), tuple(test_y)),
        options,
    )


def _imdb_unsup(data_dir: Path | None) -> list[str]:
    if data_dir is not None:
        return read_jsonl_gz(data_dir / "imdb" / "unsup.jsonl.gz", labelled=False)[0]
    return list(load_from_hub("stanfordnlp/imdb")["unsupervised"]["text"])


def _imdb(options, data_dir):
    """Labelled 25k / 25k; the 50k unsup reviews are the unlabelled pool. Text is raw
    (``<br />`` kept), as the Hub serves it."""
    aliases = {"neg": "negative", "pos": "positive"}
    if data_dir is not None:
        base = data_dir / "imdb"
        train_x, train_y = read_jsonl_gz(base / "train.jsonl.gz", labelled=True)
        test_x, test_y = read_jsonl_gz(base / "test.jsonl.gz", labelled=True)
        unsup = _imdb_unsup(data_dir)
    else:
        ds = load_from_hub("stanfordnlp/imdb")
        train_x, train_y = hub_columns(ds["train"], "text", "label", BINARY_SENTIMENT, aliases)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BINARY_SENTIMENT, aliases)
        unsup = list(ds["unsupervised"]["text"])
    return _carved_task(
        "imdb",
        BINARY_SENTIMENT,
        Split("train", tuple(train_x), tuple(train_y)),
        Split("test", tuple(test_x), tuple(test_y)),
        options,
        unlabelled=tuple(unsup),
    )


def _yelp_polarity(options, data_dir):
    """Zhang et al. (2015): 560k / 38k; class 1 = negative, 2 = positive."""
    if data_dir is not None:
        base = data_dir / "yelp-polarity"
        for split in ("train", "test"):
            if not (base / f"{split}.csv").is_file():
                raise BenchError(
                    f"yelp-polarity: {base / f'{split}.csv'} is not in the data dir; download "
                    f"{YELP_URL} and put the train.csv and test.csv from its "
                    f"yelp_review_polarity_csv/ folder into {base}/ (or run without a data dir "
                    "to load fancyzhx/yelp_polarity from the Hugging Face Hub)"
                )
        fmt = dict(columns=2, text_col=1, label_col=0, label_values=("1", "2"), unescape=True)
        train_x, train_y = read_csv(base / "train.csv", **fmt)
        test_x, test_y = read_csv(base / "test.csv", **fmt)
    else:
        ds = load_from_hub("fancyzhx/yelp_polarity")
        aliases = {"1": "negative", "2": "positive"}
        train_x, train_y = hub_columns(ds["train"], "text", "label", BINARY_SENTIMENT, aliases)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BINARY_SENTIMENT, aliases)
    return _carved_task(
        "yelp-polarity",
        BINARY_SENTIMENT,
        Split("train", tuple(train_x), tuple(train_y)),
        Split("test", tuple(test_x), tuple(test_y)),
        options,
    )


# -- unlabelled corpora (what augmenters can draw transfer text from) ----------------------------

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A sentence ends at ., ! or ? (with a closing quote or bracket, if any) when whitespace
# and then a capital letter, a digit or an opening quote/bracket follow. So "e.g. the"
# and "... but" do not split; "Mr. Smith" does (a known, harmless miss).
_SENTENCE_END = re.compile(r"([.!?][\"')\]]?)\s+(?=[\"'(\[]?[A-Z0-9])")
_CUT = "\x00"  # marks a boundary: sub() then one str.split() is 2x faster than re.split()


def split_sentences(text: str) -> list[str]:
    """``<br />`` tags are paragraph breaks; paragraphs split at ``_SENTENCE_END``; each
    sentence's whitespace collapsed to single spaces; empty pieces dropped."""
    marked = _SENTENCE_END.sub(r"\1" + _CUT, _BREAK.sub(_CUT, text))
    return [" ".join(words) for piece in marked.split(_CUT) if (words := piece.split())]


def imdb_unsup_sentences(
    data_dir: Path | None, min_words: int = 3, max_words: int = 64
) -> list[str]:
    """IMDB's 50,000 unlabelled reviews as sentences (for SST-2 transfer sets).

    Sentences (``split_sentences``) of ``min_words`` to ``max_words`` whitespace-separated
    words, in review order, each kept once (its first occurrence). Casing and punctuation
    are kept as written. About 577k sentences from the shared/data copy, in about 2 s."""
    keep: dict[str, None] = {}
    for review in _imdb_unsup(None if data_dir is None else Path(data_dir)):
        marked = _SENTENCE_END.sub(r"\1" + _CUT, _BREAK.sub(_CUT, review))
        for piece in marked.split(_CUT):
            words = piece.split()
            if min_words <= len(words) <= max_words:
                keep[" ".join(words)] = None
    return list(keep)


# Unlabelled text by name, for augmenters: UNLABELLED_CORPORA[name](data_dir) -> texts.
UNLABELLED_CORPORA: dict[str, Callable[[Path | None], list[str]]] = {
    "imdb-unsup-sentences": imdb_unsup_sentences,
}


@hookimpl
def register_datasets(register):
    def dataset(name, load, description, metric="accuracy", num_labels=None, options=()):
        register(
            DatasetSpec(
                name=name,
                factory=_labelled(load),
                description=description,
                options=(*_DATASET_OPTIONS, *options),
                primary_metric=metric,
                num_labels=num_labels,
            )
        )

    dataset(
        "sst2",
        _sst2,
        "GLUE SST-2 binary sentence sentiment; scored on dev (872), selection on held-out train.",
        num_labels=2,
        options=(_heldout(0.02),),
    )
    dataset(
        "cola",
        _cola,
        "GLUE CoLA linguistic acceptability; Matthews correlation on dev (1,043), selection on held-out train.",
        metric="mcc",
        num_labels=2,
        options=(_heldout(0.1),),
    )
    dataset(
        "emotion",
        _emotion,
        "dair-ai Emotion (CARER) 6-way tweet emotion; scored on test (2,000), selection on val (2,000).",
        num_labels=6,
    )
    dataset(
        "trec",
        _trec,
        "TREC question classification, 6 coarse types; scored on test (500), selection on held-out train.",
        num_labels=6,
        options=(_heldout(0.1),),
    )
    dataset(
        "trec-fine",
        _trec_fine,
        "TREC question classification, 50 fine types; scored on test (500), selection on held-out train.",
        num_labels=50,
        options=(_heldout(0.1),),
    )
    dataset(
        "clinc150",
        _clinc150,
        "CLINC150 intents (data_full.json); scored on test (4,500 in-scope: accuracy = in-scope "
        "accuracy), selection on val. include_oos adds the oos class: primary metric "
        "inscope_accuracy, plus oos_recall.",
        options=(
            Option(
                "include_oos",
                bool,
                False,
                "add the out-of-scope class (oos_train / oos_val / oos_test) as label 'oos'",
            ),
        ),
    )
    dataset(
        "banking77",
        _banking77,
        "BANKING77 fine-grained banking intents (77); scored on test (3,080), selection on held-out train.",
        num_labels=77,
        options=(_heldout(0.1),),
    )
    dataset(
        "imdb",
        _imdb,
        "IMDB movie-review sentiment (aclImdb); scored on test (25,000), selection on held-out "
        "train; the 50,000 unsup reviews are the unlabelled pool.",
        num_labels=2,
        options=(_heldout(0.1),),
    )
    dataset(
        "yelp-polarity",
        _yelp_polarity,
        "Yelp review polarity (Zhang et al., 2015); scored on test (38,000), selection on "
        "held-out train. Hub, or <data-dir>/yelp-polarity/{train,test}.csv.",
        num_labels=2,
        options=(_heldout(0.01),),
    )
