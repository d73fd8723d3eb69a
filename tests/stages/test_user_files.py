"""The files dataset on real text: Emotion's joy and sadness tweets served as CSV, TSV, JSON
Lines and Parquet, and every kind of bad file a one-line error naming the file (and line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distill_bench import BenchError
from distill_bench.cli.main import main
from distill_bench.plugin_api.registry import load_registry

from tests.helpers import fast_matrix_text, real_data_dir, run_tiny, tiny_rows

SPEC = load_registry().get("datasets", "files")


def emotion_rows(split: str, n: int) -> list[tuple[str, str]]:
    """The first ``n`` joy or sadness tweets of the real Emotion split."""
    lines = (real_data_dir() / "emotion" / f"{split}.txt").read_text().splitlines()
    rows = [tuple(line.rsplit(";", 1)) for line in lines]
    return [r for r in rows if r[1] in ("joy", "sadness")][:n]


def write(path: Path, rows, sep: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"text": [t for t, _ in rows], "label": [y for _, y in rows]})
        pq.write_table(table, path)
    else:
        body = "".join(f'"{t}"{sep}{y}\n' for t, y in rows)
        path.write_text(f"text{sep}label\n" + body)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("user-data")
    for split, n in (("train", 400), ("val", 80), ("test", 120)):
        rows = emotion_rows(split, n)
        for ext in ("csv", "jsonl", "parquet"):
            write(root / ext / f"{split}.{ext}", rows)
        write(root / "tsv" / f"{split}.tsv", rows, "\t")
    return root


def load(data_dir: Path, **options):
    return SPEC.factory(SPEC.resolve(options, "test"), data_dir)


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet"])
def test_every_format_gives_the_same_task(data_dir, ext):
    task = load(data_dir, train=f"{ext}/train.{ext}", select=f"{ext}/val.{ext}",
                evaluation=f"{ext}/test.{ext}")  # fmt: skip
    assert task.label_names == ("joy", "sadness")
    assert (len(task.train), len(task.select), len(task.evaluation)) == (400, 80, 120)
    first_text, first_label = emotion_rows("test", 1)[0]
    assert task.evaluation.texts[0] == first_text
    assert task.label_names[task.evaluation.labels[0]] == first_label


def test_missing_splits_are_held_out_of_train_and_label_names_set_the_order(data_dir):
    task = load(data_dir, train="csv/train.csv", label_names=["sadness", "joy"])
    assert task.label_names == ("sadness", "joy")
    assert (len(task.train), len(task.select), len(task.evaluation)) == (320, 40, 40)
    assert not set(task.select.texts) & set(task.evaluation.texts)
    assert not set(task.train.texts) & set(task.evaluation.texts)


def test_bad_files_are_one_line_errors_naming_the_file(data_dir, tmp_path):
    bad = tmp_path / "bad"
    write(bad / "empty.csv", [("fine", "joy"), (" ", "sadness")])
    write(bad / "one.csv", [("a", "joy"), ("b", "joy")])
    write(bad / "unseen.csv", [("a", "joy"), ("b", "anger")])
    write(bad / "two.csv", [("a", "joy"), ("b", "sadness")])
    (bad / "latin.csv").write_bytes("text,label\ncaf\xe9,joy\nok,sadness\n".encode("latin-1"))
    cases = {
        ("empty.csv", "text"): "empty.csv:3: empty text in column 'text'",
        ("one.csv", "text"): "label column 'label' has one class ('joy')",
        ("latin.csv", "text"): "latin.csv:2: expected UTF-8 text, found byte 0xe9",
        ("empty.csv", "tweet"): "empty.csv: no column 'tweet' (columns: text, label)",
    }
    for (name, column), message in cases.items():
        with pytest.raises(BenchError) as info:
            load(tmp_path, train=f"bad/{name}", text=column)
        assert message in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(BenchError, match=r"unseen.csv:3: label 'anger' is not among train's"):
        load(tmp_path, train="bad/two.csv", evaluation="bad/unseen.csv", select="bad/two.csv")
    with pytest.raises(BenchError, match="must be a path inside the data dir"):
        load(data_dir, train="../elsewhere.csv")
    # a pair column on a file of single sentences
    with pytest.raises(BenchError, match=r"train.csv: no column 'other' \(columns: text, label\)"):
        load(data_dir, train="csv/train.csv", text_pair="other")


def test_bench_datasets_show_and_a_matrix_run_on_user_files(
    data_dir, tiny_teacher_dir, tmp_path, capsys
):
    assert main(["datasets", "show", "files", "--data-dir", str(data_dir),
                 "-o", "train=csv/train.csv", "-o", "evaluation=csv/test.csv"]) == 0  # fmt: skip
    shown = capsys.readouterr().out
    assert "joy" in shown and "sadness" in shown
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",)).replace(
        'datasets = ["sst2"]',
        'datasets = [{plugin = "files", name = "tweets", train = "csv/train.csv", '
        'evaluation = "csv/test.csv", select = "csv/val.csv"}]',
    )
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(text)
    code = run_tiny(matrix, tmp_path / "results", tmp_path / "cache", "--data-dir", str(data_dir))
    assert code == 0, capsys.readouterr()
    rows = tiny_rows(tmp_path / "results")
    assert {r.dataset for r in rows.values()} == {"tweets"}
    assert all(r.status == "ok" for r in rows.values())


HUB = load_registry().get("datasets", "hub")


def test_the_hub_dataset_reads_a_dataset_folder_and_its_class_labels(data_dir, tmp_path):
    """load_dataset on a local dataset folder: the Hub route without a network."""
    folder = tmp_path / "tweets"
    for ours, split in (("train", "train"), ("val", "validation"), ("test", "test")):
        (folder / f"{split}.csv").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}.csv").write_bytes((data_dir / "csv" / f"{ours}.csv").read_bytes())
    task = HUB.factory(HUB.resolve({"path": str(folder)}, "test"), None)
    assert task.label_names == ("joy", "sadness")
    assert (len(task.train), len(task.select), len(task.evaluation)) == (400, 80, 120)
    assert (
        task.select.name == "select" and task.evaluation.texts[0] == emotion_rows("test", 1)[0][0]
    )
    with pytest.raises(
        BenchError, match=r"tweets\[train\]: no column 'body' \(columns: text, label\)"
    ):
        HUB.factory(HUB.resolve({"path": str(folder), "text": "body"}, "test"), None)
    held = HUB.factory(HUB.resolve({"path": str(folder), "select_split": "dev"}, "test"), None)
    assert len(held.select) == 40 and len(held.train) == 360  # no "dev": held out of train


def test_the_hub_dataset_offline_is_a_one_line_error(monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # fail at once, no retries
    with pytest.raises(BenchError) as info:
        HUB.factory(HUB.resolve({"path": "no-such-org/no-such-dataset"}, "test"), None)
    assert "not reachable on the Hugging Face Hub" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_hub_dataset_reads_sentence_pairs_as_the_readme_shows_for_glue(tmp_path):
    """MRPC's shape (sentence1, sentence2, label; validation scored, select held out of
    train) from a local dataset folder: the README's Hub route for GLUE's pair tasks."""
    from distill_bench.plugin_api.pairs import split_pair

    folder = tmp_path / "mrpc"
    folder.mkdir()
    for split, n in (("train", 60), ("validation", 20)):
        lines = ["sentence1,sentence2,label"] + [
            f"the bank opened at {i},it opened at {i if i % 2 else i + 1},{i % 2}" for i in range(n)
        ]
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    options = {"path": str(folder), "text": "sentence1", "text_pair": "sentence2",
               "evaluation_split": "validation", "select_split": ""}  # fmt: skip
    resolved = HUB.resolve(options, "test")
    assert HUB.gives_pairs(resolved)
    task = HUB.factory(resolved, None)
    assert (len(task.train), len(task.select), len(task.evaluation)) == (54, 6, 20)
    assert split_pair(task.evaluation.texts[1]) == ("the bank opened at 1", "it opened at 1")
    with pytest.raises(BenchError, match=r"mrpc\[train\]: no column 'question2'"):
        HUB.factory(HUB.resolve({**options, "text_pair": "question2"}, "test"), None)
