"""Dataset readers on small files in every local format, the low-resource view, the
oos metrics and dataset_stats. Fast and CPU-only; the real files are in test_datasets_real."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from distill_bench import BenchError
from distill_bench.plugin_api.metrics import (
    METRIC_LABELS,
    inscope_accuracy,
    metric_fn,
    oos_recall,
    score_all,
    score_task,
    task_metric,
)
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.tasks import Split, TaskData, carve, low_resource, subsample
from distill_bench.plugins import datasets as ds
from distill_bench.stages.data.stats import dataset_stats, format_stats, parse_options

LABELLED = ("sst2", "cola", "emotion", "trec", "trec-fine", "clinc150", "banking77", "imdb")
ALL = (*LABELLED, "yelp-polarity")


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def load(registry, name, data_dir, **options):
    spec = registry.get("datasets", name)
    return spec.factory(spec.resolve(options, "test"), data_dir)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# -- every format: a good tiny file loads, each kind of bad row names file and line ---------


def sst2_dir(root: Path, train: str | bytes, n_dev: int = 4) -> Path:
    write(root / "sst2" / "train.tsv", train)
    dev = "sentence\tlabel\n" + "".join(f"dev sentence {i} \t{i % 2}\n" for i in range(n_dev))
    write(root / "sst2" / "dev.tsv", dev)
    return root


TAB, SST2_LAYOUT = "'\\t'-separated", "(sentence, label)"  # as the reader's errors say
GOOD_SST2 = "sentence\tlabel\n" + "".join(f"a sentence {i} \t{i % 2}\n" for i in range(50))


def test_tsv_loads_and_holds_out_a_stratified_slice(registry, tmp_path):
    task = load(registry, "sst2", sst2_dir(tmp_path, GOOD_SST2), heldout_fraction=0.2)
    assert (len(task.train), len(task.select), len(task.evaluation)) == (40, 10, 4)
    assert "a sentence 0" in task.train.texts + task.select.texts  # whitespace stripped
    assert Counter(task.select.labels) == {0: 5, 1: 5}
    assert task.evaluation.name == "dev" and task.select.name == "train-heldout"


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("only one field", f"train.tsv:3: expected 2 {TAB} fields {SST2_LAYOUT}, got 1"),
        ("a\tb\tc", f"train.tsv:3: expected 2 {TAB} fields {SST2_LAYOUT}, got 3"),
        ("fine text\t2", "train.tsv:3: label '2' is not one of 0, 1"),
        ("fine text\tpositive", "train.tsv:3: label 'positive' is not one of 0, 1"),
        ("   \t1", "train.tsv:3: empty text"),
        ("", f"train.tsv:3: expected 2 {TAB} fields {SST2_LAYOUT}, got 1"),  # a blank line
    ],
)
def test_tsv_bad_rows(registry, tmp_path, bad_line, message):
    text = "sentence\tlabel\ngood one\t0\n" + bad_line + "\ngood two\t1\n"
    with pytest.raises(BenchError) as err:
        load(registry, "sst2", sst2_dir(tmp_path, text))
    assert message in str(err.value) and str(tmp_path) in str(err.value)


def test_tsv_undecodable_bytes_name_the_line(registry, tmp_path):
    raw = b"sentence\tlabel\ngood\t0\nsister\xf0city\t1\n"
    with pytest.raises(BenchError, match=r"train\.tsv:3: expected UTF-8 text, found byte 0xf0"):
        load(registry, "sst2", sst2_dir(tmp_path, raw))


def test_missing_split_names_the_file(registry, tmp_path):
    sst2_dir(tmp_path, GOOD_SST2)
    (tmp_path / "sst2" / "dev.tsv").unlink()
    with pytest.raises(BenchError, match=r"sst2/dev\.tsv: file not found"):
        load(registry, "sst2", tmp_path)
    for name, looked_for in [
        ("emotion", "emotion/train.txt"),
        ("trec", "trec/train.tsv"),
        ("banking77", "banking77/train.csv"),
        ("clinc150", "clinc150/domains.json"),
        ("imdb", "imdb/train.jsonl.gz"),
    ]:
        with pytest.raises(BenchError, match=f"{looked_for}: file not found"):
            load(registry, name, tmp_path)


def test_tsv_with_crlf_and_header_check(registry, tmp_path):
    header = "text\tcoarse_label\tfine_label\r\n"
    rows = [f"What is thing {i} ?\tNUM\tNUM:count\r\n" for i in range(20)]
    rows += [f"Who is person {i} ?\tHUM\tHUM:ind\r\n" for i in range(20)]
    write(tmp_path / "trec" / "train.tsv", header + "".join(rows))
    write(tmp_path / "trec" / "test.tsv", header + "Who wrote it ?\tHUM\tHUM:ind\r\n")
    task = load(registry, "trec", tmp_path)
    assert task.label_names[task.evaluation.labels[0]] == "HUM"
    assert (len(task.train), len(task.select)) == (36, 4)
    fine = load(registry, "trec-fine", tmp_path)
    assert fine.label_names[fine.evaluation.labels[0]] == "HUM:ind"
    assert fine.select.texts == task.select.texts  # one held-out slice for TREC-6 and TREC-50
    write(tmp_path / "trec" / "test.tsv", "question\tlabel\nWho ?\tHUM\n")
    with pytest.raises(BenchError, match=r"test\.tsv:1: expected the header 'text\\tcoarse_label"):
        load(registry, "trec", tmp_path)
    write(tmp_path / "trec" / "test.tsv", header + "Who ?\tHUM\tHUM:who\n")
    with pytest.raises(BenchError, match=r"test\.tsv:2: label 'HUM:who' is not one of the 50"):
        load(registry, "trec-fine", tmp_path)


def banking_csv(rows: list[str]) -> str:
    return "\r\n".join(["text,category", *rows]) + "\r\n"


GOOD_BANKING = [f"where is my card {i}?,card_arrival" for i in range(10)] + [
    f'"I was charged, twice, for order {i}",transaction_charged_twice' for i in range(10)
]


def test_csv_quotes_commas_newlines_and_crlf(registry, tmp_path):
    rows = [*GOOD_BANKING, '"a ""quoted"" word\r\non two lines",card_arrival']
    write(tmp_path / "banking77" / "train.csv", banking_csv(rows))
    write(tmp_path / "banking77" / "test.csv", banking_csv(['"so, where is it?",card_arrival']))
    task = load(registry, "banking77", tmp_path, heldout_fraction=0.25)
    texts = task.train.texts + task.select.texts
    assert 'a "quoted" word\r\non two lines' in texts
    assert "I was charged, twice, for order 3" in texts
    assert task.evaluation.texts == ("so, where is it?",)
    assert task.label_names[task.evaluation.labels[0]] == "card_arrival"
    assert len(task.select) == 5 and len(task.train) == 16


@pytest.mark.parametrize(
    "rows, message",
    [
        # the multi-line record on lines 2-3 keeps the count right: the bad row is line 4
        (
            ['"two\r\nlines",card_arrival', "no category here"],
            "train.csv:4: expected 2 comma-separated fields (text, category), got 1",
        ),
        (
            ["a,b,card_arrival"],
            "train.csv:2: expected 2 comma-separated fields (text, category), got 3",
        ),
        (
            ["what now,not_an_intent"],
            "train.csv:2: label 'not_an_intent' is not one of the 77 labels",
        ),
        (['"  ",card_arrival'], "train.csv:2: empty text"),
        (['"unterminated,card_arrival'], "train.csv:2: malformed CSV"),
        (['"bad"quote,card_arrival'], "train.csv:2: malformed CSV"),
    ],
)
def test_csv_bad_rows(registry, tmp_path, rows, message):
    write(tmp_path / "banking77" / "train.csv", banking_csv(rows + GOOD_BANKING))
    write(tmp_path / "banking77" / "test.csv", banking_csv(GOOD_BANKING[:1]))
    with pytest.raises(BenchError) as err:
        load(registry, "banking77", tmp_path)
    assert message in str(err.value)


def test_csv_header_and_bytes(registry, tmp_path):
    write(tmp_path / "banking77" / "train.csv", "query,label\r\nx,card_arrival\r\n")
    with pytest.raises(BenchError, match=r"train\.csv:1: expected the header 'text,category'"):
        load(registry, "banking77", tmp_path)
    write(tmp_path / "banking77" / "train.csv", b"text,category\r\ncaf\xe9,card_arrival\r\n")
    with pytest.raises(BenchError, match=r"train\.csv:2: expected UTF-8 text, found byte 0xe9"):
        load(registry, "banking77", tmp_path)


def test_emotion_semicolon_format(registry, tmp_path):
    names = ds.EMOTION_LABELS
    for split, n in (("train", 30), ("val", 6), ("test", 6)):
        lines = "".join(f"i feel {split} {i};{names[i % 6]}\n" for i in range(n))
        write(tmp_path / "emotion" / f"{split}.txt", lines)
    task = load(registry, "emotion", tmp_path)
    assert (task.select.name, task.evaluation.name) == ("val", "test")
    assert (
        task.label_names[task.train.labels[2]] == "love" and task.train.texts[2] == "i feel train 2"
    )
    for bad, message in [
        ("no label here", "train.txt:2: expected 'text;label', found no ';'"),
        ("i feel;happy", "train.txt:2: label 'happy' is not one of sadness, joy, love"),
        (" ;joy", "train.txt:2: empty text"),
    ]:
        write(tmp_path / "emotion" / "train.txt", f"i feel ok;joy\n{bad}\n")
        with pytest.raises(BenchError) as err:
            load(registry, "emotion", tmp_path)
        assert message in str(err.value)


INTENTS = [f"intent_{i:03d}" for i in range(150)]


def clinc_dir(root: Path, data: dict | str) -> Path:
    domains = {f"domain_{d}": INTENTS[15 * d : 15 * d + 15] for d in range(10)}
    write(root / "clinc150" / "domains.json", json.dumps(domains))
    text = data if isinstance(data, str) else json.dumps(data, indent=1)
    write(root / "clinc150" / "data_full.json", text)
    return root


def tiny_clinc(per_intent=(2, 1, 1), oos=(3, 2, 4)) -> dict:
    data = {}
    for key, n in zip(("train", "val", "test"), per_intent, strict=True):
        data[key] = [[f"{key} query {i} for {name}", name] for name in INTENTS for i in range(n)]
    for key, n in zip(("oos_train", "oos_val", "oos_test"), oos, strict=True):
        data[key] = [[f"{key} off-topic {i}", "oos"] for i in range(n)]
    return data


def test_clinc150_json_with_and_without_oos(registry, tmp_path):
    clinc_dir(tmp_path, tiny_clinc())
    task = load(registry, "clinc150", tmp_path)
    assert (len(task.train), len(task.select), len(task.evaluation)) == (300, 150, 150)
    assert task.num_labels == 150 and task.oos_label is None
    assert task.primary_metric == "accuracy" and task.label_names == tuple(INTENTS)
    oos = load(registry, "clinc150", tmp_path, include_oos=True)
    assert (len(oos.train), len(oos.select), len(oos.evaluation)) == (303, 152, 154)
    assert oos.num_labels == 151 and oos.label_names[oos.oos_label] == "oos"
    assert oos.primary_metric == "inscope_accuracy"
    assert Counter(oos.evaluation.labels)[150] == 4
    assert oos.label_names[:150] == task.label_names  # in-scope ids agree across settings


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("val"), "data_full.json: no key 'val'"),
        (
            lambda d: d["train"].__setitem__(5, ["only text"]),
            "key 'train', item 5: expected a [text, intent] pair",
        ),
        (
            lambda d: d["test"].__setitem__(0, ["what", "intent_999"]),
            "key 'test', item 0: label 'intent_999' is not one of the 150 labels",
        ),
        (
            lambda d: d["train"].__setitem__(1, ["off", "oos"]),
            "key 'train', item 1: label 'oos' is not one of the 150",
        ),
        (
            lambda d: d["oos_test"].__setitem__(2, ["x", "intent_001"]),
            "key 'oos_test', item 2: label 'intent_001' is not one of oos",
        ),
        (lambda d: d["val"].__setitem__(3, [" ", "intent_001"]), "key 'val', item 3: empty text"),
        (lambda d: d.pop("oos_val"), "no key 'oos_val'"),
    ],
)
def test_clinc150_bad_json(registry, tmp_path, mutate, message):
    data = tiny_clinc()
    mutate(data)
    clinc_dir(tmp_path, data)
    with pytest.raises(BenchError) as err:
        load(registry, "clinc150", tmp_path, include_oos=True)
    assert message in str(err.value) and "data_full.json" in str(err.value)


def test_clinc150_malformed_json_names_file_line_and_column(registry, tmp_path):
    text = json.dumps(tiny_clinc(), indent=1)
    clinc_dir(tmp_path, text[:200] + "," + text[200:])
    with pytest.raises(BenchError, match=r"data_full\.json:\d+:\d+: not valid JSON"):
        load(registry, "clinc150", tmp_path)


def jsonl_gz(path: Path, rows: list, raw_lines: list[bytes] = ()) -> Path:
    body = b"".join(json.dumps(r).encode() + b"\n" for r in rows) + b"".join(raw_lines)
    return write(path, gzip.compress(body))


def imdb_dir(root: Path, n: int = 20, unsup: list[str] | None = None) -> Path:
    rows = lambda split: [  # noqa: E731
        {"id": f"{split}/{i}", "label": i % 2, "text": f"{split} review {i}"} for i in range(n)
    ]
    jsonl_gz(root / "imdb" / "train.jsonl.gz", rows("train"))
    jsonl_gz(root / "imdb" / "test.jsonl.gz", rows("test"))
    unsup = unsup if unsup is not None else [f"unsup review {i}" for i in range(7)]
    jsonl_gz(
        root / "imdb" / "unsup.jsonl.gz",
        [{"id": i, "rating": 0, "text": t} for i, t in enumerate(unsup)],
    )
    return root


def test_jsonl_gz_imdb(registry, tmp_path):
    task = load(registry, "imdb", imdb_dir(tmp_path))
    assert (len(task.train), len(task.select), len(task.evaluation)) == (18, 2, 20)
    assert task.unlabelled == tuple(f"unsup review {i}" for i in range(7))


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'{"text": "fine", "label": 1\n', "train.jsonl.gz:3: not valid JSON"),
        (b'{"text": "fine", "label": 2}\n', "train.jsonl.gz:3: label 2 is not one of 0..1"),
        (b'{"text": "fine", "label": true}\n', "train.jsonl.gz:3: label True is not one of 0..1"),
        (b'{"text": "fine"}\n', "train.jsonl.gz:3: label None is not one of 0..1"),
        (b'{"review": "fine", "label": 0}\n', 'train.jsonl.gz:3: expected an object {"text"'),
        (b'["fine", 0]\n', 'train.jsonl.gz:3: expected an object {"text"'),
        (b'{"text": "  ", "label": 0}\n', "train.jsonl.gz:3: empty text"),
        (b'{"text": "caf\xe9", "label": 0}\n', "train.jsonl.gz:3: expected UTF-8 text"),
        (b"\n", "train.jsonl.gz:3: not valid JSON"),
    ],
)
def test_jsonl_gz_bad_rows(registry, tmp_path, raw, message):
    imdb_dir(tmp_path)
    good = [{"text": "good", "label": 0}, {"text": "bad", "label": 1}]
    jsonl_gz(tmp_path / "imdb" / "train.jsonl.gz", good, [raw, b'{"text": "x", "label": 0}\n'])
    with pytest.raises(BenchError) as err:
        load(registry, "imdb", tmp_path)
    assert message in str(err.value)


def test_jsonl_gz_that_is_not_gzip(registry, tmp_path):
    imdb_dir(tmp_path)
    write(tmp_path / "imdb" / "test.jsonl.gz", b'{"text": "plain", "label": 0}\n')
    with pytest.raises(BenchError, match=r"test\.jsonl\.gz: not a readable gzip file"):
        load(registry, "imdb", tmp_path)


def test_yelp_without_files_says_how_to_supply_them(registry, tmp_path):
    with pytest.raises(BenchError) as err:
        load(registry, "yelp-polarity", tmp_path)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert f"{tmp_path / 'yelp-polarity' / 'train.csv'}: file not found" in message
    with pytest.raises(BenchError) as checked:  # the pre-flight's check says the same
        registry.get("datasets", "yelp-polarity").check_files({}, tmp_path)
    assert str(checked.value) == message
    assert ds.YELP_URL in message and "fancyzhx/yelp_polarity" in message


def test_yelp_zhang_csv(registry, tmp_path):
    # as in the fast.ai files: "" inside quotes, and HF's dummy data's \"" and \\n escapes
    rows = [f'"{1 + i % 2}","review {i} said \\""fine\\""\\nthen ""more"""' for i in range(40)]
    write(tmp_path / "yelp-polarity" / "train.csv", "\n".join(rows) + "\n")
    write(tmp_path / "yelp-polarity" / "test.csv", '"2","Great tacos."\n"1","Cold fries."\n')
    task = load(registry, "yelp-polarity", tmp_path, heldout_fraction=0.1)
    assert (len(task.train), len(task.select), len(task.evaluation)) == (36, 4, 2)
    assert task.evaluation.labels == (1, 0) and task.label_names == ("negative", "positive")
    assert task.train.texts[0] == 'review 0 said "fine"\nthen "more"'
    write(tmp_path / "yelp-polarity" / "test.csv", '"3","Meh."\n')
    with pytest.raises(BenchError, match=r"test\.csv:1: label '3' is not one of 1, 2"):
        load(registry, "yelp-polarity", tmp_path)


