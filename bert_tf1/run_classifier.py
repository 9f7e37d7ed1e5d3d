"""google-research/bert's run_classifier / run_classifier_with_tfhub API, with our fixes.

Notebook code ports by changing its imports only:

    # from bert import run_classifier
    from bert_tf1 import run_classifier
    features = run_classifier.convert_examples_to_features(examples, labels, 128, tokenizer)
    input_fn = run_classifier.input_fn_builder(features=features, seq_length=128,
                                               is_training=True, drop_remainder=False)

Unlike `bert.run_classifier`, importing this module defines no absl flags. It marks the absl
flag set as parsed (compat.mark_absl_flags_parsed), so notebook code that keeps Google's own
tokenizer (`from bert import tokenization; tokenization.FullTokenizer(...)`) runs: bert-tensorflow
1.0.4's tokenizer reads the flag --preserve_unused_tokens and otherwise raises
UnparsedFlagAccessError outside `tf.app.run`. Flags parsed later (absl.app.run) still parse.
"""
from bert_tf1 import compat
from bert_tf1.classifier import create_model  # noqa: F401
from bert_tf1.data.examples import InputExample, PaddingInputExample  # noqa: F401
from bert_tf1.features import (InputFeatures, convert_examples_to_features,  # noqa: F401
                               convert_single_example, file_based_convert_examples_to_features)
from bert_tf1.hub_bert import create_tokenizer_from_hub_module  # noqa: F401
from bert_tf1.inputs import file_based_input_fn_builder, input_fn_builder  # noqa: F401
from bert_tf1.model_fn import model_fn_builder  # noqa: F401

compat.mark_absl_flags_parsed()

__all__ = [
    "InputExample", "PaddingInputExample", "InputFeatures", "convert_single_example",
    "convert_examples_to_features", "file_based_convert_examples_to_features",
    "input_fn_builder", "file_based_input_fn_builder", "create_model", "model_fn_builder",
    "create_tokenizer_from_hub_module",
]
