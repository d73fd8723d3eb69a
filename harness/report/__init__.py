"""Leaderboards from result rows: entries, columns, rendering, page header, plots, statistics.

``entries`` groups rows into leaderboard entries (``leaderboards``, ``variant_boards``);
``columns`` says what each column shows of an entry; ``render`` makes markdown, CSV, JSON
and rich tables; ``page`` picks a plan's stored rows and writes the page under
``<results_dir>/leaderboards/`` (plots in ``leaderboards/plots/``, drawn by ``plots``);
``stats`` holds the bootstrap intervals and Pareto fronts.
Pure: no torch. Imports only ``plugin_api``, ``matrix`` and ``store``.
"""
