"""The measure stage: size, speed and memory of a saved model, measured the same way for all."""
