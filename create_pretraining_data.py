#!/usr/bin/env python
"""Create masked-LM + next-sentence pre-training TFRecords (see bert_tf1/cli)."""
from bert_tf1.cli.create_pretraining_data import run

if __name__ == "__main__":
    run()
