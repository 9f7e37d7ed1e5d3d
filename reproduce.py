#!/usr/bin/env python
"""Run a recipe end to end and write its reproduction report (see bert_tf1/cli/reproduce.py)."""
import sys

from bert_tf1.cli.reproduce import main

if __name__ == "__main__":
    sys.exit(main())
