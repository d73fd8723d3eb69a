"""The typed register objects a plugin hands to ``register(...)``.

A spec is data: a name, a factory that builds the component (heavy imports happen
inside the factory, never at registration), typed options with defaults, and the
capability flags the planner uses to refuse impossible cells before anything trains.
Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.options import Option

KINDS: tuple[str, ...] = ("datasets", "teachers", "students", "losses", "augmenters")
SINGULAR: dict[str, str] = {kind: "loss" if kind == "losses" else kind[:-1] for kind in KINDS}

# Capability vocabulary shared by students, teachers and losses.
LOGITS = "logits"
HIDDEN_STATES = "hidden_states"
ATTENTIONS = "attentions"
GOLD_LABELS = "gold_labels"
TEACHER_LOGITS = "teacher_logits"
TEACHER_FEATURES = "teacher_features"  # teacher hidden states / attention maps


@dataclass(frozen=True, kw_only=True)
class Spec:
    """What every kind has in common.

    ``validate(options) -> str | None`` (optional): what is wrong with a combination of
    resolved options that no single option's range can say (a hidden size that is not a
    multiple of the heads), or None; planning calls it for every entry, so such a cell
    fails before anything trains, with the message prefixed by the matrix file and entry.

    ``requires``: the optional packages the component imports, as (importable module,
    install hint) pairs, e.g. ``("spacy", 'pip install "distill-bench[augment]"')``. The
    pre-flight of ``bench run`` (and ``--dry-run``) looks each module up with
    ``importlib.util.find_spec``, without importing it, and stops a matrix using the
    component with one line naming the entry and the hint."""

    kind: ClassVar[str] = ""
    name: str
    factory: Callable[..., Any] = field(compare=False, repr=False)
    description: str = ""
    options: tuple[Option, ...] = ()
    validate: Callable[[dict[str, Any]], str | None] | None = field(
        default=None, compare=False, repr=False
    )
    requires: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or " " in self.name or "_" in self.name:
            raise ValueError(f"{self.kind} name {self.name!r} must be kebab-case")
        if not all(
            isinstance(r, tuple) and len(r) == 2 and all(isinstance(x, str) and x for x in r)
            for r in self.requires
        ):
            raise ValueError(
                f"{self.kind} {self.name!r}: requires must hold (module, install hint) pairs"
            )
        names = [o.name for o in self.options]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.kind} {self.name!r} declares an option twice")

    def resolve(self, given: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Defaults filled in, every given option type-checked, unknown names refused."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            expected = ", ".join(sorted(known)) or "none"
            raise BenchError(
                f"{where}: unknown option {unknown[0]!r} for {SINGULAR[self.kind]} {self.name!r} "
                f"(options: {expected})"
            )
        missing = [n for n, o in sorted(known.items()) if o.default is None and n not in given]
        if missing:
            raise BenchError(
                f"{where}: {SINGULAR[self.kind]} {self.name!r} needs option {missing[0]!r} "
                f"({known[missing[0]].help or known[missing[0]].type.__name__})"
            )
        resolved = {
            name: opt.coerce(given[name], where) if name in given else opt.default
            for name, opt in sorted(known.items())
        }
        problem = self.validate(resolved) if self.validate is not None else None
        if problem:
            raise BenchError(f"{where}: {problem}")
        return resolved


@dataclass(frozen=True, kw_only=True)
class DatasetSpec(Spec):
    """factory(options: dict, data_dir: Path | None) -> distill_bench.plugin_api.tasks.TaskData

    ``num_labels``: the label count, or a function of the resolved options when they
    change it (``label_count`` reads either); None when unknown before loading. The
    pre-flight checks every teacher against it, so declare it when you can.

    ``check_files(options, data_dir) -> None`` (optional): the pre-flight's look at the
    local files the factory will read (each one's existence and header line, or its first
    row; never a full parse), run by ``bench run`` and ``--dry-run`` alike before anything
    is written. It raises ``BenchError`` naming the file and what was expected; with
    ``data_dir`` None (the Hub) there is nothing to check."""

    kind: ClassVar[str] = "datasets"
    primary_metric: str = "accuracy"
    num_labels: int | Callable[[dict[str, Any]], int] | None = None
    # True (or a function of the resolved options) when the texts are sentence pairs
    # (``plugin_api.pairs``): planning drops students and augmenters that take no pairs
    pairs: bool | Callable[[dict[str, Any]], bool] = field(default=False, compare=False)
    check_files: Callable[[dict[str, Any], Path | None], None] | None = field(
        default=None, compare=False, repr=False
    )

    def gives_pairs(self, options: Mapping[str, Any]) -> bool:
        """Whether the dataset's texts are sentence pairs under its resolved ``options``."""
        return bool(self.pairs(dict(options)) if callable(self.pairs) else self.pairs)

    def label_count(self, options: Mapping[str, Any]) -> int | None:
        """How many labels the dataset has under its resolved ``options``, or None."""
        if callable(self.num_labels):
            return self.num_labels(dict(options))
        return self.num_labels


