"""What every ``bench`` command shares: the console it prints to and the ``--data-dir``
argument. Kept apart from ``main`` (which imports every command module) so that the
command modules import it without an import cycle.
"""

from __future__ import annotations

import argparse

from distill_bench.execute.api import DATA_ENV


def console():
    """A rich console for tables and plans (rich imported here: ``bench --help`` stays fast)."""
    from rich.console import Console

    # soft_wrap: long plan lines stay whole in logs; markup off: labels contain [brackets]
    out = Console(highlight=False, soft_wrap=True, markup=False)
    if not out.is_terminal:  # logs and CI: wide enough that leaderboards stay readable
        out.width = max(out.width, 200)
    return out


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", help=f"local data directory (default ${DATA_ENV}; none: the Hub)"
    )
