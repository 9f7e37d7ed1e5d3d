"""Masked-LM + next-sentence pre-training: data, the TPUEstimator pipeline, further pre-training."""