# -- registration, options ----------------------------------------------------------------


def test_every_dataset_registers_shared_options_and_a_metric(registry):
    assert set(ALL) <= set(registry.specs["datasets"])
    for name in ALL:
        spec = registry.get("datasets", name)
        options = {o.name for o in spec.options}
        assert {"split_seed", "max_labeled", "labels_per_class"} <= options, name
        assert spec.primary_metric in ("accuracy", "mcc"), name
    assert registry.get("datasets", "cola").primary_metric == "mcc"
    clinc = registry.get("datasets", "clinc150")  # its count depends on include_oos
    assert [clinc.label_count({"include_oos": oos}) for oos in (False, True)] == [150, 151]
    for name in ALL:  # every built-in: a label count known before loading, files checked
        spec = registry.get("datasets", name)
        assert spec.check_files is not None, name
        assert isinstance(spec.label_count(spec.resolve({}, name)), int), name
    with pytest.raises(BenchError, match="option 'include_oos' must be bool"):
        registry.get("datasets", "clinc150").resolve({"include_oos": 1}, "m")


def test_bad_option_values(registry, tmp_path):
    sst2_dir(tmp_path, GOOD_SST2)
    with pytest.raises(BenchError, match="'max_labeled' must be >= 0"):
        load(registry, "sst2", tmp_path, max_labeled=-1)
    with pytest.raises(BenchError, match=r"'heldout_fraction' must be in \(0, 1\)"):
        load(registry, "sst2", tmp_path, heldout_fraction=1.5)


