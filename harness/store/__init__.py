"""Where things are kept: the content-addressed stage cache, file locks, the results database.

Imports only ``plugin_api``. The stages write into the cache; the executors write result
rows; the report reads them.
"""
