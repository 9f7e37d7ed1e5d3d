#!/usr/bin/env python
"""Fine-tune / evaluate / predict BERT text classifiers on TF 1.15 (see bert_tf1/cli)."""
from bert_tf1.cli.run_classifier_hub import run

if __name__ == "__main__":
    run()