def test_banking_label_order_is_the_hubs():
    """Case-insensitive alphabetical, Refund_not_showing_up keeping its capital."""
    assert len(set(ds.BANKING77_LABELS)) == 77
    assert list(ds.BANKING77_LABELS) == sorted(ds.BANKING77_LABELS, key=str.lower)
    assert len(set(ds.TREC_FINE_LABELS)) == 50
    assert {f.split(":")[0] for f in ds.TREC_FINE_LABELS} == set(ds.TREC_COARSE_LABELS)


# -- the low-resource view ---------------------------------------------------------------------

# 60 / 30 / 10 examples of labels 0 / 1 / 2, interleaved
LABELS = tuple((0, 0, 1, 0, 1, 0, 2, 0, 1, 0)[i % 10] for i in range(100))


def toy_task(unlabelled=()) -> TaskData:
    train = Split("train", tuple(f"train {i}" for i in range(100)), LABELS)
    select = Split("train-heldout", ("s0", "s1", "s2"), (0, 1, 2))
    evaluation = Split("test", ("e0", "e1", "e2", "e3"), (0, 1, 2, 2))
    return TaskData("toy", ("a", "b", "c"), train, select, evaluation, unlabelled=unlabelled)


def test_max_labeled_is_stratified_and_the_rest_is_unlabelled():
    task = toy_task(unlabelled=("pool 0", "pool 1"))
    small = low_resource(task, max_labeled=20, seed=3)
    assert Counter(small.train.labels) == {0: 12, 1: 6, 2: 2}
    assert small.select == task.select and small.evaluation == task.evaluation
    rest = [t for t in task.train.texts if t not in set(small.train.texts)]
    assert small.unlabelled == (*rest, "pool 0", "pool 1")  # rest of train first, in order
    assert low_resource(task, max_labeled=20, seed=3) == small  # seeded
    assert low_resource(task, max_labeled=20, seed=4) != small
    assert low_resource(task) == task  # 0 = all
    assert low_resource(task, max_labeled=1000) == task


