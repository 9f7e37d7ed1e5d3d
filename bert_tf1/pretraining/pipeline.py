"""BERT pre-training (masked LM + next sentence prediction) with TPUEstimator.

The model, losses, metrics and input pipeline follow google-research/bert's run_pretraining.py
(written here because importing it defines absl flags); the optimizer is
bert_tf1.modeling.optimization's AdamW (Google's update, usable under tf.distribute). BERT and its
pre-training heads start from a Google-layout checkpoint, a BERT directory or a TF1 Hub module's
weights (`init_checkpoint` may name any of them; a hub module has no next-sentence head, which
then starts random).

    >>> from bert_tf1.pretraining.pipeline import PretrainingSettings, run_pretraining
    >>> run_pretraining(PretrainingSettings(bert_config_file="bert/bert_config.json",
    ...     input_file="data/*.tfrecord", output_dir="run", init_checkpoint="bert",
    ...     do_train=True, do_eval=True, num_train_steps=1000))  # doctest: +SKIP
"""
import collections
import os

import tensorflow as tf
from bert import modeling

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir, checkpoint_bert, optimization, pretraining_heads
from bert_tf1.pretraining import data as pretraining_data
from bert_tf1.runtime import checkpoint_integrity, estimators, outputs, progress, run_lock
from bert_tf1.runtime.progress import TRAIN_LOSS_COLLECTION

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                 "masked_lm_ids", "masked_lm_weights", "next_sentence_labels")
HEAD_VARIABLES = pretraining_heads.MASKED_LM_VARIABLES + pretraining_heads.NEXT_SENTENCE_VARIABLES
METRIC_NAMES = ("masked_lm_accuracy", "masked_lm_loss", "next_sentence_accuracy",
                "next_sentence_loss")


