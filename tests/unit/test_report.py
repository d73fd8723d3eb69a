"""Leaderboards and markdown from hand-built result rows: every figure relative to the teacher."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from distill_bench.report.columns import gain_text, sort_entries
from distill_bench.report.entries import TEACHER_MARK, leaderboards, variant_boards
from distill_bench.report.render import (
    render_csv,
    render_json,
    render_markdown,
    total_compute_seconds,
)
from distill_bench.store.results import ResultRow

from tests.helpers import measurements, row


@pytest.fixture
def rows() -> list[ResultRow]:
    return [
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0, spread=0.1, p50=0.5), seed=0),
        row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0, peak=400.0)),
        row(
            "student",
            "mlp",
            0.84,
            measurements(1_000_000, 1200.0, spread=0.2, p50=0.7, peak=None, noisy=True),
            seed=1,
        ),
        row("student", "bilstm", 0.86, measurements(2_000_000, 500.0), loss="ce-hard"),
        row(
            "student",
            "gru",
            0.0,
            {},
            status="failed",
            stage="student",
            error="FloatingPointError: loss is nan",
        ),
    ]


def test_teacher_first_then_students_by_score(rows):
    """The teacher heads its dataset's board; students follow best score first; failures are left out."""
    boards = leaderboards(rows)
    assert list(boards) == ["sst2"]
    entries = boards["sst2"]
    assert [(e.role, e.student) for e in entries] == [
        ("teacher", TEACHER_MARK),
        ("student", "bilstm"),
        ("student", "mlp"),
    ]
    assert all(e.student != "gru" for e in entries)


def test_teacher_entry_is_its_own_reference(rows):
    """The teacher line shows 100 % of itself, 1x compression and 1x speed-up."""
    teacher = leaderboards(rows)["sst2"][0]
    assert teacher.score == pytest.approx(90.0)
    assert teacher.pct_teacher == pytest.approx(100.0)
    assert teacher.compression == pytest.approx(1.0)
    assert teacher.speedup == pytest.approx(1.0)
    assert teacher.seeds == 1 and teacher.score_std is None


def test_student_figures_relative_to_teacher(rows):
    """% of teacher, compression (teacher/student params) and speed-up (throughput ratio)."""
    bilstm = leaderboards(rows)["sst2"][1]
    assert bilstm.score == pytest.approx(86.0)
    assert bilstm.pct_teacher == pytest.approx(100 * 86 / 90)
    assert bilstm.compression == pytest.approx(4_000_000 / 2_000_000)
    assert bilstm.speedup == pytest.approx(500.0 / 100.0)
    assert bilstm.params_total == 2_000_000 and bilstm.params_no_embedding == 1_000_000


def test_seeds_are_averaged_with_sample_std(rows):
    """Rows differing only by seed form one entry: mean and sample std of the scores, medians of speed."""
    mlp = leaderboards(rows)["sst2"][2]
    assert mlp.seeds == 2
    assert mlp.score == pytest.approx(82.0)
    assert mlp.score_std == pytest.approx(math.sqrt(((80 - 82) ** 2 + (84 - 82) ** 2) / (2 - 1)))
    assert mlp.pct_teacher == pytest.approx(100 * 82 / 90)
    assert mlp.compression == pytest.approx(4.0)
    assert mlp.throughput == pytest.approx(1100.0)  # median of 1000 and 1200
    assert mlp.speedup == pytest.approx(11.0)
    assert mlp.throughput_spread == pytest.approx(0.2)  # the worst seed's spread
    assert mlp.latency_p50_ms == pytest.approx(0.6)
    assert mlp.peak_mb == pytest.approx(100.0)  # the seed without a peak is skipped
    assert mlp.noisy  # one noisy seed marks the entry


def test_each_student_uses_its_own_teacher():
    """With two teachers on one dataset, each student is compared with the teacher it learnt from."""
    rows = [
        row("teacher", "", 0.80, measurements(1000, 10.0), teacher="a"),
        row("teacher", "", 0.90, measurements(4000, 40.0), teacher="b"),
        row("student", "mlp", 0.72, measurements(100, 100.0), teacher="a"),
        row("student", "mlp", 0.72, measurements(100, 100.0), teacher="b"),
    ]
    entries = leaderboards(rows)["sst2"]
    assert [e.role for e in entries[:2]] == ["teacher", "teacher"]
    students = {e.teacher: e for e in entries if e.role == "student"}
    assert students["a"].pct_teacher == pytest.approx(90.0)
    assert students["b"].pct_teacher == pytest.approx(80.0)
    assert students["a"].compression == pytest.approx(10.0)
    assert students["b"].compression == pytest.approx(40.0)
    assert students["a"].speedup == pytest.approx(10.0)
    assert students["b"].speedup == pytest.approx(2.5)


