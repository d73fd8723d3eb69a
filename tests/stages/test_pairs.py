"""Sentence pairs through the torch side: tokenisation for teachers and students alike,
the siamese BiLSTM, augmenters editing each side, pair columns in the user's files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from distill_bench import BenchError
from distill_bench.plugin_api.pairs import join_pair, split_pair
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.augmenters import SECOND_SIDE_SEED, each_side
from distill_bench.plugins.students.models import BiLSTMStudent, split_at_separator
from distill_bench.stages.student.io import (
    StudentContext,
    encode,
    load_tokenizer_file,
    word_vocabulary,
)
from distill_bench.stages.teacher.checkpoint import load_tokenizer, tokenize

PAIRS = [
    join_pair("the film was good", "a great cast"),
    join_pair("dull", "the plot was weak and the acting flat and cold"),
]


@pytest.fixture(scope="module")
def wordpiece(tiny_teacher_dir):
    return load_tokenizer_file(Path(tiny_teacher_dir) / "tokenizer.json")


def test_transformer_students_read_pairs_as_their_teacher_does(wordpiece, tiny_teacher_dir):
    """[CLS] a [SEP] b [SEP], cut from the longer side first: the same ids as the teacher's."""
    teacher = load_tokenizer(str(tiny_teacher_dir))
    for max_length in (64, 8):
        students = encode(wordpiece, PAIRS, max_length, special_tokens=True)
        teachers = tokenize(teacher, PAIRS, truncation=True, max_length=max_length)["input_ids"]
        assert students == teachers
        assert all(len(ids) <= max_length for ids in students)
    sep = wordpiece.token_to_id("[SEP]")
    short = encode(wordpiece, PAIRS[:1], 64, special_tokens=True)[0]
    assert short[0] == wordpiece.token_to_id("[CLS]") and short.count(sep) == 2


def test_word_level_students_read_a_sep_b_and_single_sentences_are_unchanged(wordpiece):
    sep = wordpiece.token_to_id("[SEP]")
    ids = encode(wordpiece, PAIRS, 64)
    first = wordpiece.encode("the film was good", add_special_tokens=False).ids
    assert ids[0] == first + [sep] + wordpiece.encode("a great cast", add_special_tokens=False).ids
    cut = encode(wordpiece, PAIRS, 6)[1]  # the longer side loses its end first
    assert len(cut) == 6 and cut[:2] == [wordpiece.token_to_id("dull"), sep]
    assert sep not in encode(wordpiece, ["the film was good"], 64)[0]

    single = word_vocabulary(["good film", "good"], 100, 1, wordpiece)
    assert single.token_to_id("[SEP]") is None and single.token_to_id("good") == 2
    paired = word_vocabulary(PAIRS, 100, 1, wordpiece)
    assert paired.token_to_id("[SEP]") == 2
    assert all(paired.token_to_id(w) is not None for w in ("great", "cast", "cold", "dull"))
    assert encode(paired, PAIRS[:1], 64)[0][4] == 2  # the film was good [SEP] ...


def test_the_siamese_bilstm_reads_each_side_apart():
    ids = torch.tensor([[5, 6, 2, 7, 8, 9], [5, 2, 7, 0, 0, 0]])
    mask = (ids != 0).long()
    (a, a_mask), (b, b_mask) = split_at_separator(ids, mask, 2)
    assert a.tolist() == [[5, 6, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]]
    assert b.tolist() == [[7, 8, 9, 0, 0, 0], [7, 0, 0, 0, 0, 0]]
    assert b_mask.tolist() == [[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]] and a_mask.sum() == 3

    torch.manual_seed(0)
    model = BiLSTMStudent(20, 3, 8, 4, 6, 0.0, pair_sep=2).eval()
    assert model.fc[1].in_features == 4 * 2 * 4  # [h1, h2, h1*h2, |h1-h2|]
    with torch.no_grad():
        batch = model(ids, mask)["logits"]
        alone = model(ids[1:, :3], mask[1:, :3])["logits"]
        swapped = model(torch.tensor([[7, 8, 9, 2, 5, 6]]), mask[:1])["logits"]
    assert torch.allclose(batch[1], alone[0], atol=1e-6)  # padding changes nothing
    assert not torch.allclose(batch[0], swapped[0])  # [h1, h2] keeps the order


def test_the_bilstm_factory_goes_siamese_only_for_a_pair_task(wordpiece):
    spec = load_registry().get("students", "bilstm")
    options = spec.resolve({}, "test")
    single = spec.factory(options, StudentContext(2, wordpiece))
    paired = spec.factory(options, StudentContext(2, wordpiece, pairs=True))
    assert single.pair_sep is None and paired.pair_sep == wordpiece.token_to_id("[SEP]")


def test_augmenters_edit_each_side_and_join_the_edits():
    seeds = []

    def shout(sentences, seed):  # two edits of each sentence but the empty one
        seeds.append(seed)
        made = [(f"{s.upper()} {k}", i) for i, s in enumerate(sentences) if s for k in range(2)]
        return [t for t, _ in made], [i for _, i in made]

    texts = [join_pair("a b", "c"), join_pair("d", "e f")]
    out, origins = each_side(shout, texts, seed=3)
    assert seeds == [3, 3 + SECOND_SIDE_SEED]
    assert [split_pair(t) for t in out] == [
        ("A B 0", "C 0"), ("A B 1", "C 1"), ("D 0", "E F 0"), ("D 1", "E F 1")
    ]  # fmt: skip
    assert origins == [0, 0, 1, 1]
    assert each_side(shout, ["x"], seed=0) == (["X 0", "X 1"], [0, 0])  # single sentences


def test_files_read_a_pair_column_and_name_an_empty_second_text(tmp_path):
    spec = load_registry().get("datasets", "files")
    rows = ["question,answer,label"] + [
        f"q{i} about cards,a{i} about {'cards' if i % 2 else 'loans'},{'same' if i % 2 else 'other'}"
        for i in range(40)
    ]
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    options = {"train": "pairs.csv", "text": "question", "text_pair": "answer"}
    task = spec.factory(spec.resolve(options, "test"), tmp_path)
    assert spec.gives_pairs(spec.resolve(options, "test"))
    assert all(split_pair(t) is not None for t in task.train.texts + task.evaluation.texts)
    assert split_pair(task.train.texts[0])[0].startswith("q")

    rows[3] = "q2 about cards,,other"
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(BenchError, match=r"pairs.csv:4: empty text in column 'answer'"):
        spec.factory(spec.resolve(options, "test"), tmp_path)
