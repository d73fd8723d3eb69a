"""Inter-process locks, one file per name: two runs never compute the same thing at once.

A lock is an ``fcntl.flock`` on a small file that also records who holds it (pid, host,
time) for the waiter's log line. The kernel drops a flock when its holder dies, SIGKILL
included, so a crashed run never leaves a lock that blocks the next one: stale-lock
recovery needs no timeout or pid guessing. On a shared filesystem (NFS v4, Lustre, CephFS)
flock is forwarded to the server, which also releases the locks of a crashed client.

The file is removed on release. A waiter may then hold a descriptor to a file that is no
longer at the path, so after taking the lock it checks that the path still names the same
file, and starts over if not (the usual lock-file-with-unlink protocol).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL_SECONDS = 0.2


def holder(path: Path) -> dict:
    """Who holds the lock at ``path``, as it wrote itself down (empty if unknown)."""
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    if not info:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(info.get("time", 0)))
    return f"pid {info.get('pid')} on {info.get('host')} since {since}"


class FileLock:
    """An exclusive lock named by a path. ``acquire(block=False)`` returns False when taken."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, block: bool = True, log: Callable[[str], None] | None = None) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not block:
                    return False
                if log is not None and not told:
                    log(f"waiting for {self.path.stem}: held by {_describe(holder(self.path))}")
                    told = True
                time.sleep(POLL_SECONDS)
                continue
            except BaseException:
                os.close(fd)
                raise
            # the previous holder may have unlinked the file between our open and flock
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # before unlocking: a waiter then sees a new file, not ours
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def locked(path: Path, log: Callable[[str], None] | None = None) -> Iterator[FileLock]:
    """Hold the lock at ``path`` for the block, waiting (and saying so once) while taken."""
    lock = FileLock(path)
    lock.acquire(block=True, log=log)
    try:
        yield lock
    finally:
        lock.release()
