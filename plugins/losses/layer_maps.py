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
mean of its terms. Parsing imports no torch: the planner calls it, through each spec's
``validate`` (a map that does not parse is refused where the entry is resolved) and
``teacher_features`` (which layers to annotate, checked against the teacher's depth).
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
    pairs, problem = _pairs(text, teacher_min, student_zero)
    if problem:
        raise BenchError(f"loss {loss!r}: {problem}")
    return pairs


def _pairs(
    text: str, teacher_min: int, student_zero: bool
) -> tuple[tuple[tuple[int, int], ...], str | None]:
    """(the pairs, None), or ((), what is wrong, starting "option 'layer_map'")."""
    where = "option 'layer_map'"
    pairs: list[tuple[int, int]] = []
    for chunk in text.split(","):
        parts = chunk.split(":")
        try:
            if len(parts) != 2:
                raise ValueError(chunk)
            student, teacher = int(parts[0].strip()), int(parts[1].strip())
        except ValueError:
            return (), f"{where} must be {_LAYER_MAP_FORMAT}, got {text!r}"
        if teacher < teacher_min:
            return (), (
                f"{where}: teacher layer {teacher} in {chunk.strip()!r} must be >= {teacher_min} "
                "(negative teacher layers are not allowed: the layers to annotate are chosen "
                "before the teacher's depth is known)"
            )
        if student == 0 and not student_zero:
            return (), (
                f"{where}: student layer 0 in {chunk.strip()!r}: attention layers count "
                "from 1 (or from the end: -1 = last)"
            )
        if (student, teacher) in pairs:
            return (), f"{where}: pair {chunk.strip()!r} is given twice in {text!r}"
        pairs.append((student, teacher))
    return tuple(pairs), None


def hidden_map_problem(options: dict[str, Any]) -> str | None:
    """``LossSpec.validate`` of the hidden-state losses: the layer map parses."""
    return _pairs(options["layer_map"], teacher_min=0, student_zero=True)[1]


def attention_map_problem(options: dict[str, Any]) -> str | None:
    """``LossSpec.validate`` of attention-mse: the layer map parses."""
    return _pairs(options["layer_map"], teacher_min=1, student_zero=False)[1]


def hidden_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=0, student_zero=True)


def attention_pairs(options: dict[str, Any], loss: str) -> tuple[tuple[int, int], ...]:
    return parse_layer_map(options["layer_map"], loss, teacher_min=1, student_zero=False)


def teacher_layers(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    return tuple(sorted({t for _, t in pairs}))
