"""The ``bench`` command: one module per command group, parsing and printing only.

The work is done by the library (``distill_bench.execute``, ``distill_bench.report``);
this layer turns arguments into calls and results into lines.
"""

from distill_bench.cli.main import main

__all__ = ["main"]
