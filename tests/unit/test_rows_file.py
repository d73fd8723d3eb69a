"""The rows file beside a leaderboard: written, read back equal, imported into a store."""

from __future__ import annotations

import json

import pytest
from distill_bench.cli.main import main
from distill_bench.plugin_api.errors import BenchError
from distill_bench.store.results import Store
from distill_bench.store.rows_file import read_rows_file, rows_text, write_rows_file

from tests.helpers import measurements, row


def _rows():
    labels = [0, 1, 1, 0]
    out = []
    for seed in (0, 1):
        r = row("student", "mlp", 0.75, measurements(1000, 10.0), seed=seed)
        metrics = r.metrics | {"eval_labels": labels, "eval_predictions": [0, 1, seed, 0]}
        out.append(
            type(r)(**{**r.__dict__, "metrics": metrics, "created_at": "2026-11-29T10:00:00+00:00"})
        )
    return out


def test_round_trip_keeps_every_field_and_writes_labels_once(tmp_path):
    rows = _rows()
    path = tmp_path / "m.rows.json"
    write_rows_file(path, "m", rows)
    assert path.read_text().count("eval_labels") == 1  # in the head, once per dataset
    matrix, back = read_rows_file(path)
    assert matrix == "m" and sorted(back, key=lambda r: r.key) == sorted(rows, key=lambda r: r.key)
    assert rows_text("m", back) == path.read_text()  # deterministic: same rows, same file


@pytest.mark.parametrize(
    "text, expected",
    [
        ("not json", "not a rows file bench wrote"),
        ('{"rows": []}', "not a rows file bench wrote"),
        ('{"head": {"format": 99, "matrix": "m"}, "rows": []}', "format 99 is newer"),
    ],
)
def test_bad_rows_file_is_one_line(tmp_path, text, expected):
    path = tmp_path / "bad.rows.json"
    path.write_text(text)
    with pytest.raises(BenchError) as info:
        read_rows_file(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)
    assert "\n" not in str(info.value)


def test_bench_store_import(tmp_path, capsys):
    path = tmp_path / "m.rows.json"
    write_rows_file(path, "m", _rows())
    assert main(["store", "import", str(path), "--results-dir", str(tmp_path / "r")]) == 0
    stored = Store(tmp_path / "r" / "bench.sqlite").rows("m")
    assert len(stored) == 2 and stored[0].metrics["eval_labels"] == [0, 1, 1, 0]
    assert "imported 2 rows of m" in capsys.readouterr().out
    # a bad file writes nothing and says so in one line
    bad = tmp_path / "bad.rows.json"
    bad.write_text(json.dumps({"head": {"matrix": "x"}, "rows": [{"key": "k"}]}))
    assert main(["store", "import", str(bad), "--results-dir", str(tmp_path / "r2")]) != 0
    assert not (tmp_path / "r2" / "bench.sqlite").exists()