def test_labels_per_class_and_nesting():
    task = toy_task()
    five = low_resource(task, labels_per_class=5, seed=1)
    assert Counter(five.train.labels) == {0: 5, 1: 5, 2: 5}
    assert len(five.unlabelled) == 85
    ten = low_resource(task, labels_per_class=10, seed=1)
    assert set(five.train.texts) < set(ten.train.texts)  # nested: a learning curve
    twenty = low_resource(task, labels_per_class=20, seed=1)
    assert Counter(twenty.train.labels) == {0: 20, 1: 20, 2: 10}  # all of a rarer label
    capped = low_resource(task, labels_per_class=20, max_labeled=25, seed=1)
    assert len(capped.train) == 25 and set(capped.train.texts) <= set(twenty.train.texts)
    with pytest.raises(ValueError):
        low_resource(task, labels_per_class=-1)


def test_low_resource_options_through_a_factory(registry, tmp_path):
    sst2_dir(tmp_path, GOOD_SST2)
    full = load(registry, "sst2", tmp_path, heldout_fraction=0.2)
    few = load(registry, "sst2", tmp_path, heldout_fraction=0.2, labels_per_class=3)
    assert Counter(few.train.labels) == {0: 3, 1: 3}
    assert few.select == full.select and few.evaluation == full.evaluation
    assert sorted(few.train.texts + few.unlabelled) == sorted(full.train.texts)


