"""The `bench` command: list plugins, plan and run matrices, write leaderboards.

Listing and planning never import torch; only `bench run` without --dry-run does.
Each command group has its module beside this one (``list``, ``datasets``, ``augment``,
``run``, ``report``, ``analyze``, ``export``, ``store``); this one builds the parser from them and turns
errors into exit codes.
"""

from __future__ import annotations

import argparse
import sys

from distill_bench.cli.analyze import add_analyze_parser
from distill_bench.cli.augment import add_augment_parser
from distill_bench.cli.datasets import add_datasets_parser
from distill_bench.cli.export import add_export_parser
from distill_bench.cli.list import add_list_parser, add_plugins_parser
from distill_bench.cli.report import add_report_parser
from distill_bench.cli.run import add_run_parser
from distill_bench.cli.store import add_store_parser
from distill_bench.plugin_api.errors import BenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="block a plugin by name (repeatable; also BENCH_DISABLE_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # the order of `bench --help`
    add_list_parser(sub)
    add_datasets_parser(sub)
    add_augment_parser(sub)
    add_plugins_parser(sub)
    add_run_parser(sub)
    add_report_parser(sub)
    add_analyze_parser(sub)
    add_export_parser(sub)
    add_store_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "bench: interrupted; finished rows are in the store, run again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
