"""The matrix file and the pure planner. No torch.

Owns the TOML model (axes, budget, measurement settings and their ranges: ``settings.py``),
the expansion of the cartesian product into cells and teacher rows, the checks of bad input
(ranges, teacher depth, a matrix with nothing to run), the dropping of impossible cells with
a reason, and the content keys (with the stage versions) that name every cached stage.
Imports only ``plugin_api``.
"""
