"""Data layer: examples, readers and the task registry (no TensorFlow imports here)."""