def test_subsample_keeps_pool_and_oos_label():
    task = TaskData(**{**toy_task(("p",)).__dict__, "oos_label": 2})
    small = subsample(task, 10, None, seed=0)
    assert small.unlabelled == ("p",) and small.oos_label == 2 and len(small.train) == 10


def test_carve_never_holds_out_an_evaluation_text():
    split = Split("train", tuple(f"t{i}" for i in range(100)), LABELS)
    plain_rest, plain_out = carve(split, 20, seed=0, out_name="h")
    rest, out = carve(split, 20, 0, "h", avoid={"t999"})  # nothing to avoid: same slice
    assert out == plain_out and rest == plain_rest
    leaked = set(plain_out.texts[:3])
    rest, out = carve(split, 20, 0, "h", avoid=leaked)
    assert len(out) == 20 and not leaked & set(out.texts) and leaked <= set(rest.texts)
    assert sorted(rest.texts + out.texts) == sorted(split.texts)


# -- metrics for out-of-scope detection -------------------------------------------------------


def test_oos_recall_and_inscope_accuracy():
    oos = 3
    gold = [0, 1, 2, 3, 3, 3, 3]
    pred = [0, 3, 2, 3, 3, 1, 0]
    assert oos_recall(gold, pred, oos) == pytest.approx(2 / 4)
    assert inscope_accuracy(gold, pred, oos) == pytest.approx(2 / 3)  # predicting oos is wrong
    assert oos_recall([0, 1], [0, 1], oos) == 0.0  # no gold oos
    assert inscope_accuracy([0, 1, 1], [0, 1, 0], None) == pytest.approx(2 / 3)
    assert metric_fn("oos_recall", oos)(gold, pred) == pytest.approx(0.5)
    assert metric_fn("mcc") is score_all.__globals__["METRICS"]["mcc"]
    with pytest.raises(KeyError, match="unknown metric 'f2'"):
        metric_fn("f2")
    assert METRIC_LABELS["oos_recall"] == "OOS recall"