def test_student_without_teacher_row_has_no_relative_figures():
    """A student whose teacher row is missing (e.g. failed) gets blanks, not a crash."""
    rows = [
        row("teacher", "", 0.9, {}, status="failed", stage="teacher", error="boom"),
        row("student", "mlp", 0.7, measurements(100, 100.0)),
    ]
    (entry,) = leaderboards(rows)["sst2"]
    assert entry.pct_teacher is None and entry.compression is None and entry.speedup is None


def table_lines(markdown: str, dataset: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index(f"## {dataset}") + 2
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_render_markdown_has_a_github_table(rows):
    """The markdown has a title and a compact github-style table per dataset."""
    md = render_markdown("Tiny bench", rows)
    assert md.startswith("# Tiny bench\n")
    table = table_lines(md, "sst2")
    assert cells(table[0]) == [
        "teacher",
        "student",
        "loss",
        "augmenter",
        "acc (dev)",
        "gain vs ce-hard [95% CI]",
        "% of teacher",
        "% of teacher above chance",
        "params",
        "compression",
        "CPU sent/s",
        "speed-up",
        "latency p50 (ms)",
        "Pareto (size, latency)",
        "seeds × teachers; examples",
    ]
    assert all(set(c) <= {"-", ":"} and c for c in cells(table[1]))  # the |---| rule
    assert len(cells(table[1])) == 15
    body = [cells(line) for line in table[2:]]
    assert [b[1] for b in body] == [TEACHER_MARK, "bilstm", "mlp"]
    teacher, bilstm, mlp = body
    assert teacher[4] == "90.0" and teacher[6] == "100.0"
    assert teacher[8] == "4.00M"
    assert mlp[4] == "82.0 ± 2.8"
    assert mlp[5] == "" and bilstm[5] == ""  # no ce-hard mlp to compare with; bilstm is ce-hard
    assert mlp[13] == "size, latency"
    assert mlp[6] == "91.1"
    assert mlp[7] == ""  # rows without a chance level: no chance-corrected retention
    assert mlp[9] == "4.0x" and mlp[11] == "11.0x"
    assert mlp[10] == "1,100 ±20% (noisy)"
    # 2 seeds, a teacher each (no teacher_seed in the rows): 1 per teacher x 2; no predictions
    assert mlp[14] == "1 × 2; -"
    assert bilstm[9] == "2.0x" and bilstm[11] == "5.0x"


def test_render_markdown_lists_failed_and_dropped_cells(rows):
    """Failed rows appear under "Failed cells" with stage and error; dropped cells are listed."""
    md = render_markdown(
        "Tiny bench", rows, dropped=[("sst2 | tiny-bert -> cnn", "needs attentions")]
    )
    failed = md.split("## Failed cells", 1)[1]
    assert (
        "- sst2 | tiny-bert -> gru [kd-soft, none, seed 0]: student: FloatingPointError: loss is nan"
        in failed
    )
    assert "gru" not in md.split("## Failed cells", 1)[0]
    dropped = md.split("## Cells not run (incompatible)", 1)[1]
    assert "- sst2 | tiny-bert -> cnn: needs attentions" in dropped


def test_render_markdown_without_failures_has_no_failure_section(rows):
    """Only failures create the "Failed cells" heading; no dropped cells, no dropped heading."""
    md = render_markdown("t", [r for r in rows if r.status == "ok"])
    assert "Failed cells" not in md
    assert "Cells not run" not in md


def test_total_compute_counts_each_shared_stage_once():
    """A stage key shared by several rows (data, teacher) is counted once; None is skipped."""
    shared = {"data": {"key": "d1", "seconds": 2.0}, "teacher": {"key": "t1", "seconds": 30.0}}
    rows = [
        row("teacher", "", 0.9, {}, timings=shared | {"measure": {"key": "m0", "seconds": 1.0}}),
        row(
            "student",
            "mlp",
            0.8,
            {},
            timings=shared
            | {"student": {"key": "s1", "seconds": 5.0}, "measure": {"key": "m1", "seconds": 0.5}},
        ),
        row(
            "student",
            "bilstm",
            0.8,
            {},
            timings=shared
            | {
                "student": {"key": "s2", "seconds": 7.0},
                "annotate": {"key": "a1", "seconds": None},
                "measure": {"key": "m2", "seconds": 0.25},
            },
        ),
    ]
    assert total_compute_seconds(rows) == pytest.approx(2 + 30 + 1 + 5 + 0.5 + 7 + 0.25)
    assert total_compute_seconds([]) == 0


# -- gains, Pareto frontiers, variants, exports ---------------------------------------------


def seeded(student, loss, scores, params=1_000_000, p50=1.0, **kw):
    return [
        row("student", student, v, measurements(params, 1000.0, p50=p50), loss=loss, seed=s, **kw)
        for s, v in enumerate(scores)
    ]


@pytest.fixture
def seed_rows() -> list[ResultRow]:
    return (
        [row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0))]
        + seeded("mlp", "ce-hard", [0.70, 0.75, 0.72])
        + seeded("mlp", "kd-soft", [0.72, 0.77, 0.74])  # +2 on every seed: a real gain
        + seeded("mlp", "mse-logits", [0.69, 0.78, 0.71])  # -1, +3, -1: seed noise
        + seeded("bilstm", "kd-soft", [0.60, 0.61, 0.62], params=2_000_000, p50=3.0)
    )


