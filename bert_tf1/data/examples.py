"""Example containers with google-research/bert's names, so notebook code ports unchanged."""


class InputExample(object):
    """A single example for sequence (pair) classification or regression.

    Args:
      guid: unique id of the example (string), e.g. "train-17".
      text_a: untokenized text of the first sequence.
      text_b: (optional) untokenized text of the second sequence, for pair tasks.
      label: (optional) label name (string) for classification, float for regression; None for
        unlabelled test examples.
    """

    def __init__(self, guid, text_a, text_b=None, label=None):
        self.guid = guid
        self.text_a = text_a
        self.text_b = text_b
        self.label = label

    def __repr__(self):
        return "InputExample(guid=%r, text_a=%r, text_b=%r, label=%r)" % (
            self.guid, self.text_a, self.text_b, self.label)

    def __eq__(self, other):
        return isinstance(other, InputExample) and vars(self) == vars(other)


class PaddingInputExample(object):
    """A fake example that pads a batch to full size (TPU needs fixed batch shapes).

    Its features are all zeros with is_real_example=0, so every metric weighted by is_real_example
    ignores it and no prediction line is written for it.
    """
