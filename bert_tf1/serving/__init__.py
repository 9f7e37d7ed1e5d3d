"""Predictions from a trained run: SavedModel export, a warm Predictor and a REST server.

  export.py     export_saved_model(run output_dir, export_dir): self-describing TF1 SavedModel
  predictor.py  Predictor(export_dir).predict(texts): tokenize, batch, one warm session
  batching.py   MicroBatcher: requests from concurrent clients grouped into batches
  server.py     TensorFlow Serving's REST API (waitress + werkzeug) over a Predictor
  predict_file.py  JSON lines / CSV / TSV / text files in, JSON lines out
"""
from bert_tf1.serving.predictor import Predictor  # noqa: F401
