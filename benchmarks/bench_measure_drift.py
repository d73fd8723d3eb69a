"""Is a throughput difference the harness's, the allocator's or the machine's? The same student
measured four ways one after another, twice: the harness in a fresh subprocess (steady
allocator, as `bench run` measures), the harness in this process (glibc's default allocator,
unless this script was started with STEADY_MALLOC's variables), a plain timeit in this
process, and a plain timeit in a fresh subprocess with the steady allocator. If the in-process
columns move between rounds and the fresh-subprocess ones do not, the allocator's state is
what moves; if everything moves together, the machine does (on a shared VM the host's load
is invisible to /proc/stat).

    BENCH_DATA_DIR=../shared/data python -m benchmarks.bench_measure_drift
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import torch
from distill_bench.matrix.model import load_matrix
from distill_bench.stages.measure.request import (
    MeasureRequest,
    in_fresh_interpreter,
    run_measurement,
)

from benchmarks.bench_measure_quality import plain_timeit, save_models, sst2_dev


def main() -> None:
    torch.set_num_threads(1)
    texts = sst2_dev()[:500]
    quick = load_matrix(Path(__file__).with_name("sst2-cola.toml")).measure
    config = dataclasses.asdict(dataclasses.replace(quick, threads=1, train_steps=0, variants=()))
    print(
        "| model | round | harness, fresh subprocess | harness, in process | timeit, in process "
        "| timeit, fresh subprocess |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        models = save_models(Path(tmp))
        for name in ("mlp", "bilstm"):
            role, plugin, options, path = models[name]
            request = MeasureRequest(role, plugin, options, str(path), texts, 64, config)
            for round_ in (1, 2):
                sub = run_measurement(request, isolate=True)["cpu_throughput"]["median"]
                own = run_measurement(request, isolate=False)["cpu_throughput"]["median"]
                plain = plain_timeit(request, 3)
                fresh = in_fresh_interpreter(plain_timeit, request, 3, threads=1)
                print(
                    f"| {name} | {round_} | {sub:,.0f} | {own:,.0f} | {plain:,.0f} | {fresh:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
