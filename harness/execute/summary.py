"""What a run did: rows ok, failed and skipped, stages computed, time taken.

Its own module, free of torch, so that the library API (``execute.api``) can name it
while planning stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # ok rows already in the store
    failed_before: int = 0  # failed rows already in the store, left alone (see retry_failed)
    seconds: float = 0.0
    computed: dict[str, int] = field(default_factory=dict)  # stage kind -> entries computed now

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.failed_before else 0
