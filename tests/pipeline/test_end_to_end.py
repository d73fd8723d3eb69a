"""A whole tiny matrix through the real pipeline: tiny random-init BERT teacher, real students."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from distill_bench import BenchError, LossSpec, hookimpl
from distill_bench.cli.main import main
from distill_bench.execute.runner import Runner
from distill_bench.matrix.model import parse_matrix
from distill_bench.matrix.plan import make_plan
from distill_bench.plugin_api.registry import collect, make_plugin_manager
from distill_bench.plugin_api.specs import GOLD_LABELS, TEACHER_LOGITS
from distill_bench.store.cache import Cache
from distill_bench.store.results import ResultRow, Store

from tests.helpers import fast_matrix_text, run_tiny, tiny_matrix_text


def planned_runner(text: str, bench_env, tmp_path: Path) -> tuple:
    """(plan, Runner) of a tiny matrix's text over the test's cache and a new store."""
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    store = Store(tmp_path / "s.sqlite")
    return plan, Runner(plan, registry, Cache(bench_env["cache"]), store, bench_env["data"])


def run_cli(matrix_path: Path, results: Path, *extra: str) -> int:
    return main(["run", "--matrix", str(matrix_path), "--results-dir", str(results), *extra])


def test_tiny_matrix_end_to_end(bench_env, tiny_teacher_dir, tmp_path):
    """Every cell and the teacher row land in the store with scores and measurements,
    and the markdown leaderboard shows them relative to the teacher."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(tiny_matrix_text(tiny_teacher_dir))
    assert run_cli(matrix, bench_env["results"]) == 0

    rows = Store(bench_env["results"] / "bench.sqlite").rows("tiny")
    assert len(rows) == 1 + 2 * 2  # teacher row + 2 students x 2 losses
    assert {r.status for r in rows} == {"ok"}
    teacher = next(r for r in rows if r.role == "teacher")
    assert teacher.metrics["eval_split"] == "dev" and teacher.metrics["eval_examples"] == 80
    for row in rows:
        assert 0.0 <= row.metrics["accuracy"] <= 1.0
        assert row.measurements["params_total"] > row.measurements["params_no_embedding"] > 0
        assert row.measurements["cpu_throughput"]["median"] > 0
        assert row.measurements["cpu_latency_ms"]["p50"] > 0
        assert row.environment["packages"]["torch"]
        assert row.environment["cpu"]
    students = [r for r in rows if r.role == "student"]
    assert {(r.student, r.loss) for r in students} == {
        (s, loss) for s in ("mlp", "bilstm") for loss in ("ce-hard", "kd-soft")
    }
    assert all(0.0 <= r.metrics["teacher_agreement"] <= 1.0 for r in students)
    # what the report's per-example statistics read, so a page re-renders from the store alone
    labels = teacher.metrics["eval_labels"]
    assert len(labels) == 80 and set(labels) <= {0, 1}
    majority = max(labels.count(0), labels.count(1)) / 80
    for r in rows:
        assert r.metrics["eval_labels"] == labels and r.metrics["chance"] == pytest.approx(majority)
        right = [p == g for p, g in zip(r.metrics["eval_predictions"], labels, strict=True)]
        assert sum(right) / 80 == pytest.approx(r.metrics["accuracy"])
        assert r.config["teacher_seed"] == 0
    # The synthetic task is learnable: a distilled BiLSTM must beat chance clearly.
    assert max(r.metrics["accuracy"] for r in students) > 0.7

    board = (bench_env["results"] / "leaderboards" / "tiny.md").read_text()
    assert "| teacher " in board and "% of teacher" in board and "speed-up" in board
    assert "(teacher)" in board
    for student in ("mlp", "bilstm"):
        assert f"| {student} " in board