def masked_lm_loss(logits, label_ids, label_weights):
    """Google's masked-LM loss: mean cross-entropy over the real (weight 1) predictions.

    Args:
      logits: float Tensor of shape [batch_size, num_positions, vocab_size].
      label_ids: int32 Tensor of shape [batch_size, num_positions].
      label_weights: float32 Tensor of shape [batch_size, num_positions] (0 for padding).

    Returns:
      (loss: float32 scalar, per_example_loss: float32 [batch_size * num_positions],
       log_probs: float32 [batch_size * num_positions, vocab_size]).
    """
    vocab_size = logits.shape[-1].value
    log_probs = tf.nn.log_softmax(tf.reshape(logits, [-1, vocab_size]), axis=-1)
    label_ids = tf.reshape(label_ids, [-1])
    label_weights = tf.reshape(label_weights, [-1])
    one_hot_labels = tf.one_hot(label_ids, depth=vocab_size, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(log_probs * one_hot_labels, axis=[-1])
    numerator = tf.reduce_sum(label_weights * per_example_loss)
    # 1e-5 as Google's: a batch without any prediction has loss 0, not NaN.
    denominator = tf.reduce_sum(label_weights) + 1e-5
    return numerator / denominator, per_example_loss, log_probs


def next_sentence_loss(logits, labels):
    """Mean cross-entropy of the next-sentence head.

    Args:
      logits: float Tensor of shape [batch_size, 2].
      labels: int32 Tensor of shape [batch_size] or [batch_size, 1] (0 = is next, 1 = random).

    Returns:
      (loss: float32 scalar, per_example_loss: float32 [batch_size], log_probs [batch_size, 2]).
    """
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    labels = tf.reshape(labels, [-1])
    one_hot_labels = tf.one_hot(labels, depth=2, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
    return tf.reduce_mean(per_example_loss), per_example_loss, log_probs


def metric_fn(masked_lm_example_loss, masked_lm_log_probs, masked_lm_ids, masked_lm_weights,
              next_sentence_example_loss, next_sentence_log_probs, next_sentence_labels):
    """Google's pre-training eval metrics: masked-LM accuracy and loss are weighted by
    masked_lm_weights (padding predictions do not count); next-sentence ones per example."""
    masked_lm_predictions = tf.argmax(masked_lm_log_probs, axis=-1, output_type=tf.int32)
    masked_lm_ids = tf.reshape(masked_lm_ids, [-1])
    masked_lm_weights = tf.reshape(masked_lm_weights, [-1])
    next_sentence_predictions = tf.argmax(next_sentence_log_probs, axis=-1,
                                          output_type=tf.int32)
    return {
        "masked_lm_accuracy": tf.compat.v1.metrics.accuracy(
            labels=masked_lm_ids, predictions=masked_lm_predictions, weights=masked_lm_weights),
        "masked_lm_loss": tf.compat.v1.metrics.mean(
            values=masked_lm_example_loss, weights=masked_lm_weights),
        "next_sentence_accuracy": tf.compat.v1.metrics.accuracy(
            labels=tf.reshape(next_sentence_labels, [-1]),
            predictions=next_sentence_predictions),
        "next_sentence_loss": tf.compat.v1.metrics.mean(values=next_sentence_example_loss),
    }


def init_pretraining_from_checkpoint(init_checkpoint):
    """Makes BERT and the pre-training heads in the graph initialise from `init_checkpoint`.

    BERT's variables must all be there (checkpoint_bert.init_bert_from_checkpoint); a head
    variable the checkpoint lacks (a hub module has no next-sentence head; a fine-tuned checkpoint
    may have no heads at all) stays random, with a warning.

    Args:
      init_checkpoint: checkpoint prefix, BERT directory or TF1 Hub module directory.

    Returns:
      the assignment map {checkpoint name: variable name}.
    """
    checkpoint = checkpoint_bert.resolve_init_checkpoint(init_checkpoint)
    assignment_map = dict(checkpoint_bert.init_bert_from_checkpoint(checkpoint))
    shapes = dict(tf.train.list_variables(checkpoint))
    heads = {}
    missing = []
    for var in tf.compat.v1.global_variables():
        name = var.op.name
        if not name.startswith("cls/"):
            continue
        if name not in shapes:
            missing.append(name)
        elif list(shapes[name]) != var.shape.as_list():
            raise BertTF1Error("%s: %s is %s in the checkpoint, the config implies %s"
                               % (checkpoint, name, list(shapes[name]), var.shape.as_list()))
        else:
            heads[name] = name
    if missing:
        tf.compat.v1.logging.warning("%s has no %s: initialised randomly", checkpoint,
                                     ", ".join(sorted(missing)))
    if heads:
        tf.compat.v1.train.init_from_checkpoint(checkpoint, heads)
    assignment_map.update(heads)
    return assignment_map


def model_fn_builder(bert_config, init_checkpoint, learning_rate, num_train_steps,
                     num_warmup_steps, use_tpu, use_one_hot_embeddings=False):
    """Returns the pre-training `model_fn(features, labels, mode, params)` for TPUEstimator.

    Args:
      bert_config: bert.modeling.BertConfig (or a dict / bert_config.json path).
      init_checkpoint: checkpoint prefix, BERT directory or hub module directory; None: random.
        (An Estimator resuming from its model_dir restores its own checkpoint instead.)
      learning_rate, num_train_steps, num_warmup_steps: AdamW schedule (optimization).
      use_tpu: CrossShardOptimizer and restoring from the spec's scaffold_fn, as Google's.
      use_one_hot_embeddings: one-hot embedding lookup (TPU).

    The features dict holds the FEATURE_NAMES tensors: input_ids, input_mask, segment_ids int32
    [batch, max_seq_length]; masked_lm_positions, masked_lm_ids int32 and masked_lm_weights
    float32 [batch, max_predictions_per_seq]; next_sentence_labels int32 [batch, 1].
    """

    config = checkpoint_bert.load_config(bert_config)

    def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
        missing = [name for name in FEATURE_NAMES if name not in features]
        if missing:
            raise BertTF1Error("pre-training features lack %s" % ", ".join(missing))
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        model = modeling.BertModel(
            config=config, is_training=is_training, input_ids=features["input_ids"],
            input_mask=features["input_mask"], token_type_ids=features["segment_ids"],
            use_one_hot_embeddings=use_one_hot_embeddings, scope="bert")
        mlm_logits = pretraining_heads.masked_lm_logits(
            config, model.get_sequence_output(), model.get_embedding_table(),
            features["masked_lm_positions"])
        mlm_loss, mlm_example_loss, mlm_log_probs = masked_lm_loss(
            mlm_logits, features["masked_lm_ids"], features["masked_lm_weights"])
        ns_logits = pretraining_heads.next_sentence_logits(config, model.get_pooled_output())
        ns_loss, ns_example_loss, ns_log_probs = next_sentence_loss(
            ns_logits, features["next_sentence_labels"])
        total_loss = mlm_loss + ns_loss

        scaffold_fn = None
        if init_checkpoint:
            if use_tpu:
                def tpu_scaffold():
                    init_pretraining_from_checkpoint(init_checkpoint)
                    return tf.compat.v1.train.Scaffold()

                scaffold_fn = tpu_scaffold
            else:
                init_pretraining_from_checkpoint(init_checkpoint)

        if mode == tf.estimator.ModeKeys.TRAIN:
            tf.compat.v1.add_to_collection(TRAIN_LOSS_COLLECTION, total_loss)
            train_op = optimization.create_optimizer(total_loss, learning_rate, num_train_steps,
                                                     num_warmup_steps, use_tpu)
            return tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, loss=total_loss, train_op=train_op, scaffold_fn=scaffold_fn)
        if mode == tf.estimator.ModeKeys.EVAL:
            eval_metrics = (metric_fn, [
                mlm_example_loss, mlm_log_probs, features["masked_lm_ids"],
                features["masked_lm_weights"], ns_example_loss, ns_log_probs,
                features["next_sentence_labels"]])
            return tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, loss=total_loss, eval_metrics=eval_metrics, scaffold_fn=scaffold_fn)
        raise BertTF1Error("pre-training supports TRAIN and EVAL modes only, not %s" % mode)

    return model_fn


