"""Leaderboards from result rows: entries, columns, rendering, page header, plots, statistics.

Pure: no torch. Imports only ``plugin_api``, ``matrix`` and ``store``.
"""