def test_second_run_does_no_teacher_work(bench_env, tiny_teacher_dir, tmp_path):
    """Rows in the store are skipped; with the store gone, every stage still comes from the cache."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("kd-soft", "mse-logits"))
    matrix = parse_matrix(text, "tiny.toml")
    registry = collect(make_plugin_manager())
    plan = make_plan(matrix, registry, "test")
    cache = Cache(bench_env["cache"])

    def run(store_path: Path) -> Runner:
        runner = Runner(plan, registry, cache, Store(store_path), bench_env["data"])
        runner.run()
        return runner

    first = run(tmp_path / "a.sqlite")
    assert first.summary.computed == {
        "data": 1,
        "teacher": 1,
        "transfer": 1,
        "annotate": 1,
        "tokens": 1,  # both students read the same memory-mapped token ids
        "student": 2,
        "timing": 2,  # the teacher, and the mlp once for both losses
    }
    again = run(tmp_path / "a.sqlite")
    assert again.summary.skipped == 3 and again.summary.computed == {}
    fresh_store = run(tmp_path / "b.sqlite")
    assert fresh_store.summary.ok == 3 and fresh_store.summary.computed == {}


def _nan_loss_plugin():
    def factory(options):
        def loss(student_out, batch):
            return student_out["logits"].sum() * float("nan")

        return loss

    @hookimpl
    def register_losses(register):
        register(
            LossSpec(
                name="nan-loss",
                factory=factory,
                description="always NaN",
                uses=frozenset({GOLD_LABELS, TEACHER_LOGITS}),
            )
        )

    return types.SimpleNamespace(register_losses=register_losses)


def test_failing_cell_is_recorded_and_the_rest_go_on(bench_env, tiny_teacher_dir, tmp_path):
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("nan-loss", "ce-hard"))
    registry = collect(make_plugin_manager(extra=[_nan_loss_plugin()]))
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    store = Store(tmp_path / "s.sqlite")
    runner = Runner(plan, registry, Cache(bench_env["cache"]), store, bench_env["data"])
    summary = runner.run()
    assert summary.failed == 1 and summary.ok == 2 and summary.exit_code == 1
    failed = next(r for r in store.rows() if r.status == "failed")
    assert failed.loss == "nan-loss" and failed.stage == "student" and "nan" in failed.error.lower()
    # A failed cell is not "done": `bench run --retry-failed` tries it again.
    assert not store.done("tiny", failed.key)


@pytest.mark.parametrize(
    "matrix_text, message",
    [
        ("datasets = [", "malformed TOML"),
        (
            'datasets = ["sst2"]\nteachers = ["nope"]\nstudents = ["mlp"]\nlosses = ["ce-hard"]\n'
            'augmenters = ["none"]\nseeds = [0]\n',
            "unknown teacher 'nope'",
        ),
        (
            'datasets = []\nteachers = ["minilm-l6"]\nstudents = ["mlp"]\nlosses = ["ce-hard"]\n'
            'augmenters = ["none"]\nseeds = [0]\n',
            "must be a non-empty list",
        ),
        (
            'datasets = ["sst2"]\nteachers = ["minilm-l6"]\nstudents = ["mlp"]\nlosses = ["kd-soft"]\n'
            'augmenters = ["none"]\nseeds = [0]\n[options.losses.kd-soft]\ntemperature = "hot"\n',
            "option 'temperature' must be float",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_keeps_results(
    bench_env, tiny_teacher_dir, tmp_path, capsys, matrix_text, message
):
    # A result from an earlier run (test_tiny_matrix_end_to_end covers writing real ones).
    store = Store(bench_env["results"] / "bench.sqlite")
    store.put(
        ResultRow(
            "earlier",
            "k1",
            "student",
            "sst2",
            "t",
            "mlp",
            "ce-hard",
            "none",
            0,
            "ok",
            metrics={"primary": 0.9},
        )
    )
    before = store.rows()

    bad = tmp_path / "bad.toml"
    bad.write_text(matrix_text)
    assert run_cli(bad, bench_env["results"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "bad.toml" in err
    assert Store(bench_env["results"] / "bench.sqlite").rows() == before


def test_missing_data_dir_and_file(bench_env, tiny_teacher_dir, tmp_path, capsys, monkeypatch):
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",)))
    assert run_cli(matrix, bench_env["results"], "--data-dir", str(tmp_path / "nowhere")) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    (bench_env["data"] / "sst2" / "dev.tsv").unlink()
    assert run_cli(matrix, bench_env["results"]) == 2
    err = capsys.readouterr().err
    assert "sst2/dev.tsv: file not found" in err
    assert not (bench_env["cache"] / "teacher").exists()  # stopped before any training


def test_ce_hard_alone_never_annotates(bench_env, tiny_teacher_dir, tmp_path):
    """The no-distillation baseline reads no teacher outputs, so none are computed for it."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("ce-hard",))
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    runner = Runner(
        plan, registry, Cache(bench_env["cache"]), Store(tmp_path / "s.sqlite"), bench_env["data"]
    )
    assert runner.run().ok == 2
    assert "annotate" not in runner.summary.computed