@dataclass(frozen=True, kw_only=True)
class TeacherSpec(Spec):
    """factory(options: dict) -> a ``protocols.Teacher`` (finetune, predictor, tokenizer,
    inference_model; optionally check): see hookspecs.register_teachers.

    ``depth(options) -> int | None`` (optional): the teacher's number of transformer
    layers from its resolved options, without torch or loading weights (a packaged model's
    known depth, a local folder's config.json), or None when unknown (a Hub id). Planning
    refuses a loss layer map or a student's teacher layers that reach beyond it."""

    kind: ClassVar[str] = "teachers"
    exposes: frozenset[str] = frozenset({LOGITS, HIDDEN_STATES, ATTENTIONS})
    depth: Callable[[dict[str, Any]], int | None] | None = field(
        default=None, compare=False, repr=False
    )


@dataclass(frozen=True, kw_only=True)
class StudentSpec(Spec):
    """factory(options: dict, ctx: distill_bench.stages.student.io.StudentContext) -> torch.nn.Module

    ``teacher_layers(options) -> tuple[int, ...]`` (optional): the teacher's encoder layers
    (0-based) a student built from the teacher copies, from its resolved options; planning
    checks them against ``TeacherSpec.depth``."""

    kind: ClassVar[str] = "students"
    exposes: frozenset[str] = frozenset({LOGITS})
    special_tokens: bool = False  # input carries [CLS] ... [SEP] (transformer students)
    # takes sentence pairs: as "a [SEP] b" token ids (any student that reads ids can), or
    # apart when its factory reads ``ctx.pairs``; False drops it from pair datasets
    pairs: bool = True
    teacher_layers: Callable[[dict[str, Any]], tuple[int, ...]] | None = field(
        default=None, compare=False, repr=False
    )


# Options a student can declare to let the harness choose its vocabulary: the teacher's
# WordPiece (default) or a word-level vocabulary built from the transfer set.
VOCAB_OPTIONS: tuple[Option, ...] = (
    Option(
        "vocab",
        str,
        "wordpiece",
        "the teacher's WordPiece vocabulary or a word-level one",
        choices=("wordpiece", "word"),
    ),  # fmt: skip
    Option("vocab_size", int, 10_000, "word-level vocabulary: most frequent words kept", min=1),
    Option("min_count", int, 1, "word-level vocabulary: minimum count of a kept word", min=1),
)


@dataclass(frozen=True, kw_only=True)
class LossSpec(Spec):
    """factory(options: dict) -> callable(student_out: dict, batch) -> scalar tensor"""

    kind: ClassVar[str] = "losses"
    needs: frozenset[str] = frozenset({LOGITS})  # what the student (and teacher) must expose
    uses: frozenset[str] = frozenset()  # GOLD_LABELS and/or TEACHER_LOGITS
    # Which teacher internals to annotate for this loss, from its resolved options (pure,
    # no torch): (hidden-state layers, as transformers counts them with 0 = embeddings;
    # whether attention maps are needed). None: logits only.
    teacher_features: Callable[[dict[str, Any]], tuple[tuple[int, ...], bool]] | None = field(
        default=None, compare=False, repr=False
    )


