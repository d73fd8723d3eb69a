"""The ``bench`` command: one module per command group, parsing and printing only.

The work is done by the library (``distill_bench.execute``, ``distill_bench.report``);
this layer turns arguments into calls and results into lines. ``main`` builds the parser
(``build_parser``) from the command modules: ``list`` (bench list, bench plugins),
``datasets``, ``augment``, ``run`` and ``report``; ``common`` holds what they share.
"""

from distill_bench.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