def test_word_level_vocabulary_option(bench_env, tiny_teacher_dir, tmp_path):
    """vocab = "word" builds a word-level vocabulary from the transfer set; the student is
    trained, saved with that tokenizer, rebuilt and measured from it."""
    text = tiny_matrix_text(tiny_teacher_dir, students=(), losses=("ce-hard",)).replace(
        "students = []",
        'students = [{plugin = "bilstm", name = "bilstm-word", vocab = "word", vocab_size = 12, '
        "min_count = 2, embedding_dim = 16, hidden_size = 8, fc_size = 8}]",
    )
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    cache = Cache(bench_env["cache"])
    runner = Runner(plan, registry, cache, Store(tmp_path / "s.sqlite"), bench_env["data"])
    assert runner.run().ok == 2
    (cell,) = plan.cells
    from distill_bench.stages.student.io import load_tokenizer_file

    tokenizer = load_tokenizer_file(cache.entry("student", cell.student_key) / "tokenizer.json")
    assert tokenizer.get_vocab_size() == 12
    assert tokenizer.token_to_id("[PAD]") == 0 and tokenizer.token_to_id("[UNK]") == 1
    row = next(r for r in runner.store.rows() if r.student == "bilstm-word")
    embedding = 12 * 16
    assert row.measurements["params_embedding"] == embedding


