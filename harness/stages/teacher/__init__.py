"""The teacher stage: fine-tune a teacher plugin on the task and score it once."""