def _name_to_features(max_seq_length, max_predictions_per_seq):
    fixed = tf.io.FixedLenFeature
    return {
        "input_ids": fixed([max_seq_length], tf.int64),
        "input_mask": fixed([max_seq_length], tf.int64),
        "segment_ids": fixed([max_seq_length], tf.int64),
        "masked_lm_positions": fixed([max_predictions_per_seq], tf.int64),
        "masked_lm_ids": fixed([max_predictions_per_seq], tf.int64),
        "masked_lm_weights": fixed([max_predictions_per_seq], tf.float32),
        "next_sentence_labels": fixed([1], tf.int64),
    }


def _decode_record(record, name_to_features):
    example = tf.io.parse_single_example(record, name_to_features)
    # tf.Example holds int64; TPUs want int32.
    for name in list(example):
        if example[name].dtype == tf.int64:
            example[name] = tf.cast(example[name], tf.int32)
    return example


def input_fn_builder(input_files, max_seq_length, max_predictions_per_seq, is_training,
                     num_cpu_threads=4):
    """Returns the TPUEstimator input_fn(params) over pre-training TFRecords (Google's pipeline).

    Training repeats and shuffles the files and the records; evaluation reads the files in order
    and repeats too (it runs a fixed number of steps, max_eval_steps). Batches are full
    (drop_remainder), as TPUs need. Call check_pretraining_data first for clear errors.
    """
    input_files = list(input_files)
    name_to_features = _name_to_features(max_seq_length, max_predictions_per_seq)

    def input_fn(params):
        batch_size = params["batch_size"]
        if is_training:
            d = tf.data.Dataset.from_tensor_slices(tf.constant(input_files))
            d = d.repeat()
            d = d.shuffle(buffer_size=len(input_files))
            cycle_length = min(num_cpu_threads, len(input_files))
            d = d.apply(tf.data.experimental.parallel_interleave(
                tf.data.TFRecordDataset, sloppy=is_training, cycle_length=cycle_length))
            d = d.shuffle(buffer_size=100)
        else:
            d = tf.data.TFRecordDataset(input_files)
            d = d.repeat()
        d = d.map(lambda record: _decode_record(record, name_to_features),
                  num_parallel_calls=num_cpu_threads)
        return d.batch(batch_size, drop_remainder=True)

    return input_fn


