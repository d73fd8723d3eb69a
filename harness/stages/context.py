"""The stage context: what every stage reads, and the cache protocol they all share.

A ``StageContext`` holds a run's inputs (the plan, the plugin registry, the stage cache,
the data directory, the device, where progress goes, which plugins a measuring
subprocess must load) and the per-process state the stages share: stage outputs loaded
in this process (``memo``), stages that failed (``failed``), how many entries of each
kind were computed here (``computed``) and the token ids of texts already tokenised
(``token_ids``). Its ``cached`` method is the one place a stage's output is looked up,
computed and stored. Executors read and set these public fields (a Ray worker marks
the stages that failed in other workers in ``failed``); nothing reaches past them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from distill_bench.matrix.model import Budget
from distill_bench.matrix.plan import Plan
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.progress import Progress, quiet
from distill_bench.plugin_api.registry import Registry
from distill_bench.store.cache import Cache, write_json


class StageFailed(Exception):
    """A stage (or a row's evaluation or measurement) failed: the rows reading it fail
    with ``stage`` and ``error``; the rest of the matrix goes on."""

    def __init__(self, stage: str, error: str):
        super().__init__(f"{stage}: {error}")
        self.stage, self.error = stage, error


@dataclass
class StageContext:
    """What the stages of one run read, and what they share within this process."""

    plan: Plan
    registry: Registry
    cache: Cache
    data_dir: Path | None  # the local data directory; None: datasets load from the Hub
    device: torch.device
    progress: Progress = quiet
    # plugins passed as modules (not entry points): a measuring subprocess loads them too
    plugin_modules: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()  # plugins blocked by name
    memo: dict[str, Any] = field(default_factory=dict)  # stage key -> loaded output
    failed: dict[str, StageFailed] = field(default_factory=dict)  # key -> why: fails once
    computed: dict[str, int] = field(default_factory=dict)  # stage kind -> entries computed
    token_ids: dict[tuple, list[list[int]]] = field(default_factory=dict)  # (texts, vocab) -> ids

    @property
    def budget(self) -> Budget:
        return self.plan.matrix.budget

    def cached(
        self,
        kind: str,
        key: str,
        compute: Callable[[Path], dict | None],
        load: Callable[[Path], Any],
    ) -> Any:
        """Cached output of a stage: memory, then disk, then computed and stored.

        ``compute(scratch)`` writes the entry's files and returns its info (stored as
        info.json, with the seconds it took); ``load(entry)`` reads the finished entry.
        Computing holds the cache's lock for (kind, key): another run sharing the cache
        that wants the same stage waits, then loads this one's entry instead of redoing it.
        """
        if key in self.memo:
            return self.memo[key]
        if key in self.failed:
            raise self.failed[key]

        def write(scratch: Path) -> None:
            started = time.perf_counter()
            info = compute(scratch) or {}
            info["seconds"] = time.perf_counter() - started
            write_json(scratch / "info.json", info)

        try:
            entry, fresh = self.cache.get_or_compute(kind, key, write)
            if fresh:
                self.computed[kind] = self.computed.get(kind, 0) + 1
            value = load(entry)
        except (StageFailed, BenchError):  # bad input stops the run; rows written stay
            raise
        except Exception as exc:  # one bad stage fails its cells, not the matrix
            failure = StageFailed(kind, f"{type(exc).__name__}: {exc}")
            failure.__cause__ = exc
            self.progress.log(f"stage {kind} {key} failed: {traceback.format_exc(limit=-3)}")
            # remembered without its traceback, whose frames hold the stage's tensors
            self.failed[key] = StageFailed(kind, failure.error)
            raise failure from exc
        self.memo[key] = value
        return value
