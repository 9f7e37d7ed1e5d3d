"""bert_tf1: BERT text classification on TensorFlow 1.15 Estimators and TF Hub 0.7 modules.

Layers (each a module named after its concept): data -> features -> inputs -> model -> metrics ->
runtime -> outputs. Importing the package does not import TensorFlow.
"""
from bert_tf1.version import __version__  # noqa: F401
