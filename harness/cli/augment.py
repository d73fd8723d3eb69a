"""``bench augment preview``: training sentences next to what an augmenter makes of them,
as a rich table (the preview itself is ``distill_bench.stages.transfer.preview``).
"""

from __future__ import annotations

import argparse

from distill_bench.cli.common import add_data_dir_argument, console
from distill_bench.execute.api import resolve_data_dir
from distill_bench.plugin_api.errors import BenchError
from distill_bench.plugin_api.pairs import shown
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.data.stats import parse_options
from distill_bench.stages.transfer.preview import Preview, preview


def render(result: Preview, out) -> None:
    """One table: each original beside its augmentations, or, for unlabelled transfer
    text not made from any original, training sentences beside transfer texts."""
    from rich.table import Table

    head = (
        f"{result.augmenter} on {result.dataset}: {result.made:,} texts made from "
        f"{result.pool:,} training sentences (after leakage and duplicate removal)"
    )
    table = Table(title=head + (f"; {result.note}" if result.note else ""), title_justify="left")
    if result.unrelated:
        table.add_column("training sentence")
        table.add_column("transfer text (unlabelled, not made from it)")
        for (original, _), text in zip(result.pairs, result.unrelated, strict=False):
            table.add_row(shown(original), shown(text))
    else:
        table.add_column("original")
        table.add_column("augmentations")
        for original, augmented in result.pairs:
            table.add_row(shown(original), "\n".join(shown(t) for t in augmented))
    out.print(table)


def cmd_augment_preview(args) -> int:
    if args.n < 1 or args.per_example < 1 or args.pool < 0:
        raise BenchError(
            f"-n and --per-example must be >= 1 and --pool >= 0, got -n {args.n}, "
            f"--per-example {args.per_example}, --pool {args.pool}"
        )
    result = preview(
        load_registry(args.disable_plugin),
        args.augmenter,
        args.dataset,
        parse_options(args.option),
        resolve_data_dir(args.data_dir),
        dataset_options=parse_options(args.dataset_option),
        n=args.n,
        per_example=args.per_example,
        pool=args.pool,
        seed=args.seed,
        teacher=args.teacher,
    )
    render(result, console())
    return 0


def add_augment_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("augment", help="see what an augmenter does")
    augment_sub = p.add_subparsers(dest="augment_command", required=True)
    p = augment_sub.add_parser("preview", help="training sentences next to their augmentations")
    p.add_argument("augmenter", help="an augmenter name (bench list augmenters)")
    p.add_argument("--dataset", default="sst2", help="dataset whose training split is augmented")
    p.add_argument(
        "-d",
        "--dataset-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a dataset option (repeatable), e.g. -d max_labeled=1000",
    )
    p.add_argument("-n", type=int, default=5, help="original sentences shown")
    p.add_argument("--per-example", type=int, default=3, help="augmentations shown per original")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an augmenter option (repeatable), e.g. -o p_mask=0.3",
    )
    p.add_argument(
        "--pool",
        type=int,
        default=2000,
        help="training sentences the augmenter runs on (a seeded sample; 0 = all)",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling and augmentation seed")
    p.add_argument(
        "--teacher",
        default="minilm-l6",
        help="teacher whose pretrained vocabulary/embeddings eda reads",
    )
    add_data_dir_argument(p)
    p.set_defaults(func=cmd_augment_preview)
