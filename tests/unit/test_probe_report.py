"""The probing section (``analysis.probes``): best layer picked on dev, intervals over runs
or over test examples, a student paired with the teacher of its own seed, the verdicts."""

from __future__ import annotations

import pytest
from distill_bench.analysis.probes import (
    ProbeRuns,
    ProbeSetInfo,
    probe_section,
    verdict,
    versus_teacher,
)
from distill_bench.execute.probes import _spread
from distill_bench.report.stats import EXAMPLES, Estimate


def run(scores: dict[str, dict[str, tuple[float, float]]], majority=50.0, n_test=1000) -> dict:
    """A probe stage's result: {probe: {layer: (dev, test)}}."""
    layers = list(next(iter(scores.values())))
    return {
        "layers": layers,
        "majority": dict.fromkeys(scores, majority),
        "scores": {
            p: {k: {"dev": d, "test": t, "n_test": n_test, "l2": 0.01} for k, (d, t) in by.items()}
            for p, by in scores.items()
        },
    }


def test_the_best_layer_is_picked_on_dev_not_on_test():
    e = ProbeRuns("t", {(0, 0): run({"tense": {"embeddings": (70, 90), "layer 1": (80, 60)}})})
    assert e.best_layer("tense") == "layer 1"
    assert e.score("tense").mean == 60


def test_one_run_gets_an_interval_over_its_test_examples():
    e = ProbeRuns("t", {(0, 0): run({"tense": {"pooled": (80, 80)}}, n_test=400)})
    s = e.score("tense")
    assert s.method == EXAMPLES and s.examples == 400
    assert s.high - s.mean == pytest.approx(100 * 1.96 * (0.8 * 0.2 / 400) ** 0.5, rel=1e-3)


def test_several_runs_get_a_t_interval_over_the_runs_and_the_test_examples():
    e = ProbeRuns("t", {(s, 0): run({"tense": {"pooled": (80, 80 + s)}}) for s in range(3)})
    s = e.score("tense")
    assert s.n == 3 and s.mean == 81 and s.examples == 1000
    spread, test = 1.0 / 3, 1e4 * 0.81 * 0.19 / 1000
    df = (spread + test) ** 2 / (spread**2 / 2)  # Satterthwaite: the test noise's df is infinite
    from distill_bench.report.student_t import t_quantile

    assert s.high - s.mean == pytest.approx(
        t_quantile(0.975, df) * (spread + test) ** 0.5, rel=1e-3
    )


def test_a_student_pairs_with_the_teacher_of_its_own_seed():
    teacher = ProbeRuns(
        "T", {(t, t): run({"tense": {"layer 1": (90, 90 + 5 * t)}}) for t in range(3)}
    )
    # each student is exactly 2 points under its own teacher: the paired interval is a point
    student = ProbeRuns(
        "s", {(t, 0): run({"tense": {"pooled": (88, 88 + 5 * t)}}) for t in range(3)}
    )
    d = versus_teacher(student, teacher, "tense")
    # no spread between the pairs: what is left is the test sets' noise, both sides', normal
    half = 1.96 * (1e4 * (0.93 * 0.07 + 0.95 * 0.05) / 1000) ** 0.5
    assert d.mean == pytest.approx(-2) and d.paired and d.low == pytest.approx(-2 - half, abs=0.01)


def test_one_teacher_run_pairs_with_every_student_run_and_adds_its_test_noise():
    teacher = ProbeRuns("T", {(0, 0): run({"tense": {"layer 1": (90, 90)}}, n_test=400)})
    same = ProbeRuns(
        "s", {(0, s): run({"tense": {"pooled": (80, 80)}}, n_test=400) for s in range(3)}
    )
    d = versus_teacher(same, teacher, "tense")
    # the students agree exactly, yet the one teacher run was one draw of 400 test sentences
    assert d.mean == pytest.approx(-10) and d.low == pytest.approx(-10 - 1.96 * 2.5, abs=0.01)
    assert d.examples == 400
    student = ProbeRuns("s", {(0, s): run({"tense": {"pooled": (80, 80 + s)}}) for s in range(3)})
    assert versus_teacher(student, teacher, "tense").mean == pytest.approx(-9)


def E(mean, low, high) -> Estimate:  # noqa: N802
    return Estimate(mean, None, low, high, 3)


def test_verdicts_read_the_intervals():
    teacher = E(90, 88, 92)
    assert verdict(E(89, 87, 91), E(-1, -3, 1), teacher, 50) == "kept"
    assert verdict(E(80, 78, 82), E(-10, -12, -8), teacher, 50) == "less"
    assert verdict(E(95, 94, 96), E(5, 3, 7), teacher, 50) == "more"
    assert verdict(E(51, 48, 54), E(-39, -42, -36), teacher, 50) == "lost (at chance)"
    assert verdict(E(60, 45, 75), E(-4, -15, 7), E(64, 55, 73), 50) == "undecided"
    assert verdict(E(51, 48, 54), E(0, -3, 3), E(51, 49, 53), 50) == "teacher at chance"


def test_the_section_shows_sets_scores_differences_and_the_teachers_layers():
    sets = {
        "tense": ProbeSetInfo("tense", ("past", "present"), (800, 100, 100)),
        "coordination_inversion": ProbeSetInfo(
            "coordination_inversion", (), (0, 0, 0), "fewer than 2 classes"
        ),
    }
    teacher = ProbeRuns(
        "(teacher)", {(0, 0): run({"tense": {"embeddings": (70, 70), "layer 1": (90, 91)}})}
    )
    student = ProbeRuns(
        "mlp / kd-soft / none", {(0, s): run({"tense": {"pooled": (60, 60 + s)}}) for s in range(3)}
    )
    text = "\n".join(probe_section("sst2", sets, [teacher, student], plot="plots/x.png"))
    assert "| tense | past or present main verb | 2 | 800 / 100 / 100 | 50.0 |" in text
    assert "Not built: coordination_inversion: fewer than 2 classes." in text
    assert "91.0 [" in text and "(layer 1)" in text and "(pooled)" in text
    assert "-30.0 [" in text and "less" in text  # 61 vs 91 over 3 pairs
    assert "- mlp / kd-soft / none: less: tense." in text
    assert "| tense | 70.0 | 91.0 |" in text  # the teacher by layer
    assert "![Probe accuracy by layer, sst2](plots/x.png)" in text


