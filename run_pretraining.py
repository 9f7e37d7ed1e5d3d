#!/usr/bin/env python
"""Pre-train or further pre-train BERT: masked LM + next sentence (see bert_tf1/cli)."""
from bert_tf1.cli.run_pretraining import run

if __name__ == "__main__":
    run()
