"""Layer maps of the intermediate-layer losses: which student layer is compared with which teacher layer.

Option ``layer_map`` holds comma-separated ``student:teacher`` integer pairs, e.g.
``"-1:6"`` or ``"2:4,4:6"``. For hidden-state losses the student number indexes the tuple
``student_out["hidden_states"]`` (0 = first item, which is the embedding output for
transformer students; negative counts from the end, -1 = last) and the teacher number is
a hidden-state layer as transformers counts them (0 = embeddings, 6 = the last layer of a
6-layer teacher); it must be non-negative, because the spec names the layers to annotate
before the teacher is loaded. For attention-mse both numbers are 1-based transformer
layers (the attention maps of layer 1 are ``attentions[0]``); the student number may be
negative (-1 = last layer). Each pair adds one term; a loss with several pairs is the
mean of its terms. Parsing imports no torch: the planner calls it.
"""

from __future__ import annotations

from typing import Any

from distill_bench import BenchError

_LAYER_MAP_FORMAT = "comma-separated student:teacher integer pairs such as '-1:6' or '2:4,4:6'"


def parse_layer_map(
    text: str, loss: str, *, teacher_min: int, student_zero: bool
) -> tuple[tuple[int, int], ...]:
    """``"2:4,4:6"`` -> ((2, 4), (4, 6)); a BenchError naming the loss and option otherwise.

    ``teacher_min``: the smallest teacher layer allowed (0 for hidden states, 1 for
    attention maps). ``student_zero``: whether student index 0 is meaningful."""
    where = f"loss {loss!r}: option 'layer_map'"
    pairs: list[tuple[int, int]] = []
    for chunk in text.split(","):
        parts = chunk.split(":")
        try:
            if len(parts) != 2:
                raise ValueError(chunk)
            student, teacher = int(parts[0].strip()), int(parts[1].strip())
        except ValueError:
            raise BenchError(f"{where} must be {_LAYER_MAP_FORMAT}, got {text!r}") from None
        if teacher < teacher_min:
            raise BenchError(
                f"{where}: teacher layer {teacher} in {chunk.strip()!r} must be >= {teacher_min} "
                "(negative teacher layers are not allowed: the layers to annotate are chosen "
                "before the teacher's depth is known)"
            )
        if student == 0 and not student_zero:
            raise BenchError(
                f"{where}: student layer 0 in {chunk.strip()!r}: attention layers count "
                "from 1 (or from the end: -1 = last)"
            )
        if (student, teacher) in pairs:
            raise BenchError(f"{where}: pair {chunk.strip()!r} is given twice in {text!r}")
        pairs.append((student, teacher))
    return tuple(pairs)


def hidden_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=0, student_zero=True)


def attention_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=1, student_zero=False)


def teacher_layers(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    return tuple(sorted({t for _, t in pairs}))