def test_loss_composition_runs_as_a_named_loss(bench_env, tiny_teacher_dir, tmp_path):
    """A composition is a named loss in the matrix: its parts are validated like any loss,
    its row carries its name, and its weights reach the training loop."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=()).replace(
        "losses = []",
        'losses = [{name = "half-half", parts = [{plugin = "kd-soft", weight = 0.5, temperature = 4}, '
        '{plugin = "mse-logits", weight = 0.5}]}]',
    )
    plan, runner = planned_runner(text, bench_env, tmp_path)
    registry = runner.ctx.registry
    (cell,) = plan.cells
    assert cell.loss.name == "half-half" and cell.loss.config()["plugin"] == "compose"
    assert runner.run().ok == 2
    assert "annotate" in runner.summary.computed  # kd-soft and mse-logits read teacher logits
    bad = text.replace("temperature = 4", 'temperature = "x"')
    with pytest.raises(BenchError, match="temperature"):
        make_plan(parse_matrix(bad, "tiny.toml"), registry, "test")


def test_weighted_sum_trains_a_lazy_projection_in_a_loss(bench_env):
    """A loss with its own (lazy) parameters is materialised and optimised with the student."""
    import torch
    from distill_bench.matrix.model import Budget
    from distill_bench.stages.student.loop import TrainingData, WeightedSum, distill
    from torch import nn

    class ProjectedMSE(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.LazyLinear(2)

        def forward(self, out, batch):
            return ((self.proj(out["logits"]) - batch.teacher_logits) ** 2).mean()

    class MeanEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 3)

        def forward(self, ids, mask):
            return self.emb(ids).mean(1)

    part = ProjectedMSE()
    loss = WeightedSum([(1.0, part)])
    model = MeanEmbedding()
    ids = [[1, 2], [3], [4, 5, 6], [7]] * 4
    teacher = torch.randn(16, 2).numpy()
    data = TrainingData(
        transfer_ids=ids,
        transfer_labels=[0] * 16,
        teacher_logits=teacher,
        select_ids=ids[:4],
        select_labels=[0] * 4,
        metric=lambda g, p: 0.0,
        num_labels=3,
    )
    distill(
        model,
        loss,
        data,
        budget=Budget(student_epochs=2, student_batch_size=4),
        seed=0,
        device=torch.device("cpu"),
    )
    assert part.proj.weight.shape == (2, 3)
    assert part.proj.weight.grad is not None


def test_intermediate_losses_read_teacher_features(bench_env, tiny_teacher_dir, tmp_path):
    """hidden-mse (pooled, BiLSTM) and attention-mse (tokens, a transformer sharing the
    teacher's tokenizer) train from a features stage computed once per layer set."""
    text = (
        tiny_matrix_text(tiny_teacher_dir, students=(), losses=())
        .replace(
            "students = []",
            'students = ["bilstm", {plugin = "transformer", name = "tf", layers = 2, hidden_size = 16, heads = 2}]',
        )
        .replace(
            "losses = []",
            'losses = [{name = "kd+hidden", parts = [{plugin = "kd-soft"}, '
            '{plugin = "hidden-mse", weight = 0.1, layer_map = "-1:2"}]}, '
            '{name = "kd+attention", parts = [{plugin = "kd-soft"}, {plugin = "attention-mse", layer_map = "1:1,2:2"}]}]',
        )
    )
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    assert [d.label.split("[")[1].split(",")[0] for d in plan.dropped] == [
        "kd+attention"
    ]  # bilstm: no attentions
    assert "attentions" in plan.dropped[0].reason
    runner = Runner(
        plan, registry, Cache(bench_env["cache"]), Store(tmp_path / "s.sqlite"), bench_env["data"]
    )
    summary = runner.run()
    assert summary.failed == 0 and summary.ok == 4, [
        r.error for r in runner.store.rows() if r.error
    ]
    assert runner.summary.computed["features"] == 2  # hidden layer 2; attention layers 1, 2


def test_a_staged_composition_runs_xtremedistils_schedule(bench_env, tiny_teacher_dir, tmp_path):
    """Representation (hidden-mse through a learned projection), then logits, then gold
    labels: planned with the teacher features its first stage reads, trained, stored."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("bilstm",), losses=()).replace(
        "losses = []",
        'losses = [{name = "xd", stages = [0.34, 0.67], unfreeze = true, parts = [{plugin = "hidden-mse", '
        'layer_map = "-1:2"}, {plugin = "mse-logits"}, {plugin = "ce-hard"}]}]',
    )
    plan, runner = planned_runner(text, bench_env, tmp_path)
    (cell,) = plan.cells
    assert cell.features_key and cell.loss.config()["options"]["stages"] == (0.34, 0.67)
    assert cell.loss.config()["options"]["unfreeze"] is True
    summary = runner.run()
    assert summary.failed == 0 and summary.ok == 2, [
        r.error for r in runner.store.rows() if r.error
    ]
    assert runner.summary.computed["features"] == 1


def test_annotation_precision_int8(bench_env, tiny_teacher_dir, tmp_path):
    """A faster annotation precision is part of the annotate stage's key and runs end to end."""
    text = tiny_matrix_text(tiny_teacher_dir, students=("mlp",), losses=("mse-logits",))
    registry = collect(make_plugin_manager())
    fp32 = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    int8 = make_plan(
        parse_matrix(text.replace("[budget]", '[budget]\nannotate_precision = "int8"'), "t.toml"),
        registry,
        "test",
    )
    assert fp32.cells[0].annotate_key != int8.cells[0].annotate_key
    assert fp32.cells[0].teacher_key == int8.cells[0].teacher_key
    runner = Runner(
        int8, registry, Cache(bench_env["cache"]), Store(tmp_path / "s.sqlite"), bench_env["data"]
    )
    assert runner.run().ok == 2
    (row,) = [r for r in runner.store.rows() if r.role == "student"]
    assert row.metrics["annotation_precision"] == "int8"
    agreement = row.metrics["annotation_agreement"]  # against fp32 on the selection split
    assert agreement["examples"] == 6 and 0.0 <= agreement["label_agreement"] <= 1.0
    with pytest.raises(BenchError, match="annotate_precision must be one of"):
        parse_matrix(text.replace("[budget]", '[budget]\nannotate_precision = "fp8"'), "t.toml")


def test_texts_are_tokenised_once_per_vocabulary(
    bench_env, tiny_teacher_dir, tmp_path, monkeypatch
):
    """Two students x two losses over the teacher's WordPieces tokenise each split once."""
    from distill_bench.stages.student import io as student_io

    calls = []
    real = student_io.encode
    monkeypatch.setattr(
        student_io,
        "encode",
        lambda tok, texts, *a: calls.append(len(texts)) or real(tok, texts, *a),
    )
    text = tiny_matrix_text(
        tiny_teacher_dir, students=("mlp", "bilstm"), losses=("ce-hard", "kd-soft")
    )
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    runner = Runner(
        plan, registry, Cache(bench_env["cache"]), Store(tmp_path / "s.sqlite"), bench_env["data"]
    )
    assert runner.run().ok == 5
    # transfer set (200), selection (6) and evaluation (80) splits once each; measurement's
    # own batches (32, 8, 1 sentences) are timed work and are not counted here
    assert sorted(n for n in calls if n in (200, 6, 80)) == [6, 80, 200]


def test_student_result_does_not_depend_on_what_ran_before(bench_env, tiny_teacher_dir, tmp_path):
    """Same cell, same seed, fresh caches: identical student predictions even when the
    process drew random numbers in between (cells must not depend on execution order)."""
    import torch
    from safetensors.numpy import load_file

    text = tiny_matrix_text(tiny_teacher_dir, students=("bilstm",), losses=("ce-hard",))
    registry = collect(make_plugin_manager())
    plan = make_plan(parse_matrix(text, "tiny.toml"), registry, "test")
    predictions = []
    for run in ("a", "b"):
        torch.rand(1000 if run == "b" else 1)  # a different global RNG state per run
        cache = Cache(tmp_path / f"cache-{run}")
        Runner(plan, registry, cache, Store(tmp_path / f"{run}.sqlite"), bench_env["data"]).run()
        entry = cache.entry("student", plan.cells[0].student_key)
        predictions.append(load_file(str(entry / "predictions.safetensors"))["evaluation"])
    assert (predictions[0] == predictions[1]).all()


def test_report_where_picks_without_rewriting_anything(
    bench_env, tiny_teacher_dir, tmp_path, capsys
):
    """`bench report --where`: the best student under the budget from the store; the page
    and the store are left as they were; bad conditions and an empty store exit 2."""
    matrix = tmp_path / "tiny.toml"
    matrix.write_text(fast_matrix_text(tiny_teacher_dir, students=("mlp",)))
    results = tmp_path / "results"
    base = ["report", "--matrix", str(matrix), "--results-dir", str(results)]
    assert main([*base, "--where", "latency_p50 <= 1000"]) == 2  # nothing stored yet
    assert "no finished rows" in capsys.readouterr().err
    assert run_tiny(matrix, results, tmp_path / "cache") == 0
    page = results / "leaderboards" / "tiny.md"
    before, stored = page.read_text(), (results / "bench.sqlite").read_bytes()
    capsys.readouterr()
    assert main([*base, "--where", "latency_p50 <= 1000 and params > 1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sst2: best by score under latency_p50 <= 1000 and params > 1")
    assert "mlp [" in out and "without params > 1:" in out
    assert page.read_text() == before and (results / "bench.sqlite").read_bytes() == stored
    assert main([*base, "--where", "latency <= 1"]) == 2
    assert "--where: unknown column 'latency'" in capsys.readouterr().err