def test_gain_is_paired_over_seeds_and_marked_when_real(seed_rows):
    entries = {(e.student, e.loss): e for e in leaderboards(seed_rows)["sst2"]}
    kd = entries[("mlp", "kd-soft")]
    assert kd.gain.paired and kd.gain.mean == pytest.approx(2.0) and kd.gain.excludes_zero
    assert gain_text(kd.gain) == "+2.0 [+2.0, +2.0] *"
    mse = entries[("mlp", "mse-logits")]
    assert mse.gain.mean == pytest.approx(1 / 3) and not mse.gain.excludes_zero
    assert not gain_text(mse.gain).endswith("*")
    assert entries[("mlp", "ce-hard")].gain is None  # the baseline itself
    assert entries[("bilstm", "kd-soft")].gain is None  # no ce-hard bilstm
    assert kd.score_ci[0] < kd.score < kd.score_ci[1]


def test_gain_of_an_unlabelled_augmenter_is_against_ce_hard_on_the_labelled_set(seed_rows):
    """ce-hard has no cell on tang's unlabelled text: the distilled student on tang is
    measured against the student trained on the labelled set alone, and says so."""
    from dataclasses import replace as dc_replace

    tang = [
        dc_replace(
            r, augmenter="tang", key=r.key + "-tang", config={"augmenter": {"plugin": "tang"}}
        )
        for r in seeded("mlp", "kd-soft", [0.75, 0.80, 0.77])
    ]
    entries = {(e.student, e.loss, e.augmenter): e for e in leaderboards(seed_rows + tang)["sst2"]}
    on_tang = entries[("mlp", "kd-soft", "tang")]
    assert on_tang.gain.mean == pytest.approx(5.0) and on_tang.gain_vs == "none"
    assert entries[("mlp", "kd-soft", "none")].gain_vs == ""  # its own augmenter's baseline
    md = render_markdown("t", seed_rows + tang, names=["student", "augmenter", "gain"])
    assert "+5.0 [+5.0, +5.0] * vs none" in md


def test_pareto_marks_dominated_entries(seed_rows):
    """The bilstm is bigger, slower and worse than the mlps: on neither frontier."""
    entries = {(e.student, e.loss): e for e in leaderboards(seed_rows)["sst2"]}
    bilstm = entries[("bilstm", "kd-soft")]
    assert not bilstm.pareto_size and not bilstm.pareto_latency
    assert entries[("mlp", "kd-soft")].pareto_size  # the best of the same-size mlps
    assert not entries[("mlp", "ce-hard")].pareto_size
    assert entries[(TEACHER_MARK, "")].pareto_size  # the best score overall


def test_sort_by_a_column_keeps_teacher_first(seed_rows):
    entries = leaderboards(seed_rows)["sst2"]
    by_latency = sort_entries(entries, "latency_p50")
    assert by_latency[0].role == "teacher" and by_latency[-1].student == "bilstm"
    by_gain = sort_entries(entries, "gain")
    assert (by_gain[1].student, by_gain[1].loss) == ("mlp", "kd-soft")
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        sort_entries(entries, "nope")