# Options every augmenter takes, added to each AugmenterSpec and handled once by the
# harness (distill_bench.stages.transfer.build), never by the plugin: its factory sees its own options.
TRANSFER_OPTIONS: tuple[Option, ...] = (
    Option(
        "size",
        str,
        "",
        "transfer-set size: '20x' = 20 times the labelled set, '100000' = that many, "
        "'' = all the augmenter makes (a TOML integer works too); capped by "
        "[budget].max_transfer_examples",
    ),
    Option("seed", int, -1, "augmentation seed; -1 = the cell's seed", min=-1, max=2**32 - 1),
    Option("dedup", bool, True, "drop repeated texts (case and whitespace ignored)"),
    Option(
        "include_labelled",
        bool,
        True,
        "the labelled training examples (with gold labels) open the transfer set",
    ),
    Option(
        "min_confidence",
        float,
        0.0,
        "teacher max-probability under which a transfer example is unsure (0 = no filter); "
        "applied after annotation, at the student stage",
        min=0,
        max=1,
    ),
    Option(
        "unsure",
        str,
        "drop",
        "what happens to unsure examples: drop them, or downweight them (keep a seeded "
        "share `unsure_weight` of them: their expected weight in the loss)",
        choices=("drop", "downweight"),
    ),
    Option(
        "unsure_weight", float, 0.5, "downweight: the share of unsure examples kept", min=0, max=1
    ),
)
# The ones read after annotation: they change the student stage's key, not the transfer set's.
FILTER_OPTIONS: frozenset[str] = frozenset({"min_confidence", "unsure", "unsure_weight"})


@dataclass(frozen=True, kw_only=True)
class AugmenterSpec(Spec):
    """factory(options: dict) -> callable(ctx: distill_bench.stages.transfer.build.AugmentContext) -> TransferSet

    ``options`` holds the spec's own options; TRANSFER_OPTIONS are appended to every spec
    (``bench list`` shows them) and handled by the harness.

    ``check_files(options, data_dir) -> None`` (optional): as ``DatasetSpec.check_files``,
    for the local files the augmenter itself reads (a named corpus)."""

    kind: ClassVar[str] = "augmenters"
    gold_labels: bool = False  # True when every transfer example carries its gold label
    # True when build reads the fine-tuned teacher (ctx.teacher_tokenizer / embeddings):
    # its transfer set then depends on the teacher; otherwise it is shared across teachers
    needs_teacher: bool = False
    # edits each side of a sentence pair (``plugin_api.pairs``); an augmenter that treats
    # every text as one sentence would cut through the separator, so it must say it can
    pairs: bool = False
    check_files: Callable[[dict[str, Any], Path | None], None] | None = field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        common = {o.name for o in TRANSFER_OPTIONS}
        own = tuple(o for o in self.options if o not in TRANSFER_OPTIONS)
        clash = sorted(common & {o.name for o in own})
        if clash:
            raise ValueError(
                f"augmenter {self.name!r}: option {clash[0]!r} is common to every augmenter "
                "(distill_bench.plugin_api.specs.TRANSFER_OPTIONS); the harness handles it"
            )
        object.__setattr__(self, "options", own + TRANSFER_OPTIONS)
        super().__post_init__()

    @property
    def own_options(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o not in TRANSFER_OPTIONS)

    def resolve(self, given: Mapping[str, Any], where: str) -> dict[str, Any]:
        given = dict(given)
        size = given.get("size")
        if isinstance(size, int) and not isinstance(size, bool):
            given["size"] = str(size)  # size = 100000 in TOML means '100000'
        resolved = super().resolve(given, where)
        check_transfer_options(resolved, where)
        return resolved


def parse_size(size: str, where: str = "size") -> tuple[str, float] | None:
    """``''`` -> None; ``'20x'`` -> ('factor', 20.0); ``'100000'`` / ``'100_000'`` ->
    ('count', 100000.0). Anything else is a one-line BenchError."""
    text = size.strip().replace("_", "").replace(",", "")
    if not text:
        return None
    try:
        if text.lower().endswith("x"):
            value, kind = float(text[:-1]), "factor"
        else:
            value, kind = float(int(text)), "count"
    except ValueError:
        value, kind = -1.0, ""
    if not kind or value <= 0:
        raise BenchError(
            f"{where}: option 'size' must be a positive multiple like '20x' or a count like "
            f"'100000' (or '' for all), got {size!r}"
        )
    return kind, value


def check_transfer_options(options: Mapping[str, Any], where: str) -> None:
    """What the options' ranges cannot say: ``size``'s syntax (min_confidence and
    unsure_weight are bounded by their Options)."""
    parse_size(options["size"], where)


SPEC_TYPES: dict[str, type[Spec]] = {
    cls.kind: cls for cls in (DatasetSpec, TeacherSpec, StudentSpec, LossSpec, AugmenterSpec)
}
