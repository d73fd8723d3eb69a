"""``bench datasets show``: load a dataset through the registry and print its splits,
label distribution and token lengths (``distill_bench.stages.data.stats``).
"""

from __future__ import annotations

import argparse

from distill_bench.cli.common import add_data_dir_argument
from distill_bench.execute.api import resolve_data_dir
from distill_bench.plugin_api.registry import load_registry
from distill_bench.stages.data.stats import describe_dataset, parse_options


def cmd_dataset_show(args) -> int:
    registry = load_registry(args.disable_plugin)
    names = sorted(registry.specs["datasets"]) if args.dataset == "all" else [args.dataset]
    for name in names:
        print(
            describe_dataset(
                registry,
                name,
                parse_options(args.option),
                resolve_data_dir(args.data_dir),
                tokenizer_file=args.tokenizer,
                max_examples=args.max_examples or None,
            ),
            flush=True,
        )
    return 0


def add_datasets_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="dataset statistics: splits, labels, token lengths")
    datasets_sub = p.add_subparsers(dest="datasets_command", required=True)
    p = datasets_sub.add_parser("show", help="load a dataset and describe its splits")
    p.add_argument("dataset", help="a dataset name, or 'all'")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a dataset option (repeatable), e.g. -o include_oos=true",
    )
    add_data_dir_argument(p)
    p.add_argument("--tokenizer", help="tokenizer.json for lengths (default: MiniLM's WordPiece)")
    p.add_argument(
        "--max-examples",
        type=int,
        default=5000,
        help="texts per split tokenized for lengths (0 = all; sizes are always exact)",
    )
    p.set_defaults(func=cmd_dataset_show)
