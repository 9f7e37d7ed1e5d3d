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

`create_model` and `model_fn_builder` accept both of Google's signatures: the hub script's
(`num_labels, ..., bert_hub_module_handle`, listed by inspect) and run_classifier.py's checkpoint
one (`bert_config, ..., init_checkpoint, ..., use_one_hot_embeddings`), told apart by a BertConfig
first argument or a `bert_config=` keyword. Our extra keywords (head, task_type, ...) work with
both.
"""
import inspect

from bert import modeling

from bert_tf1 import compat
from bert_tf1.classifier import model as classifier
from bert_tf1.classifier import model_fn as _model_fn
from bert_tf1.classifier.features import (  # noqa: F401
    InputFeatures,
    convert_examples_to_features,
    convert_single_example,
    file_based_convert_examples_to_features,
)
from bert_tf1.classifier.inputs import file_based_input_fn_builder, input_fn_builder  # noqa: F401
from bert_tf1.data.examples import InputExample, PaddingInputExample  # noqa: F401
from bert_tf1.modeling.checkpoint_bert import BertSource
from bert_tf1.modeling.hub_bert import create_tokenizer_from_hub_module  # noqa: F401

compat.mark_absl_flags_parsed()

# google-research/bert run_classifier.py's parameter lists (checkpoint BERT).
_CHECKPOINT_CREATE_MODEL = ("bert_config", "is_training", "input_ids", "input_mask",
                            "segment_ids", "labels", "num_labels", "use_one_hot_embeddings")
_CHECKPOINT_MODEL_FN_BUILDER = ("bert_config", "num_labels", "init_checkpoint", "learning_rate",
                                "num_train_steps", "num_warmup_steps", "use_tpu",
                                "use_one_hot_embeddings")


def _checkpoint_call(args, kwargs, names, function_name):
    """{name: value} when the call uses run_classifier.py's checkpoint signature, else None."""

    if "bert_config" not in kwargs and not (args and isinstance(args[0], modeling.BertConfig)):
        return None
    if len(args) > len(names):
        raise TypeError("%s() takes at most %d positional arguments in run_classifier.py's form "
                        "(%s), %d given" % (function_name, len(names), ", ".join(names),
                                            len(args)))
    bound = dict(zip(names, args))
    duplicated = sorted(set(bound) & set(kwargs))
    if duplicated:
        raise TypeError("%s() got multiple values for argument '%s'" % (function_name,
                                                                        duplicated[0]))
    bound.update(kwargs)
    missing = [name for name in names if name not in bound and name != "use_one_hot_embeddings"]
    if missing:
        raise TypeError("%s() missing arguments of run_classifier.py's form: %s"
                        % (function_name, ", ".join(missing)))
    return bound


def create_model(*args, **kwargs):
    """classifier.create_model, also callable as run_classifier.py's
    create_model(bert_config, is_training, input_ids, input_mask, segment_ids, labels,
    num_labels, use_one_hot_embeddings).

    Returns:
      (loss, per_example_loss, logits, probabilities), as classifier.create_model.
    """

    bound = _checkpoint_call(args, kwargs, _CHECKPOINT_CREATE_MODEL, "create_model")
    if bound is None:
        return classifier.create_model(*args, **kwargs)
    # Google's create_model builds BertModel only; the weights come from model_fn_builder's
    # init_checkpoint, so the source here has none.
    source = BertSource.from_checkpoint(bound.pop("bert_config"), None,
                                        bound.pop("use_one_hot_embeddings", False))
    return classifier.create_model(bert_hub_module_handle=None, bert_source=source, **bound)


def model_fn_builder(*args, **kwargs):
    """model_fn.model_fn_builder, also callable as run_classifier.py's
    model_fn_builder(bert_config, num_labels, init_checkpoint, learning_rate, num_train_steps,
    num_warmup_steps, use_tpu, use_one_hot_embeddings).

    In the checkpoint form, init_checkpoint restores BERT and every other trainable variable it
    holds with the same name and shape (a fine-tuned classifier's head too), as Google's does.

    Returns:
      model_fn(features, labels, mode, params) for TPUEstimator (for_tpu_estimator=False: for
      tf.estimator.Estimator).
    """

    bound = _checkpoint_call(args, kwargs, _CHECKPOINT_MODEL_FN_BUILDER, "model_fn_builder")
    if bound is None:
        return _model_fn.model_fn_builder(*args, **kwargs)
    init_checkpoint = bound.pop("init_checkpoint")
    source = BertSource.from_checkpoint(bound.pop("bert_config"), init_checkpoint,
                                        bound.pop("use_one_hot_embeddings", False))
    return _model_fn.model_fn_builder(bert_hub_module_handle=None, bert_source=source,
                                      init_checkpoint=init_checkpoint, **bound)


# inspect (and the API test) see the hub script's parameters, which come first.
create_model.__signature__ = inspect.signature(classifier.create_model)
model_fn_builder.__signature__ = inspect.signature(_model_fn.model_fn_builder)

__all__ = [
    "InputExample", "PaddingInputExample", "InputFeatures", "convert_single_example",
    "convert_examples_to_features", "file_based_convert_examples_to_features",
    "input_fn_builder", "file_based_input_fn_builder", "create_model", "model_fn_builder",
    "create_tokenizer_from_hub_module",
]