def read_first_record(path):
    """The first tf.train.Example of a TFRecord file as {name: list of values}, or None."""
    for record in tf.compat.v1.io.tf_record_iterator(path):
        example = tf.train.Example.FromString(record)
        values = {}
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            values[name] = list(getattr(feature, kind).value) if kind else []
        return values
    return None


def check_pretraining_data(input_files, max_seq_length, max_predictions_per_seq,
                           vocab_size=None):
    """Reads the first record of each file and checks it fits the flags, before any training.

    Only the first record of each file is read: it costs one small read per file however large
    the data, and create_pretraining_data writes every record of a file with the same lengths and
    vocabulary, so one record shows a wrong --max_seq_length / --max_predictions_per_seq. The
    vocabulary check is weaker: data made with a larger vocab.txt is caught only if that first
    record holds an id >= vocab_size (likely with 128 tokens, not certain), and data made with
    another vocab.txt of the same size cannot be told apart at all. A later out-of-range id
    fails at its embedding lookup on CPU ("indices[..] = N is not in [0, vocab_size)") but is
    read as a zero vector on GPU and TPU, without an error.

    Args:
      input_files: list of TFRecord paths (local, gs://, s3://).
      max_seq_length, max_predictions_per_seq: the run's flags.
      vocab_size: the model config's vocab_size, or None to skip the token-id check.

    Raises:
      BertTF1Error naming the file when a file is empty or not a TFRecord of
      create_pretraining_data's features, when its sequence length or number of masked positions
      disagrees with --max_seq_length / --max_predictions_per_seq, or when its first record holds
      token ids outside the model's vocabulary (data made with another vocab.txt).
    """
    for path in input_files:
        try:
            first = read_first_record(path)
        except (tf.errors.DataLossError, tf.errors.NotFoundError) as error:
            raise BertTF1Error("%s: not a TFRecord file (%s)" % (path, error.message))
        if first is None:
            raise BertTF1Error("%s: no records (an empty pre-training file)" % path)
        missing = [name for name in FEATURE_NAMES if name not in first]
        if missing:
            raise BertTF1Error("%s: records lack feature%s %s (expected create_pretraining_data"
                               ".py's output)" % (path, "s" if len(missing) > 1 else "",
                                                  ", ".join(missing)))
        length = len(first["input_ids"])
        if length != max_seq_length:
            raise BertTF1Error(
                "%s: records have input_ids of length %d but --max_seq_length=%d; pass "
                "--max_seq_length=%d (the value given to create_pretraining_data.py)"
                % (path, length, max_seq_length, length))
        predictions = len(first["masked_lm_positions"])
        if predictions != max_predictions_per_seq:
            raise BertTF1Error(
                "%s: records have %d masked_lm_positions but --max_predictions_per_seq=%d; "
                "pass --max_predictions_per_seq=%d (the value given to "
                "create_pretraining_data.py)"
                % (path, predictions, max_predictions_per_seq, predictions))
        if vocab_size is not None:
            largest = max(first["input_ids"] + first["masked_lm_ids"])
            if largest >= vocab_size:
                raise BertTF1Error(
                    "%s: token id %d is outside the model's vocabulary (its config has vocab_size "
                    "%d): the data was made with another vocab.txt; run "
                    "create_pretraining_data.py with the model's vocab.txt"
                    % (path, largest, vocab_size))


