"""Probing: what a frozen model's layers know about a sentence (Conneau et al. 2018).

``tasks`` builds the ten probe sets from parsed in-domain sentences (torch-free),
``parse`` parses them with spaCy, ``represent`` reads a cached teacher's or student's
mean-pooled layers, ``classify`` fits a probe on a layer, and ``stage`` caches both the
probe sets and each model's probe results as stages.
"""