def test_chosen_columns_in_markdown(seed_rows):
    md = render_markdown("t", seed_rows, names=["student", "loss", "score", "ece"])
    assert cells(table_lines(md, "sst2")[0]) == ["student", "loss", "acc (dev)", "ECE"]
    assert "size, memory, diagnostics" not in md


def variant_row(seed: int, score: float, int8: dict | None, onnx: dict) -> ResultRow:
    meas = measurements(1_000_000, 1000.0, p50=1.0)
    meas["variants"] = {"onnx-fp32": onnx} | ({"int8": int8} if int8 else {})
    return row("student", "bilstm", score, meas, loss="kd-soft", seed=seed)


def test_variants_table_shows_score_cost_and_speed_gain():
    fast = {
        "available": True,
        "cpu_throughput": {"median": 3000.0, "spread": 0.01},
        "cpu_latency_ms": {"p50": 0.3},
        "metrics": {"primary": 0.79, "agreement_with_fp32": 0.98},
        "disk_bytes": 2**20,
    }
    refused = {"available": False, "reason": "dynamo export: pack_padded_sequence"}
    rows = [variant_row(0, 0.80, fast, refused), variant_row(1, 0.80, fast, refused)]
    board = variant_boards(rows)["sst2"]
    int8 = next(e for e in board if e.variant == "int8")
    assert int8.vs_fp32_score == pytest.approx(-1.0) and int8.vs_fp32_speed == pytest.approx(3.0)
    assert int8.vs_fp32_agreement == pytest.approx(98.0) and int8.disk_mb == pytest.approx(1.0)
    onnx = next(e for e in board if e.variant == "onnx-fp32")
    assert onnx.unavailable == "dynamo export: pack_padded_sequence"
    md = render_markdown("t", rows)
    assert "### sst2: deployment variants" in md
    assert "| n/a " in md and "pack_padded_sequence" in md


def test_csv_and_json_exports_hold_raw_values(seed_rows):
    import csv
    import io
    import json

    records_ = json.loads(render_json(seed_rows))
    kd = next(r for r in records_ if r["student"] == "mlp" and r["loss"] == "kd-soft")
    assert kd["dataset"] == "sst2" and kd["variant"] == "fp32"
    assert kd["score"] == pytest.approx(74.333, abs=1e-3) and kd["gain"] == pytest.approx(2.0)
    assert kd["pareto"] == "size, latency" or "size" in kd["pareto"]
    table = list(csv.DictReader(io.StringIO(render_csv(seed_rows, ["student", "score"]))))
    assert list(table[0]) == ["dataset", "variant", "student", "score"]
    assert len(table) == 5


def _per_example(rng, gold, right: float, chance: float = 0.5) -> dict:
    pred = np.where(rng.random(len(gold)) < right, gold, 1 - gold)
    return {
        "eval_labels": gold.tolist(),
        "eval_predictions": pred.tolist(),
        "chance": chance,
        "primary": float((pred == gold).mean()),
    }


def _teacher_seed_rows(rng, gold):
    """Three teachers (seeds 0-2) of 0.90, 0.86, 0.82, each distilled into two seeds of a
    kd-soft and a ce-hard mlp; the kd-soft ones get 40 more of 1,000 examples right."""
    out = []
    for t, t_right in enumerate((0.90, 0.86, 0.82)):
        teacher = row("teacher", "", 0, measurements(4_000_000, 100.0), seed=t)
        out.append(
            replace(
                teacher, key=f"t{t}", metrics=teacher.metrics | _per_example(rng, gold, t_right)
            )
        )
        for s in (0, 1):
            base = _per_example(rng, gold, 0.75)
            better = list(base["eval_predictions"])
            wrong = [i for i, (p, g) in enumerate(zip(better, gold, strict=True)) if p != g][:40]
            for i in wrong:
                better[i] = int(gold[i])
            kd = base | {"eval_predictions": better, "primary": base["primary"] + 0.04}
            for loss, metrics in (("ce-hard", base), ("kd-soft", kd)):
                r = row("student", "mlp", 0, measurements(1_000_000, 1000.0), seed=s, loss=loss)
                out.append(replace(r, key=f"{loss}{t}{s}", metrics=r.metrics | metrics,
                                   config={"teacher_seed": t}))  # fmt: skip
    return out