class PretrainingSettings(object):
    """run_pretraining's settings: google-research/bert's flags (same names and defaults) plus
    init_hub_module, keep_checkpoint_max, log_every_n_steps and seed.

    >>> PretrainingSettings(input_file="x.tfrecord", output_dir="run").max_seq_length
    128
    """

    DEFAULTS = collections.OrderedDict([
        ("bert_config_file", None), ("input_file", None), ("output_dir", None),
        ("init_checkpoint", None), ("init_hub_module", None), ("max_seq_length", 128),
        ("max_predictions_per_seq", 20), ("do_train", False), ("do_eval", False),
        ("train_batch_size", 32), ("eval_batch_size", 8), ("learning_rate", 5e-5),
        ("num_train_steps", 100000), ("num_warmup_steps", 10000),
        ("save_checkpoints_steps", 1000), ("iterations_per_loop", 1000),
        ("max_eval_steps", 100), ("use_tpu", False), ("tpu_name", None), ("tpu_zone", None),
        ("gcp_project", None), ("master", None), ("num_tpu_cores", 8),
        ("keep_checkpoint_max", 5), ("log_every_n_steps", 100), ("seed", None),
    ])

    def __init__(self, **values):
        unknown = sorted(set(values) - set(self.DEFAULTS))
        if unknown:
            raise BertTF1Error("pre-training settings: unknown %s (known: %s)"
                               % (", ".join(unknown), ", ".join(self.DEFAULTS)))
        for name, default in self.DEFAULTS.items():
            setattr(self, name, values.get(name, default))

    @classmethod
    def from_dict(cls, values):
        return cls(**{k: v for k, v in values.items() if k in cls.DEFAULTS})

    def to_dict(self):
        return collections.OrderedDict((name, getattr(self, name)) for name in self.DEFAULTS)


def resolve_bert_config(settings):
    """(BertConfig, init checkpoint prefix or None) for the settings, checked against each other.

    --bert_config_file is required unless --init_hub_module (config inferred from the module) or
    --init_checkpoint names a BERT directory or hub module directory.
    """

    if settings.init_hub_module and settings.init_checkpoint:
        raise BertTF1Error("give either --init_checkpoint or --init_hub_module, not both")
    init = settings.init_hub_module or settings.init_checkpoint
    if settings.init_hub_module:
        checkpoint = checkpoint_bert.hub_module_variables_path(settings.init_hub_module)
    elif init:
        checkpoint = checkpoint_bert.resolve_init_checkpoint(init)
    else:
        checkpoint = None
    config_file = settings.bert_config_file
    if config_file:
        config = bert_dir.load_bert_config(config_file)
    elif init and checkpoint_bert.is_hub_module_dir(init):
        config = checkpoint_bert.infer_bert_config_from_hub_module(init)
        config_file = "%s (inferred)" % init
    elif init and tf.io.gfile.isdir(init) and \
            tf.io.gfile.exists(os.path.join(init, bert_dir.CONFIG_NAME)):
        config_file = os.path.join(init, bert_dir.CONFIG_NAME)
        config = bert_dir.load_bert_config(config_file)
    else:
        raise BertTF1Error("--bert_config_file is required (unless --init_hub_module or "
                           "--init_checkpoint names a BERT or hub module directory)")
    if settings.max_seq_length > config.max_position_embeddings:
        raise BertTF1Error("--max_seq_length %d is longer than %s allows "
                           "(max_position_embeddings %d)" % (
                               settings.max_seq_length, config_file,
                               config.max_position_embeddings))
    if checkpoint:
        shapes = dict(checkpoint_bert._checkpoint_shapes(checkpoint))  # pylint: disable=W0212
        bert_dir.check_checkpoint_shapes(shapes, bert_dir.expected_encoder_shapes(config),
                                         checkpoint, config_file)
    return config, checkpoint


