"""Helpers shared by the fault and executor tests: a faster tiny matrix, run summaries."""

from __future__ import annotations

from conftest import tiny_matrix_text


def fast_matrix_text(teacher_dir, **kw) -> str:
    """The tiny matrix on a smaller budget: one teacher epoch, two student epochs."""
    return (
        tiny_matrix_text(teacher_dir, **kw)
        .replace("teacher_epochs = 4", "teacher_epochs = 1")
        .replace("student_epochs = 5", "student_epochs = 2")
        .replace("latency_samples = 5", "latency_samples = 2")
        .replace("max_sentences = 40", "max_sentences = 16")
    )


def computed_counts(out: str) -> dict[str, int]:
    """The stage counts of a run's last summary line: "computed: teacher 1, student 2; ..."."""
    line = [x for x in out.splitlines() if "computed: " in x][-1]
    listed = line.split("computed: ")[1].split(";")[0]
    if listed.startswith("nothing"):
        return {}
    return {kind: int(n) for kind, n in (part.split() for part in listed.split(", "))}
