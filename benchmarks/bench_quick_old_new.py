"""The quick matrix the old way and the new way, side by side in one run (issue 18).

Old: the harness at commit ``OLD`` (6cae799, just before issue 18's changes): one process
trains cell after cell, and every row is measured in its own fresh subprocess. New: this
checkout: training on a pool of one process per core, then each architecture timed once
while nothing else runs. Both start from an empty stage cache and an empty store, on
``benchmarks/quick.toml`` of this checkout, one after the other on the same machine.

It prints (and writes to ``--out``) both wall times, how many scores and evaluation
predictions are identical, and for each architecture the new throughput beside the old
rows' median and range: one model measured once per row the old way is the measured noise
the new figure should fall in.

    BENCH_DATA_DIR=../shared/data python -m benchmarks.bench_quick_old_new \\
        [--old COMMIT] [--out results/benchmarks/quick-old-new.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from distill_bench.store.results import Store

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "benchmarks" / "quick.toml"
OLD = "6cae799"


def old_package(commit: str, into: Path) -> Path:
    """The harness at ``commit`` laid out as an importable ``distill_bench`` under ``into``
    (a directory for PYTHONPATH)."""
    tree = into / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "harness", "plugins"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    (tree / "harness" / "plugins").symlink_to(tree / "plugins")
    path = into / "path"
    path.mkdir()
    (path / "distill_bench").symlink_to(tree / "harness")
    return path


def timed_run(label: str, results: Path, cache: Path, pythonpath: Path | None) -> float:
    """``bench run`` of the quick matrix in a child process; its wall time in seconds."""
    env = dict(os.environ)
    env.pop("BENCH_JOBS", None)  # the new way's default: one training process per core
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [sys.executable, "-m", "distill_bench.cli.main", "run", "--matrix", str(MATRIX),
               "--results-dir", str(results), "--cache-dir", str(cache), "--no-plots"]  # fmt: skip
    print(f"{label}: {' '.join(command[3:])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{label} run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    print(f"{label}: {seconds:.0f} s", flush=True)
    return seconds


def rows_by_label(results: Path) -> dict[tuple, object]:
    """The quick rows of a store, by what they are (keys may differ between versions)."""
    rows = Store(results / "bench.sqlite").rows("quick")
    return {(r.role, r.dataset, r.student, r.loss, r.seed): r for r in rows if r.status == "ok"}


def compare(old: dict, new: dict) -> tuple[list[str], list[str]]:
    """(score lines, speed lines) of the markdown report."""
    common = sorted(set(old) & set(new))
    same_score = sum(old[k].metrics["primary"] == new[k].metrics["primary"] for k in common)
    same_preds = sum(
        old[k].metrics.get("eval_predictions") == new[k].metrics.get("eval_predictions")
        for k in common
    )
    largest = max(abs(old[k].metrics["primary"] - new[k].metrics["primary"]) for k in common)
    scores = [
        f"- Rows: {len(old)} old, {len(new)} new, {len(common)} in both.",
        f"- Identical primary score: {same_score} of {len(common)}; identical evaluation "
        f"predictions: {same_preds} of {len(common)}; largest score difference "
        f"{100 * largest:.2f} points.",
    ]
    speeds = [
        "| architecture | rows | old: median sent/s [min, max] over rows | new: sent/s | new / old median |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    archs = sorted({(k[1], k[2]) for k in common})
    for dataset, model in archs:
        keys = [k for k in common if (k[1], k[2]) == (dataset, model)]
        olds = [old[k].measurements["cpu_throughput"]["median"] for k in keys]
        news = {new[k].measurements["cpu_throughput"]["median"] for k in keys}
        (figure,) = news  # the new way times an architecture once: one figure for all rows
        mid = statistics.median(olds)
        speeds.append(
            f"| {dataset} {model} | {len(keys)} | {mid:,.0f} [{min(olds):,.0f}, {max(olds):,.0f}] "
            f"| {figure:,.0f} | {figure / mid:.2f} |"
        )
    return scores, speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=OLD, help=f"the old harness's commit (default {OLD})")
    parser.add_argument("--out", type=Path, help="also write the report here (markdown)")
    args = parser.parse_args()
    if not os.environ.get("BENCH_DATA_DIR"):
        sys.exit("BENCH_DATA_DIR: expected the data directory (e.g. ../shared/data)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_path = old_package(args.old, tmp / "old")
        old_s = timed_run("old", tmp / "old-results", tmp / "old-cache", old_path)
        new_s = timed_run("new", tmp / "new-results", tmp / "new-cache", None)
        scores, speeds = compare(
            rows_by_label(tmp / "old-results"), rows_by_label(tmp / "new-results")
        )
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    report = [
        "# The quick matrix, the old way and the new way",
        "",
        f"`BENCH_DATA_DIR=../shared/data python -m benchmarks.bench_quick_old_new --old {args.old}` "
        f"at {head}, {time.strftime('%Y-%m-%d')}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, nothing else running. Both from an empty cache and store.",
        "",
        f"- Old ({args.old}: one process, every row measured): **{old_s / 60:.1f} min**.",
        f"- New (training on a pool, each architecture timed once): **{new_s / 60:.1f} min** "
        f"({old_s / new_s:.1f}x faster).",
        *scores,
        "",
        *speeds,
        "",
    ]
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