def test_score_task_adds_oos_metrics_only_with_an_oos_label():
    plain = toy_task()
    pred = [0, 1, 2, 0]
    assert score_task(plain, pred) == score_all(plain.evaluation.labels, pred)
    with_oos = TaskData(**{**plain.__dict__, "oos_label": 2, "primary_metric": "inscope_accuracy"})
    scores = score_task(with_oos, pred)
    assert scores["oos_recall"] == pytest.approx(0.5)  # e2 found, e3 missed
    assert scores["inscope_accuracy"] == 1.0 and scores["accuracy"] == 0.75
    assert task_metric(with_oos)(with_oos.evaluation.labels, pred) == 1.0
    assert (
        score_task(with_oos, [0, 1], split=with_oos.select.take([0, 1]))["inscope_accuracy"] == 1.0
    )


# -- corpora and stats ------------------------------------------------------------------------


def test_imdb_unsup_sentences(tmp_path):
    reviews = [
        "First sentence here. Second one follows!<br /><br />New paragraph without a stop"
        '<br/>Is it good? "Yes." She said so, e.g. twice... but why',
        "First sentence here. Too short. A (bracketed) start? 42 is a number here.",
    ]
    imdb_dir(tmp_path, unsup=reviews)
    got = ds.UNLABELLED_CORPORA["imdb-unsup-sentences"](tmp_path)
    assert got == [
        "First sentence here.",
        "Second one follows!",
        "New paragraph without a stop",
        "Is it good?",
        "She said so, e.g. twice... but why",
        "A (bracketed) start?",
        "42 is a number here.",
    ]  # '"Yes."' and 'Too short.' have < 3 words; the repeat is kept once
    assert ds.imdb_unsup_sentences(tmp_path, min_words=1, max_words=2) == ['"Yes."', "Too short."]


