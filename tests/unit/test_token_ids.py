"""Memory-mapped token ids of a transfer set."""

import numpy as np
import torch
from distill_bench.stages.batching import pad
from distill_bench.stages.student.token_ids import TokenIds, write_token_ids


def fake_encode(texts):
    return [[len(word) for word in text.split()] for text in texts]


def test_round_trip_in_chunks_keeps_order_and_lengths(tmp_path):
    texts = [" ".join("w" * (k % 5 + 1) for k in range(i % 7)) for i in range(25)]
    info = write_token_ids(tmp_path, texts, fake_encode, chunk=4)
    ids = TokenIds.load(tmp_path)
    assert info == {"sentences": 25, "tokens": sum(len(t.split()) for t in texts)}
    assert len(ids) == 25
    assert [list(x) for x in ids] == fake_encode(texts)
    assert ids.lengths.tolist() == [len(t.split()) for t in texts]
    assert isinstance(ids.flat.base, np.memmap)  # a view of the file, not a loaded copy


def test_padded_batches_from_views_match_lists(tmp_path):
    texts = ["a bb ccc", "dddd", "", "ee f"]
    write_token_ids(tmp_path, texts, fake_encode)
    ids = TokenIds.load(tmp_path)
    from_views, from_lists = pad([ids[i] for i in range(4)]), pad(fake_encode(texts))
    for a, b in zip(from_views, from_lists, strict=True):
        assert torch.equal(a, b)


def test_an_empty_transfer_set_is_valid(tmp_path):
    write_token_ids(tmp_path, [], fake_encode)
    assert len(TokenIds.load(tmp_path)) == 0


def test_take_is_a_view_in_the_given_order(tmp_path):
    texts = ["a", "bb cc", "ddd e f", "gg"]
    write_token_ids(tmp_path, texts, fake_encode)
    taken = TokenIds.load(tmp_path).take([2, 0, 2])
    assert [list(x) for x in taken] == [[3, 1, 1], [1], [3, 1, 1]]
    assert taken.lengths.tolist() == [3, 1, 3] and len(taken) == 3
