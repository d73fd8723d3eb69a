"""Tang et al.'s augmentation over all of SST-2 train: is it fast enough to be a matrix axis?

    python -m benchmarks.bench_tang [--n-iter 20] [--repeats 3] [--out results/studies/augment.md]

Target (issue 6): all 67,349 SST-2 train sentences with n_iter 20 (about 1.3M candidates
before deduplication) in at most 10 minutes on 2 CPU cores, tagging each sentence once.

Phases, timed separately: loading spaCy's tagger; tagging every sentence once
(``augment_tang.tag``, one ``nlp.pipe`` pass); generating n_iter samples per sentence
(``tang_augment``; median and range of ``--repeats`` passes with different seeds, each
from the same tags); deduplication as the harness does it (case/whitespace-normalised set).
The figures go into the marked section of ``--out``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from distill_bench.plugins.augmenters.tang import load_tagger, tag, tang_augment
from distill_bench.stages.measure.environment import cpu_model
from distill_bench.stages.transfer.build import normalise

from benchmarks.bench_annotation import read_sst2

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 600.0
BEGIN, END = "<!-- bench-tang -->", "<!-- /bench-tang -->"


def write_section(out: Path, section: str) -> None:
    text = out.read_text() if out.is_file() else "# Augmenters and transfer sets\n\n"
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    out.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    parser.add_argument("--n-iter", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="generation passes timed")
    parser.add_argument("--batch-size", type=int, default=1000, help="nlp.pipe batch size")
    parser.add_argument("--limit", type=int, default=0, help="first N sentences (0 = all)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "studies" / "augment.md")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir or BENCH_DATA_DIR is required (shared/data layout)")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    texts, _ = read_sst2(Path(args.data_dir))
    texts = texts[: args.limit] if args.limit else texts

    t0 = time.perf_counter()
    nlp = load_tagger()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tagged = tag(texts, nlp, batch_size=args.batch_size)
    tag_s = time.perf_counter() - t0
    words = sum(len(t) for t in tagged.tokens)
    print(f"tagged {len(texts):,} sentences ({words:,} tokens) in {tag_s:.1f} s", flush=True)

    gen_times, dedup_times, candidates, unique = [], [], 0, 0
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        made, _ = tang_augment(tagged, n_iter=args.n_iter, seed=seed)
        gen_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        distinct = {normalise(t) for t in made} - {normalise(t) for t in texts}
        dedup_times.append(time.perf_counter() - t0)
        candidates, unique = len(made), len(distinct)
        print(
            f"seed {seed}: {candidates:,} candidates in {gen_times[-1]:.1f} s, "
            f"{unique:,} new after dedup ({dedup_times[-1]:.1f} s)",
            flush=True,
        )
        del made, distinct
    gen = statistics.median(gen_times)
    dedup = statistics.median(dedup_times)
    total = load_s + tag_s + gen + dedup
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    command = "python -m benchmarks.bench_tang " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    verdict = "met" if total <= TARGET_SECONDS else "NOT met"
    section = f"""## Benchmark: tang over all of SST-2 train

- Command: `BENCH_DATA_DIR=../shared/data {command.strip()}` (under `flock /tmp/cpu.lock`)
- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; wall time of the whole benchmark {wall / 60:.1f} min
- Hardware: {cpu_model()}, {os.cpu_count()} CPUs, no GPU; spaCy runs single-process; load
  average {load_before:.1f} before and {load_after:.1f} after (other work on the machine)
- Input: SST-2 `train.tsv`, {"the first" if args.limit else "all"} {len(texts):,} sentences ({words:,} spaCy tokens, {words / len(texts):.1f} per sentence)
- Settings: the paper's defaults, p_mask = p_pos = 0.1, p_ng = 0.25 (n-grams of 1..5 words), n_iter = {args.n_iter}
- Target: one tang pass (tagger load + tagging + generation + dedup) in at most 10 min: **{verdict}** ({total:.0f} s)

| phase | seconds | notes |
| --- | ---: | --- |
| load en_core_web_sm (tok2vec, tagger, attribute_ruler) | {load_s:.1f} | once per process |
| tag every sentence once (`nlp.pipe`, batch {args.batch_size}) | {tag_s:.1f} | {len(texts) / tag_s:,.0f} sentences/s; tags reused by all {args.n_iter} samples |
| generate {args.n_iter} samples per sentence | {gen:.1f} | median of {len(gen_times)} seeds, range {min(gen_times):.1f}-{max(gen_times):.1f}; {candidates / gen:,.0f} samples/s |
| deduplicate (normalised set, minus the originals) | {dedup:.1f} | median, range {min(dedup_times):.1f}-{max(dedup_times):.1f} |
| **one tang pass** | **{total:.1f}** | |

Candidates before deduplication: {candidates:,}; distinct new texts after it: {unique:,}
({100 * unique / candidates:.1f}%; SST-2 train is mostly short phrases, whose samples
often coincide with each other or with a training phrase).
"""
    write_section(args.out, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
