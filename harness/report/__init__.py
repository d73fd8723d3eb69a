"""Leaderboards from result rows: entries, columns, rendering, page header, plots, statistics.

``entries`` groups rows into leaderboard entries (``leaderboards``, ``variant_boards``),
keyed by teacher and student seed (``seeds``);
``columns`` says what each column shows of an entry; ``render`` makes markdown, CSV, JSON
and rich tables; ``page`` picks a plan's stored rows and writes the page under
``<results_dir>/leaderboards/`` (plots in ``leaderboards/plots/``, drawn by ``plots``);
``stats`` holds the intervals and Pareto fronts (``student_t`` the t quantile); ``timing``
where a run's time went.
Pure: no torch. Imports only ``plugin_api``, ``matrix`` and ``store``.
"""