def tiny_tokenizer(truncate_at: int | None = None):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {
        w: i for i, w in enumerate(["[UNK]", "[CLS]", "[SEP]", "un", "##like", "like", "a", "b"])
    }
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if truncate_at:
        tok.enable_truncation(truncate_at)
    return tok


def test_dataset_stats_on_a_tiny_task():
    tok = tiny_tokenizer(truncate_at=2)
    train = Split("train", ("a b", "unlike a b", "a", "b b b b"), (0, 1, 1, 1))
    task = TaskData(
        "tiny",
        ("neg", "pos", "unused"),
        train,
        Split("val", ("a",), (0,)),
        Split("test", ("b a", "unlike"), (1, 0)),
        unlabelled=("a a a",),
    )
    stats = dataset_stats(task, tok)
    t = stats["splits"]["train"]
    assert t["size"] == 4 and t["labels"] == {"neg": 1, "pos": 3, "unused": 0}
    assert t["tokens_mean"] == pytest.approx(
        (2 + 4 + 1 + 4) / 4
    )  # un ##like a b = 4; no truncation
    assert t["tokens_max"] == 4 and t["tokens_p95"] == pytest.approx(4.0)
    assert stats["splits"]["evaluation"]["name"] == "test"
    assert stats["splits"]["unlabelled"] == {
        "name": "unlabelled",
        "size": 1,
        "tokens_mean": 3.0,
        "tokens_p95": 3.0,
        "tokens_max": 3,
        "tokens_sampled": 1,
    }
    assert tok.truncation is not None  # the caller's tokenizer is left as it was
    text = format_stats(stats)
    assert "tiny: 3 labels, primary metric accuracy" in text
    assert "unused" in text and "unlabelled" in text
    sampled = dataset_stats(task, tok, max_examples=2)["splits"]["train"]
    assert sampled["size"] == 4 and sampled["tokens_sampled"] == 2
    assert "unlabelled" not in dataset_stats(toy_task(), tok)["splits"]


