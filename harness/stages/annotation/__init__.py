"""The annotation stage: teacher logits (and hidden states, attention maps) on a transfer set."""
