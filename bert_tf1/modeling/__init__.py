"""BERT itself: hub-module and checkpoint encoders, BERT directories, heads, optimization and
tokenization."""