def _check_settings(settings):
    if not settings.do_train and not settings.do_eval:
        raise BertTF1Error("at least one of --do_train or --do_eval must be True")
    if not settings.input_file:
        raise BertTF1Error("--input_file is required (create_pretraining_data.py's TFRecords)")
    if not settings.output_dir:
        raise BertTF1Error("--output_dir is required")
    for name in ("max_seq_length", "max_predictions_per_seq", "train_batch_size",
                 "eval_batch_size", "max_eval_steps", "iterations_per_loop"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BertTF1Error("--%s: expected a positive integer, found %r" % (name, value))


def run_pretraining(settings):
    """Google's run_pretraining.py main() as a function.

    Args:
      settings: PretrainingSettings or a dict of its fields.

    Returns:
      dict with output_dir, input_files, train_loss_history (list of (step, loss); empty without
      do_train) and eval_results (dict with masked_lm_accuracy, masked_lm_loss,
      next_sentence_accuracy, next_sentence_loss, loss, global_step; None without do_eval), also
      written to output_dir/eval_results.txt (Google's format) and eval_results.json.

    Raises:
      BertTF1Error: bad settings, config / checkpoint / data disagreeing.
    """

    compat.setup_tf1()
    if isinstance(settings, dict):
        settings = PretrainingSettings.from_dict(settings)
    _check_settings(settings)
    input_files = pretraining_data.expand_input_files(settings.input_file)
    config, checkpoint = resolve_bert_config(settings)
    check_pretraining_data(input_files, settings.max_seq_length,
                           settings.max_predictions_per_seq, config.vocab_size)
    # One live run per output_dir (two would overwrite each other's checkpoints), and a damaged
    # newest checkpoint is set aside before Estimator resumes from it, as for fine-tuning.
    with run_lock.locked_output_dir(settings.output_dir, run_id=""):
        checkpoint_integrity.ensure_intact(settings.output_dir)
        return _run_pretraining_locked(settings, input_files, config, checkpoint)


def _run_pretraining_locked(settings, input_files, config, checkpoint):
    """run_pretraining's training and evaluation, under output_dir's lock."""
    run_config = estimators.make_run_config(
        settings.output_dir, use_tpu=settings.use_tpu, tpu_name=settings.tpu_name,
        tpu_zone=settings.tpu_zone, gcp_project=settings.gcp_project, master=settings.master,
        save_checkpoints_steps=settings.save_checkpoints_steps,
        iterations_per_loop=settings.iterations_per_loop, num_tpu_cores=settings.num_tpu_cores,
        keep_checkpoint_max=settings.keep_checkpoint_max, seed=settings.seed,
        log_step_count_steps=settings.log_every_n_steps)
    model_fn = model_fn_builder(
        config, checkpoint, settings.learning_rate, settings.num_train_steps,
        settings.num_warmup_steps, settings.use_tpu, use_one_hot_embeddings=settings.use_tpu)
    estimator = estimators.make_estimator(model_fn, run_config, settings.use_tpu,
                                       settings.train_batch_size, settings.eval_batch_size,
                                       settings.eval_batch_size)
    produced = {"output_dir": settings.output_dir, "input_files": input_files,
                "train_loss_history": [], "eval_results": None}
    if settings.do_train:
        tf.compat.v1.logging.info("pre-training %d steps, batch size %d, on %d file(s)",
                                  settings.num_train_steps, settings.train_batch_size,
                                  len(input_files))
        hook = progress.progress_hook(settings.num_train_steps, settings.log_every_n_steps,
                                     settings.use_tpu)
        estimator.train(input_fn=input_fn_builder(input_files, settings.max_seq_length,
                                                  settings.max_predictions_per_seq, True),
                        max_steps=settings.num_train_steps, hooks=[hook])
        produced["train_loss_history"] = hook.history
    if settings.do_eval:
        result = estimator.evaluate(
            input_fn=input_fn_builder(input_files, settings.max_seq_length,
                                      settings.max_predictions_per_seq, False),
            steps=settings.max_eval_steps)
        result = {key: value for key, value in result.items()}
        outputs.write_eval_results(settings.output_dir, result)
        produced["eval_results"] = result
    return produced
