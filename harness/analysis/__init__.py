"""What students learn, read from what a run already saved (issue: probing and error
analysis). ``errors`` compares each student's per-example predictions with its teacher's
and the gold labels; ``page`` writes the analysis page. Pure: no torch."""
