"""Built-in datasets: their loaders and ``register_datasets``, from a local data dir or the Hub.

Every dataset reads a local data dir (the layout of shared/data) or, without one, the Hub,
and has a train split (teachers fine-tune on it), a selection split (early stopping only,
never scored) and an evaluation split whose name the leaderboard shows:

- official validation split (Emotion, CLINC150): select on it, score on test;
- no validation split (TREC, BANKING77, IMDB, Yelp): a seeded, stratified slice of train
  is held out for selection (``splits.py``); score on test;
- hidden test labels (GLUE SST-2, CoLA: ``glue.py``): the same held-out slice; score on dev.

Beside the loaders: the strict local-file readers (``readers.py``), the Hub (``hub.py``),
label sets in the Hub's order (``labels.py``), the held-out slice and low-resource view
(``splits.py``), CLINC150 (``clinc.py``) and IMDB's unlabelled reviews as sentences
(``imdb.py``), the corpus ``UNLABELLED_CORPORA`` offers the augmenters.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from distill_bench import BenchError, DatasetSpec, Option, hookimpl
from distill_bench.plugin_api.tasks import Split, TaskData, heldout_indices
from distill_bench.plugins.datasets.clinc import load_clinc150
from distill_bench.plugins.datasets.files import (
    BANKING77_CSV,
    TREC_TSV,
    YELP_CSV,
    YELP_URL,  # noqa: F401  (read here by the tests and error hints)
    check_banking77,
    check_clinc150,
    check_cola,
    check_emotion,
    check_imdb,
    check_sst2,
    check_trec,
    check_yelp_polarity,
    yelp_file,
)
from distill_bench.plugins.datasets.glue import load_cola, load_sst2
from distill_bench.plugins.datasets.hub import first_column, hub_columns, load_from_hub
from distill_bench.plugins.datasets.imdb import imdb_unsup_reviews, imdb_unsup_sentences
from distill_bench.plugins.datasets.intent_pairs import INTENT_PAIRS_OPTIONS, intent_pairs
from distill_bench.plugins.datasets.labels import (
    BANKING77_LABELS,
    BINARY_SENTIMENT,
    EMOTION_LABELS,
    TREC_COARSE_LABELS,
    TREC_FINE_LABELS,
)
from distill_bench.plugins.datasets.readers import (
    read_csv,
    read_delimited,
    read_jsonl_gz,
    read_semicolon,
)
from distill_bench.plugins.datasets.splits import (
    DATASET_OPTIONS,
    carved_task,
    heldout_option,
    labelled,
    n_heldout,
    split_overlap,
)
from distill_bench.plugins.datasets.user_files import (
    FILES_OPTIONS,
    HUB_OPTIONS,
    check_user_files,
    load_files,
    load_hub_dataset,
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
        fmt = TREC_TSV
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
            coarse_col = first_column(part, "coarse_label", "label-coarse")
            fine_col = first_column(part, "fine_label", "label-fine")
            texts, coarse = hub_columns(part, "text", coarse_col, TREC_COARSE_LABELS)
            _, fine_y = hub_columns(part, "text", fine_col, TREC_FINE_LABELS)
            columns[split] = (texts, coarse, fine_y)
    label_names = TREC_FINE_LABELS if fine else TREC_COARSE_LABELS
    column = 2 if fine else 1
    texts, *_ = columns["train"]
    test = Split("test", tuple(columns["test"][0]), tuple(columns["test"][column]))
    by_fine = Split("train", tuple(texts), tuple(columns["train"][2]))
    n_select = n_heldout(name, len(by_fine), options)
    try:
        out = heldout_indices(by_fine, n_select, options["split_seed"], avoid=set(test.texts))
    except ValueError:  # train is (nearly) the test split
        raise BenchError(split_overlap(name, by_fine, test, n_select)) from None
    full_train = Split("train", tuple(texts), tuple(columns["train"][column]))
    chosen = set(out)
    train = full_train.take([i for i in range(len(full_train)) if i not in chosen])
    select = full_train.take(out, "train-heldout")
    return TaskData(name, label_names, train, select, test, "accuracy")


def _trec(options, data_dir):
    return _trec_task("trec", False, options, data_dir)


def _trec_fine(options, data_dir):
    return _trec_task("trec-fine", True, options, data_dir)


def _banking77(options, data_dir):
    if data_dir is not None:
        fmt = dict(BANKING77_CSV, label_values=BANKING77_LABELS)
        train_x, train_y = read_csv(data_dir / "banking77" / "train.csv", **fmt)
        test_x, test_y = read_csv(data_dir / "banking77" / "test.csv", **fmt)
    else:
        ds = load_from_hub("PolyAI/banking77")
        train_x, train_y = hub_columns(ds["train"], "text", "label", BANKING77_LABELS)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BANKING77_LABELS)
    return carved_task(
        "banking77",
        BANKING77_LABELS,
        Split("train", tuple(train_x), tuple(train_y)),
        Split("test", tuple(test_x), tuple(test_y)),
        options,
    )


def _imdb(options, data_dir):
    """Labelled 25k / 25k; the 50k unsup reviews are the unlabelled pool. Text is raw
    (``<br />`` kept), as the Hub serves it."""
    aliases = {"neg": "negative", "pos": "positive"}
    if data_dir is not None:
        base = data_dir / "imdb"
        train_x, train_y = read_jsonl_gz(base / "train.jsonl.gz", labelled=True)
        test_x, test_y = read_jsonl_gz(base / "test.jsonl.gz", labelled=True)
        unsup = imdb_unsup_reviews(data_dir)
    else:
        ds = load_from_hub("stanfordnlp/imdb")
        train_x, train_y = hub_columns(ds["train"], "text", "label", BINARY_SENTIMENT, aliases)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BINARY_SENTIMENT, aliases)
        unsup = list(ds["unsupervised"]["text"])
    return carved_task(
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
        train_x, train_y = read_csv(yelp_file(base, "train"), **YELP_CSV)
        test_x, test_y = read_csv(yelp_file(base, "test"), **YELP_CSV)
    else:
        ds = load_from_hub("fancyzhx/yelp_polarity")
        aliases = {"1": "negative", "2": "positive"}
        train_x, train_y = hub_columns(ds["train"], "text", "label", BINARY_SENTIMENT, aliases)
        test_x, test_y = hub_columns(ds["test"], "text", "label", BINARY_SENTIMENT, aliases)
    return carved_task(
        "yelp-polarity",
        BINARY_SENTIMENT,
        Split("train", tuple(train_x), tuple(train_y)),
        Split("test", tuple(test_x), tuple(test_y)),
        options,
    )


def _names_a_pair_column(options) -> bool:
    return bool(options["text_pair"])


def _intent_pairs(options, data_dir):
    source = options["source"]
    loaded = {"banking77": _banking77, "clinc150": load_clinc150}[source](
        {"heldout_fraction": 0.1, "include_oos": False, "split_seed": options["split_seed"]},
        data_dir,
    )
    return intent_pairs(loaded, options)


def _check_intent_pairs(options, data_dir):
    check = {"banking77": check_banking77, "clinc150": check_clinc150}[options["source"]]
    return check(options, data_dir)


# Unlabelled text by name, for augmenters: UNLABELLED_CORPORA[name](data_dir) -> texts.
UNLABELLED_CORPORA: dict[str, Callable[[Path | None], list[str]]] = {
    "imdb-unsup-sentences": imdb_unsup_sentences,
}


@hookimpl
def register_datasets(register):
    def dataset(
        name, load, description, check_files, num_labels, metric="accuracy", options=(), pairs=False
    ):
        register(
            DatasetSpec(
                name=name,
                factory=labelled(load),
                description=description,
                options=(*DATASET_OPTIONS, *options),
                primary_metric=metric,
                num_labels=num_labels,
                check_files=check_files,
                pairs=pairs,
            )
        )

    # the user's own data: label count from label_names when given, else known on loading
    def label_names_count(options):
        return len(options["label_names"]) or None

    dataset(
        "files",
        load_files,
        "Your own labelled text: CSV, TSV, JSON Lines or Parquet files under the data dir, "
        "with the columns and label order the options name.",
        check_user_files,
        num_labels=label_names_count,
        options=FILES_OPTIONS,
        pairs=_names_a_pair_column,
    )
    dataset(
        "hub",
        load_hub_dataset,
        "Any Hugging Face dataset by id (and config), with the columns, splits and label "
        "order the options name; offline it needs the datasets cache.",
        None,
        num_labels=label_names_count,
        options=HUB_OPTIONS,
        pairs=_names_a_pair_column,
    )
    dataset(
        "sst2",
        load_sst2,
        "GLUE SST-2 binary sentence sentiment; scored on dev (872), selection on held-out train.",
        check_sst2,
        num_labels=2,
        options=(heldout_option(0.02),),
    )
    dataset(
        "cola",
        load_cola,
        "GLUE CoLA linguistic acceptability; Matthews correlation on dev (1,043), selection on held-out train.",
        check_cola,
        metric="mcc",
        num_labels=2,
        options=(heldout_option(0.1),),
    )
    dataset(
        "emotion",
        _emotion,
        "dair-ai Emotion (CARER) 6-way tweet emotion; scored on test (2,000), selection on val (2,000).",
        check_emotion,
        num_labels=6,
    )
    dataset(
        "trec",
        _trec,
        "TREC question classification, 6 coarse types; scored on test (500), selection on held-out train.",
        check_trec,
        num_labels=6,
        options=(heldout_option(0.1),),
    )
    dataset(
        "trec-fine",
        _trec_fine,
        "TREC question classification, 50 fine types; scored on test (500), selection on held-out train.",
        check_trec,
        num_labels=50,
        options=(heldout_option(0.1),),
    )
    dataset(
        "clinc150",
        load_clinc150,
        "CLINC150 intents (data_full.json); scored on test (4,500 in-scope: accuracy = in-scope "
        "accuracy), selection on val. include_oos adds the oos class: primary metric "
        "inscope_accuracy, plus oos_recall.",
        check_clinc150,
        num_labels=lambda options: 151 if options["include_oos"] else 150,
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
        check_banking77,
        num_labels=77,
        options=(heldout_option(0.1),),
    )
    dataset(
        "intent-pairs",
        _intent_pairs,
        "Sentence pairs from an intent dataset (BANKING77 or CLINC150): same intent or "
        "different, balanced, each split drawn within the source's own split.",
        _check_intent_pairs,
        num_labels=2,
        options=INTENT_PAIRS_OPTIONS,
        pairs=True,
    )
    dataset(
        "imdb",
        _imdb,
        "IMDB movie-review sentiment (aclImdb); scored on test (25,000), selection on held-out "
        "train; the 50,000 unsup reviews are the unlabelled pool.",
        check_imdb,
        num_labels=2,
        options=(heldout_option(0.1),),
    )
    dataset(
        "yelp-polarity",
        _yelp_polarity,
        "Yelp review polarity (Zhang et al., 2015); scored on test (38,000), selection on "
        "held-out train. Hub, or <data-dir>/yelp-polarity/{train,test}.csv.",
        check_yelp_polarity,
        num_labels=2,
        options=(heldout_option(0.01),),
    )
