#!/usr/bin/env python
"""Prints the characters HuggingFace tokenizers and bert's FullTokenizer split differently on this
machine, as bert_tf1.modeling.tokenization.DIFFERING_RANGES holds them (rerun after upgrading
tokenizers or Python's unicodedata, then update that list).

    .venv/bin/python scripts/list_tokenizer_differences.py
"""
import unicodedata

from bert_tf1 import compat
from bert_tf1.modeling.tokenization import (
    CAPITAL_SIGMA,
    PRIVATE_USE_RANGES,
    differing_characters,
    import_tokenizers,
)


def _ranges(codepoints):
    ranges = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return ranges


def main():

    compat.setup_tf1()
    every = range(0x110000)
    found = set(differing_characters(True, every)) | set(differing_characters(False, every))
    private = {cp for low, high in PRIVATE_USE_RANGES for cp in range(low, high + 1)}
    found -= private | {CAPITAL_SIGMA}
    print("unicodedata %s, tokenizers %s: %d differing characters besides private use and Σ"
          % (unicodedata.unidata_version, import_tokenizers().__version__, len(found)))
    print(", ".join("(0x%04X, 0x%04X)" % tuple(r) for r in _ranges(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
