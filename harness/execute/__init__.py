"""Running a plan: the scheduler, row assembly, the local and Ray executors, the library API.

Imports every layer below it (``plugin_api``, ``matrix``, ``store``, ``report``,
``stages``); only ``cli`` imports it.
"""
