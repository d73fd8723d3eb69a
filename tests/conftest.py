"""Fixtures: a tiny random-init BERT teacher, tiny datasets, temporary bench directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# tiny models train faster in-process than a pool of fresh interpreters starts; the pool's
# own tests (tests/pipeline/test_pool.py) ask for --jobs 2
os.environ.setdefault("BENCH_JOBS", "1")

from tests.helpers import FILLER, NEGATIVE, POSITIVE, save_tiny_bert, write_tiny_data_dir


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    return write_tiny_data_dir(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 BERT with random weights and a WordPiece vocab of the test words."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), POSITIVE + NEGATIVE + FILLER)


@pytest.fixture
def bench_env(tmp_path, tiny_data_dir, monkeypatch):
    """Point data, cache and results at fresh temporary directories."""
    monkeypatch.setenv("BENCH_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DISABLE_PLUGINS", raising=False)
    return {"results": tmp_path / "results", "cache": tmp_path / "cache", "data": tiny_data_dir}
