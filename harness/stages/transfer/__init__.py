"""The transfer stage: the set students are distilled on, made by an augmenter."""