def test_several_teachers_each_student_against_its_own_teacher():
    """% of teacher (raw and above chance) divides by the teacher the student learnt from;
    the entry says 2 seeds x 3 teachers x 1,000 examples and separates the spreads."""
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 1000)
    rows = _teacher_seed_rows(rng, gold)
    board = leaderboards(rows)["sst2"]
    teacher = board[0]
    assert teacher.role == "teacher" and teacher.seeds == 3 and teacher.teachers == 3
    kd = next(e for e in board if e.loss == "kd-soft")
    assert kd.seeds == 6 and kd.teachers == 3 and kd.examples == 1000
    teachers = {r.seed: 100 * r.metrics["primary"] for r in rows if r.role == "teacher"}
    units = [(r.config["teacher_seed"], 100 * r.metrics["primary"]) for r in rows
             if r.loss == "kd-soft"]  # fmt: skip
    assert kd.pct_teacher == pytest.approx(np.mean([100 * v / teachers[t] for t, v in units]))
    assert kd.retention == pytest.approx(
        np.mean([100 * (v - 50) / (teachers[t] - 50) for t, v in units])
    )
    assert kd.chance == pytest.approx(50.0)
    assert kd.teacher_spread is not None and kd.student_spread is not None
    # the gain is paired by (teacher seed, seed) and example: +4 points on every unit
    assert kd.gain.mean == pytest.approx(4.0) and kd.gain.excludes_zero
    assert kd.gain.teachers == 3 and kd.gain.examples == 1000 and kd.gain.test == "exact McNemar"
    assert kd.score_crossed.low < kd.score < kd.score_crossed.high
    md = render_markdown("t", rows)
    assert "2 × 3; 1000" in md and "6 seeds (3 teachers) x 1000 examples" in md


def test_rows_without_per_example_predictions_fall_back_to_seeds(rows):
    """Rows written before per-example predictions were stored: t intervals over seeds."""
    rows = rows + [
        row("student", "mlp", 0.79, measurements(1_000_000, 1000.0), seed=0, loss="ce-hard"),
        row("student", "mlp", 0.80, measurements(1_000_000, 1000.0), seed=1, loss="ce-hard"),
    ]
    mlp = next(e for e in leaderboards(rows)["sst2"] if e.student == "mlp" and e.loss == "kd-soft")
    assert mlp.gain.method == "t over seeds" and mlp.gain.paired and mlp.examples == 0
    assert mlp.score_crossed is None


def test_the_same_rows_in_any_order_give_the_same_page():
    """A page re-rendered from its rows file (sorted) equals the one written from the store
    (in insertion order): nothing depends on which row of a group comes first."""
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 2, 200)
    rows = _teacher_seed_rows(rng, gold)
    rows = [
        replace(r, metrics=r.metrics | {"transfer_composition": f"{4997 + i % 2:,} labelled"})
        for i, r in enumerate(rows)
    ]
    assert render_markdown("t", rows) == render_markdown("t", list(reversed(rows)))
    assert "4,997 labelled / 4,998 labelled" in render_markdown("t", rows)


def test_a_bound_near_zero_keeps_the_digit_that_shows_its_sign():
    """+0.02 must not print as +0.0 beside a star that says the interval excludes 0."""
    from distill_bench.report.stats import Estimate

    starred = Estimate(mean=2.5, std=None, low=0.02, high=4.9, n=5, paired=True)
    assert gain_text(starred) == "+2.5 [+0.02, +4.9] *"
    assert gain_text(replace(starred, low=-0.04)) == "+2.5 [-0.04, +4.9]"


def test_gain_is_against_the_plain_ce_hard_not_a_variant_of_it():
    """A matrix may run ce-hard variants (label smoothing) as named entries of the ce-hard
    plugin: every gain, theirs included, is against the cell named ce-hard, in any row order."""
    smooth = {"config": {"loss": {"name": "ce-smooth", "plugin": "ce-hard"}}}
    board = (
        [row("teacher", "", 0.90, measurements(4_000_000, 100.0, p50=8.0))]
        + seeded("mlp", "ce-hard", [0.70, 0.75, 0.72])
        + seeded("mlp", "kd-soft", [0.72, 0.77, 0.74])
        + seeded("mlp", "ce-smooth", [0.71, 0.76, 0.73], **smooth)
    )
    for rows_in in (board, board[::-1]):
        entries = {e.loss: e for e in leaderboards(rows_in)["sst2"] if e.role == "student"}
        assert entries["kd-soft"].gain.mean == pytest.approx(2.0)
        assert entries["ce-smooth"].gain.mean == pytest.approx(1.0)
        assert entries["ce-hard"].gain is None
