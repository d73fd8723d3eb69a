"""The data stage: a dataset plugin's task, subsampled to the budget and cached as JSON."""