def test_format_stats_summarises_many_labels():
    names = tuple(f"label_{i}" for i in range(30))
    split = Split("train", tuple(f"a {i}" for i in range(60)), tuple(i % 29 for i in range(60)))
    task = TaskData("many", names, split, split, split)
    text = format_stats(dataset_stats(task, tiny_tokenizer()))
    assert "examples per label (min / median / max)" in text
    assert "1 labels absent" in text and "label_29" in text


def test_parse_options():
    assert parse_options(["include_oos=true", "max_labeled=100", "x=0.5", "name=abc"]) == {
        "include_oos": True,
        "max_labeled": 100,
        "x": 0.5,
        "name": "abc",
    }
    with pytest.raises(BenchError, match="expected NAME=VALUE"):
        parse_options(["include_oos"])


def test_describe_dataset_loads_counts_and_formats(registry, tmp_path):
    """What `bench datasets show` prints: the dataset through the registry, then the stats."""
    from distill_bench.stages.data.stats import describe_dataset

    sst2_dir(tmp_path, GOOD_SST2)
    tokenizer_file = tmp_path / "tokenizer.json"
    tiny_tokenizer().save(str(tokenizer_file))
    text = describe_dataset(
        registry, "sst2", {"labels_per_class": 4}, tmp_path, tokenizer_file=tokenizer_file
    )
    assert text.startswith("sst2: 2 labels, primary metric accuracy")
    assert "unlabelled" in text and "train-heldout" in text


def test_hub_columns_map_label_ids_by_name():
    """Hub ClassLabel ids are remapped by name: CLINC's 'oos' sits mid-list on the Hub."""
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"text": Value("string"), "intent": ClassLabel(names=["b", "oos", "a"])})
    split = Dataset.from_dict({"text": ["x", "y", "z"], "intent": [0, 1, 2]}, features=features)
    assert ds.hub_columns(split, "text", "intent", ("a", "b", "oos")) == (
        ["x", "y", "z"],
        [1, 2, 0],
    )
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    split = Dataset.from_dict({"text": ["p", "n"], "label": [1, 0]}, features=features)
    aliases = {"neg": "negative", "pos": "positive"}
    assert ds.hub_columns(split, "text", "label", ds.BINARY_SENTIMENT, aliases)[1] == [1, 0]
    with pytest.raises(BenchError, match="label 'neg' is not one of negative, positive"):
        ds.hub_columns(split, "text", "label", ds.BINARY_SENTIMENT)
