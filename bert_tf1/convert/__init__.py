"""Making and converting BERT weights: tiny BERT, hub-module export, HuggingFace/torch readers."""