def test_probed_runs_spread_over_teacher_seeds_first():
    units = [(t, s) for t in range(3) for s in range(5)]
    assert _spread(units, 3) == [(0, 0), (1, 0), (2, 0)]
    assert _spread(units, 4)[-1] == (0, 1)
    assert _spread([(0, s) for s in range(5)], 2) == [(0, 0), (0, 1)]


def test_a_student_is_held_against_the_teachers_top_layer_not_its_best():
    # the teacher's middle layer knows tense (95), its top layer less (70): a student at 70
    # kept what the teacher classifies from
    teacher = ProbeRuns("T", {(0, 0): run({"tense": {"layer 1": (95, 95), "layer 2": (70, 70)}})})
    student = ProbeRuns(
        "s", {(0, s): run({"tense": {"pooled": (70, 70 + s - 1)}}) for s in range(3)}
    )
    assert teacher.best_layer("tense") == "layer 1" and teacher.top() == "layer 2"
    assert versus_teacher(student, teacher, "tense").mean == pytest.approx(0)


def test_distillation_is_read_against_the_same_student_on_gold_labels():
    from distill_bench.analysis.probes import baseline_of, versus_baseline

    names = ["mlp / ce-hard / none", "mlp / kd-soft / none", "mlp via bilstm / kd-soft / none"]
    assert baseline_of("mlp / kd-soft / none", names) == "mlp / ce-hard / none"
    assert baseline_of("mlp via bilstm / kd-soft / none", names) == "mlp / ce-hard / none"
    assert baseline_of("mlp / ce-hard / none", names) is None
    assert baseline_of("cnn / kd-soft / none", names) is None
    ce = ProbeRuns("ce", {(0, s): run({"tense": {"pooled": (60, 60 + s)}}) for s in range(3)})
    kd = ProbeRuns("kd", {(0, s): run({"tense": {"pooled": (60, 65 + s)}}) for s in range(3)})
    d = versus_baseline(kd, ce, "tense")
    assert d.mean == pytest.approx(5) and d.low < 5 < d.high and d.n == 3


def test_a_teacher_blind_baseline_pairs_by_student_seed():
    from distill_bench.analysis.probes import versus_baseline

    # ce-hard probed on seeds 0-2 under teacher seed 0 (the same runs under every teacher)
    ce = ProbeRuns("ce", {(0, s): run({"tense": {"pooled": (60, 60 + s)}}) for s in range(3)})
    kd = ProbeRuns("kd", {(t, 0): run({"tense": {"pooled": (60, 62 + t)}}) for t in range(3)})
    d = versus_baseline(kd, ce, "tense")
    assert d.n == 3 and d.mean == pytest.approx(3.0)  # each kd run against ce's seed 0: 60


def test_probed_runs_of_a_teacher_blind_entry_are_its_student_seeds(tmp_path):
    from types import SimpleNamespace

    from distill_bench.execute.probes import probe_jobs
    from distill_bench.stages.probe.plan import ProbeConfig
    from distill_bench.store.cache import Cache

    def fake_row(t, s, preds):
        return SimpleNamespace(
            status="ok", dataset="d", role="student", key=f"k{t}{s}", student="mlp",
            loss="ce-hard", augmenter="none", seed=s, config={"teacher_seed": t},
            metrics={"eval_predictions": preds},
        )  # fmt: skip

    cells = [SimpleNamespace(key=f"k{t}{s}", student_key=f"s{t}{s}", student=SimpleNamespace(name="mlp"))
             for t in range(3) for s in range(3)]  # fmt: skip
    teacher = SimpleNamespace(
        key="T", teacher_key="tk", dataset=SimpleNamespace(name="d", plugin="sst2", options_dict=dict),
        data_key="dk", teacher=SimpleNamespace(name="t"),
    )  # fmt: skip
    from distill_bench.plugin_api.registry import load_registry

    planned = SimpleNamespace(
        plan=SimpleNamespace(cells=cells, teacher_rows=[teacher]),
        registry=load_registry(), cache=Cache(tmp_path),
    )  # fmt: skip
    blind = [fake_row(t, s, [s, 1, 0]) for t in range(3) for s in range(3)]
    units = [j.unit for j in probe_jobs(planned, blind, ProbeConfig(runs=3)).jobs]
    assert units == [(0, 0), (0, 1), (0, 2)]
    sighted = [fake_row(t, s, [s, t, 0]) for t in range(3) for s in range(3)]
    units = [j.unit for j in probe_jobs(planned, sighted, ProbeConfig(runs=3)).jobs]
    assert units == [(0, 0), (1, 0), (2, 0)]


def test_the_reproduce_line_carries_the_options_that_shaped_the_page():
    from argparse import Namespace

    from distill_bench.cli.analyze import reproduce_flags

    base = dict(datasets=None, no_probes=False, probe_runs=3, probe_examples=10_000,
                probe_pool=30_000, probe_classifier="logreg")  # fmt: skip
    assert reproduce_flags(Namespace(**base)) == ""
    shaped = Namespace(**{**base, "datasets": "cola", "probe_examples": 5000})
    assert reproduce_flags(shaped) == " --datasets cola --probe-examples 5000"
