"""The plugin API: what a plugin registers and what the harness hands it. No torch.

Owns the hook specifications (one hook per kind), the typed specs a plugin registers, the
registry that collects them, the Protocols of the objects plugins return, the task data
types datasets build, the progress interface and the metric functions. Imports nothing
from the rest of the harness: every other layer, and every plugin, builds on this one.
"""
