"""hf with finetune = false: the user's fine-tuned classifier, scored and annotating as given,
its outputs put in the dataset's label order."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from distill_bench import BenchError
from distill_bench.cli.main import main
from distill_bench.plugins.teachers.as_given import (
    check_as_given,
    checkpoint_order,
    save_as_given,
)

from tests.helpers import fast_matrix_text, run_tiny, tiny_rows

SST2 = SimpleNamespace(name="sst2", label_names=("negative", "positive"))


def checkpoint(tiny_teacher_dir: Path, out: Path, id2label: dict | None = None) -> Path:
    """The tiny classifier saved again, with the label names given (None: LABEL_0, ...)."""
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(tiny_teacher_dir)
    if id2label is not None:
        model.config.id2label = id2label
        model.config.label2id = {v: k for k, v in id2label.items()}
    model.save_pretrained(out)
    (out / "tokenizer.json").write_bytes((tiny_teacher_dir / "tokenizer.json").read_bytes())
    for name in ("tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (tiny_teacher_dir / name).exists():
            (out / name).write_bytes((tiny_teacher_dir / name).read_bytes())
    return out


def test_labels_are_matched_by_name_or_by_label_order():
    assert checkpoint_order("m", {0: "positive", 1: "negative"}, [], SST2) == [
        "positive", "negative"
    ]  # fmt: skip
    assert checkpoint_order("m", {0: "LABEL_0", 1: "LABEL_1"}, ["positive", "negative"], SST2) == [
        "positive", "negative"
    ]  # fmt: skip
    with pytest.raises(
        BenchError, match=r"labels are unnamed \(LABEL_0, LABEL_1\); give label_order"
    ):
        checkpoint_order("m", {0: "LABEL_0", 1: "LABEL_1"}, [], SST2)
    with pytest.raises(
        BenchError,
        match=r"its labels \(neg, pos\) are not the labels of dataset 'sst2' \(negative, positive\)",
    ):
        checkpoint_order("m", {0: "neg", 1: "pos"}, [], SST2)


def test_saved_teacher_outputs_follow_the_datasets_order(tiny_teacher_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification

    given = checkpoint(tiny_teacher_dir, tmp_path / "given", {0: "positive", 1: "negative"})
    save_as_given(str(given), SST2, ["positive", "negative"], tmp_path / "out")
    ids = torch.tensor([[2, 5, 6, 3]])
    before = AutoModelForSequenceClassification.from_pretrained(given).eval()(ids).logits
    after = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out").eval()(ids).logits
    torch.testing.assert_close(after, before.flip(-1))
    config = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out").config
    assert config.id2label == {0: "negative", 1: "positive"}


def test_a_base_model_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"]}')
    with pytest.raises(BenchError, match="finetune = false needs a fine-tuned classifier"):
        check_as_given(str(tmp_path), [], SST2)


def test_a_matrix_distils_from_the_checkpoint_as_given(
    bench_env, tiny_teacher_dir, tmp_path, capsys
):
    """No fine-tuning: the teacher row scores the checkpoint itself and says so."""
    given = checkpoint(tiny_teacher_dir, tmp_path / "given")
    text = fast_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft",)).replace(
        f'model = "{tiny_teacher_dir}"}}',
        f'model = "{given}", finetune = false, label_order = ["negative", "positive"]}}',
    )
    assert "finetune = false" in text
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(text)
    assert run_tiny(matrix, tmp_path / "results", tmp_path / "cache") == 0
    assert "scoring tiny-bert as given on sst2" in capsys.readouterr().out  # not "fine-tuning"
    rows = tiny_rows(tmp_path / "results")
    (teacher,) = [r for r in rows.values() if r.role == "teacher"]
    assert teacher.config["teacher"]["options"]["finetune"] is False
    assert "(teacher, as given)" in (tmp_path / "results" / "leaderboards" / "tiny.md").read_text()
    # the entry's own name in the message, not its plugin's
    bad = text.replace('["negative", "positive"]', '["bad", "positive"]').replace(
        'datasets = ["sst2"]', 'datasets = [{name = "reviews", plugin = "sst2"}]'
    )
    matrix.write_text(bad)
    code = main(["run", "--matrix", str(matrix), "--results-dir", str(tmp_path / "r2"),
                 "--cache-dir", str(tmp_path / "c2")])  # fmt: skip
    assert code == 2  # refused before anything trains
    assert "are not the labels of dataset 'reviews'" in capsys.readouterr().err
    teachers = tmp_path / "c2" / "teacher"
    assert not teachers.exists() or not any(teachers.iterdir())  # nothing fine-tuned or saved
