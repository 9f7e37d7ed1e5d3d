"""Text classification: features, input_fns, the model and model_fn, metrics, the run pipeline."""
