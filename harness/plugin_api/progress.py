"""Progress reporting for long loops: rich bars in a terminal, silence in tests."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """No output. Subclasses show bars; loops only ever call ``track`` and ``log``.
    A context manager, so callers hold any kind the same way."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def track(self, items: Iterable[T], description: str) -> Iterator[T]:
        yield from items

    def log(self, message: str) -> None:
        pass


quiet = Progress()


class PrintProgress(Progress):
    """Plain lines, for logs and CI: messages, and for a loop that runs long (a teacher's
    half-hour epoch) a line a minute saying how far it is, so a log shows it is alive."""

    every = 60.0  # seconds between a loop's lines: short loops print none

    def track(self, items: Iterable[T], description: str) -> Iterator[T]:
        total = len(items) if isinstance(items, Sized) else None
        started = last = time.monotonic()
        for done, item in enumerate(items, 1):
            yield item
            now = time.monotonic()
            if now - last >= self.every:
                last = now
                self.log(status_line(description, done, total, now - started))

    def log(self, message: str) -> None:
        print(message, flush=True)


def status_line(description: str, done: int, total: int | None, seconds: float) -> str:
    """``fine-tune epoch 1/1: 120/2063, 4.0 min, about 64.8 min left``."""
    if total is None:
        return f"{description}: {done}, {seconds / 60:.1f} min"
    left = seconds / done * (total - done)
    return f"{description}: {done}/{total}, {seconds / 60:.1f} min, about {left / 60:.1f} min left"


class RichProgress(Progress):
    """A bar per loop under one overall matrix bar, drawn by rich."""

    def __init__(self, console=None):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _RichProgress

        self._bars = _RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.console = self._bars.console

    def __enter__(self):
        self._bars.__enter__()
        return self

    def __exit__(self, *exc):
        return self._bars.__exit__(*exc)

    def track(self, items: Iterable[T], description: str) -> Iterator[T]:
        total = len(items) if isinstance(items, Sized) else None
        task = self._bars.add_task(description, total=total)
        try:
            for item in items:
                yield item
                self._bars.advance(task)
        finally:
            self._bars.remove_task(task)

    def log(self, message: str) -> None:
        self._bars.console.print(message, highlight=False, markup=False)
