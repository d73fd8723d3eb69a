"""README's "Distil your own classifier", run for real: its matrix and its four commands, read
from the README itself (so the section stays true), on a slice of the Emotion files written as
CSV and a tiny random-init BERT saved as the user's fine-tuned teacher. Only settings are
added to the matrix ([budget], [measure] and the students' widths: small, so the test takes
about 40 s on 2 cores); the commands run as written."""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

from distill_bench.cli.main import main

from tests.helpers import real_data_dir, save_tiny_bert

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Distil your own classifier"
TRAIN, TEST = 400, 120  # Emotion lines in the slice
SMALL_BUDGET = """
[budget]
max_length = 32
student_epochs = 1
student_batch_size = 32
teacher_batch_size = 64

[measure]
threads = 1
batch_size = 32
latency_samples = 2
repeats = 2
max_sentences = 16
min_pass_seconds = 0.02
max_passes = 3
train_steps = 0
isolate = false

[options.students.mlp]
embedding_dim = 32
hidden_size = 32

[options.students.bilstm]
embedding_dim = 32
hidden_size = 32
"""


def walkthrough() -> tuple[str, list[str]]:
    """The section's matrix (its toml block) and its commands (its bash block's lines)."""
    text = README.read_text()
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    (toml,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    (bash,) = re.findall(r"```bash\n(.*?)```", section, re.S)
    return toml, [line for line in bash.splitlines() if line.strip()]


def emotion_csv(source: Path, target: Path, lines: int) -> list[str]:
    """The first ``lines`` of an Emotion file (``text;label``) as a CSV with a header."""
    rows = [line.rsplit(";", 1) for line in source.read_text(encoding="utf-8").splitlines()[:lines]]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return [text for text, _ in rows]


def save_teacher(folder: Path, texts: list[str], labels: list[str]) -> None:
    """A 2-layer, hidden-32 BERT, random weights, a WordPiece vocabulary of the slice's
    commonest words, and id2label names: the user's "fine-tuned" checkpoint."""
    common = [w for w, _ in Counter(w for t in texts for w in t.split()).most_common(800)]
    save_tiny_bert(folder, common, labels)


def test_distil_your_own_classifier(tmp_path, monkeypatch, capsys):
    emotion = real_data_dir() / "emotion"
    toml, commands = walkthrough()
    data = (
        re.search(r'train = "([^"]+)"', toml).group(1),
        re.search(r'evaluation = "([^"]+)"', toml).group(1),
    )
    teacher = re.search(r'model = "([^"]+)"', toml).group(1)
    assert [c.split()[:2] for c in commands] == [
        ["bench", "run"], ["bench", "report"], ["bench", "export"], ["python", "-c"]
    ]  # fmt: skip
    data_dir = Path(tmp_path / shlex.split(commands[0]).pop(-1))  # --data-dir DIR, last
    texts = emotion_csv(emotion / "train.txt", data_dir / data[0], TRAIN)
    emotion_csv(emotion / "test.txt", data_dir / data[1], TEST)
    labels = sorted({line.strip().rsplit(";", 1)[1] for line in (emotion / "train.txt").open()})
    save_teacher(tmp_path / teacher, texts, labels)
    (tmp_path / "my.toml").write_text(toml + SMALL_BUDGET)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)

    # (a) run, (b) pick, (c) export: in this process, as `bench` would run them
    for command in commands[:3]:
        assert main(shlex.split(command)[1:]) == 0, command
    out = capsys.readouterr().out
    assert "rows ok, 0 failed" in out
    assert "best by score under latency_p50 <= 5" in out or "no student meets" in out
    assert "(teacher, as given)" in (tmp_path / "results/leaderboards/mine.md").read_text()
    match = re.search(r"stored evaluation predictions on (\d+) of (\d+) examples", out)
    assert match and match.group(1) == match.group(2) == str(TEST), out

    # (d) the Python line, in a fresh interpreter that must not import torch
    argv = shlex.split(commands[3])
    code = argv[2] + "\nimport sys; assert 'torch' not in sys.modules, 'torch was imported'"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (predicted,) = eval(done.stdout)  # ['joy']
    assert predicted in labels
