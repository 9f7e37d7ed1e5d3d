"""The fine-tune / evaluate / predict pipeline behind run_classifier_hub.py.

Flags become a `ClassifierRunSettings`; `run_classifier(settings)` then goes data -> features
(TFRecords in output_dir, also kept in the shared classifier.feature_cache) -> Estimator ->
outputs. Differences from google-research/bert's run_classifier(_with_tfhub).py, each on
purpose:
  * training examples are shuffled (seeded) before they are written: Google's 100-record shuffle
    buffer leaves label-sorted data such as aclImdb's pos/ then neg/ folders nearly sorted;
  * on TPU, eval and predict are padded with PaddingInputExample to full batches and every metric
    is weighted by is_real_example, so results are exact (Google's hub script drops the
    remainder and calls its own result "slightly WRONG");
  * predict writes exactly one line per real example, plus predictions.jsonl with label names;
  * off TPU, every batch is padded only to its longest example rounded up to a multiple of 8
    (--dynamic_padding, default on; inputs.trim_batch), optionally batching examples of similar
    length together (--length_buckets or --train_length_sort, train, both opt-in as they change
    the batches; eval sorts by length instead, --eval_length_sort,
    default on, with unchanged batch sizes, so every eval_results value is the unsorted run's;
    predict sorts the same way, --predict_length_sort, default on, and writes its predictions
    back in input order): same outputs, far fewer tokens computed on short texts; runs of 200+
    training steps also run BERT on two length-sorted halves of each batch
    (--train_length_splits, classifier.length_split: same examples and loss).
    A TPU keeps static max_seq_length shapes;
  * results, predictions and the run manifest are written atomically, locally or on gs:// / s3://.
"""
import os
import random
import time

import tensorflow as tf

from bert_tf1 import compat, data
from bert_tf1.classifier import data_summary, feature_cache, inputs, model_fn, results_table
from bert_tf1.classifier import features as features_lib
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import checkpoint_bert, heads, hub_bert, validation
from bert_tf1.modeling import tokenization as fast_tokenization
from bert_tf1.runtime import (
    checkpoint_integrity,
    cluster,
    distribution,
    estimators,
    exact_resume,
    multi_worker,
    outputs,
    progress,
    run_contract,
    run_lock,
    step_signature,
    workers,
)

# Tasks whose GLUE metric is Matthews correlation.
MCC_TASKS = ("cola",)


class ClassifierRunSettings(object):
    """Everything a classification run needs; names are google-research/bert's flag names.

    Build it with ClassifierRunSettings(**values) (unknown names raise) and keep it plain, so it
    serialises into the run manifest as is.
    """

    DEFAULTS = dict(
        task_name=None, data_dir=None, output_dir=None,
        bert_hub_module_handle=None, init_checkpoint=None, bert_config_file=None,
        vocab_file=None, do_lower_case=True,
        max_seq_length=128, do_train=False, do_eval=False, do_predict=False,
        train_batch_size=32, eval_batch_size=8, predict_batch_size=8,
        learning_rate=5e-5, num_train_epochs=3.0, warmup_proportion=0.1,
        save_checkpoints_steps=1000, iterations_per_loop=1000, keep_checkpoint_max=5,
        use_tpu=False, tpu_name=None, tpu_zone=None, gcp_project=None, master=None,
        num_tpu_cores=8, tpu_job_name=None,
        head="pooled", head_dropout=0.1, truncation="head", seed=0,
        train_examples=0, eval_examples=0, predict_examples=0, dev_fraction=0.1,
        eval_split="dev", predict_split="test", task_options=None,
        log_every_n_steps=100, show_progress=True, pad_batches=False,
        distribution_strategy="none", num_gpus=0, fine_tune_top_layers=0,
        deterministic=False, tokenizer="auto", export_dir=None, overwrite_output_dir=False,
        xla_jit=False, intra_op_threads=0, inter_op_threads=0,
        dynamic_padding=True, length_buckets=None, feature_workers=0, feature_cache_dir=None,
        eval_length_sort=True, predict_length_sort=True, train_length_sort=False,
        train_length_splits=0,
    )

    def __init__(self, **values):
        unknown = sorted(set(values) - set(self.DEFAULTS))
        if unknown:
            raise BertTF1Error("unknown run setting(s): %s" % ", ".join(unknown))
        for name, default in self.DEFAULTS.items():
            setattr(self, name, values.get(name, default))
        self.task_options = dict(self.task_options or {})

    def to_dict(self):
        return {name: getattr(self, name) for name in self.DEFAULTS}


def validate_settings(s):
    """Checks flag combinations before anything is read or written."""
    if not (s.do_train or s.do_eval or s.do_predict):
        raise BertTF1Error("at least one of --do_train, --do_eval or --do_predict must be true")
    for name in ("task_name", "data_dir", "output_dir"):
        if not getattr(s, name):
            raise BertTF1Error("--%s is required" % name)
    if not s.bert_hub_module_handle and not (s.init_checkpoint or s.bert_config_file):
        raise BertTF1Error("give --bert_hub_module_handle (a TF1 Hub module) or "
                           "--init_checkpoint with --bert_config_file and --vocab_file")
    if s.bert_hub_module_handle and s.bert_config_file:
        raise BertTF1Error("give either --bert_hub_module_handle or --bert_config_file, not both "
                           "(--init_checkpoint may go with either: with a hub module it "
                           "initialises the variables it holds, e.g. a fine-tuned classifier)")
    if not s.bert_hub_module_handle and not s.vocab_file:
        raise BertTF1Error("a checkpoint run needs --vocab_file")
    if s.fine_tune_top_layers and not heads.get_head(s.head).trains_encoder:
        raise BertTF1Error("--fine_tune_top_layers does not combine with --head=%s "
                           "(which trains no encoder layer)" % s.head)
    for name in ("max_seq_length", "train_batch_size", "eval_batch_size", "predict_batch_size"):
        if getattr(s, name) < 1:
            raise BertTF1Error("--%s must be a positive integer, got %r" % (name, getattr(s, name)))
    for name in ("intra_op_threads", "inter_op_threads"):
        if getattr(s, name) < 0:
            raise BertTF1Error("--%s must be 0 (TensorFlow's choice) or a positive number of "
                               "threads, got %r" % (name, getattr(s, name)))
    if s.max_seq_length < 3:
        raise BertTF1Error("--max_seq_length must be at least 3 ([CLS] x [SEP]), got %d"
                           % s.max_seq_length)
    buckets = inputs.parse_length_buckets(s.length_buckets, s.max_seq_length)
    if buckets and (s.use_tpu or not s.dynamic_padding):
        raise BertTF1Error("--length_buckets needs dynamic padding: give --dynamic_padding "
                           "(the default) and no --use_tpu (TPUs need static shapes)")
    if s.train_length_sort and (s.use_tpu or not s.dynamic_padding or buckets):
        raise BertTF1Error("--train_length_sort needs dynamic padding (--dynamic_padding, the "
                           "default, and no --use_tpu) and replaces --length_buckets: give one "
                           "of the two")
    if s.train_length_splits < 0:
        raise BertTF1Error("--train_length_splits must be 0 (automatic) or a positive number "
                           "of parts, got %r" % s.train_length_splits)
    if s.train_length_splits > 1 and (s.use_tpu or not s.dynamic_padding):
        raise BertTF1Error("--train_length_splits=%d needs dynamic padding (--dynamic_padding, "
                           "the default, and no --use_tpu): give --train_length_splits=1 or "
                           "leave it 0" % s.train_length_splits)
    if not 0 <= s.warmup_proportion <= 1:
        raise BertTF1Error("--warmup_proportion must be in [0, 1], got %r" % s.warmup_proportion)
    if s.do_train and s.num_train_epochs <= 0:
        raise BertTF1Error("--num_train_epochs must be positive, got %r" % s.num_train_epochs)
    if s.use_tpu and s.distribution_strategy != "none":
        raise BertTF1Error("--use_tpu and --distribution_strategy=%s do not combine (a TPU "
                           "runs TPUEstimator; leave --distribution_strategy=none)"
                           % s.distribution_strategy)


def cluster_task(s):
    """This process's cluster.ClusterTask under --distribution_strategy=multi_worker, else None.

    Checked before anything is read or written: TF_CONFIG itself (naming the bad field), and
    that the job makes sense for these flags.
    """
    if s.distribution_strategy != "multi_worker":
        return None
    task = cluster.read_tf_config()
    if not s.do_train:
        raise BertTF1Error("--distribution_strategy=multi_worker is for training (--do_train); "
                           "evaluate or predict with a trained run without it")
    if task.has_evaluator and not s.do_eval:
        raise BertTF1Error("TF_CONFIG field cluster.evaluator: the cluster has an evaluator "
                           "task but --do_eval is false (drop the evaluator or add --do_eval)")
    return task


def task_type_for(spec, label_list):
    """Which metric family a task gets: regression, mcc (CoLA), binary or multiclass."""
    if spec.is_regression:
        return "regression"
    if spec.name in MCC_TASKS:
        return "mcc"
    return "binary" if len(label_list) == 2 else "multiclass"


def hub_max_position_embeddings(handle):
    """max_position_embeddings of a local hub module, read from its variables (None if unknown)."""
    if hub_bert.is_remote_url(handle):
        return None
    variables = os.path.join(handle, "variables", "variables")
    try:
        shapes = dict(tf.train.list_variables(variables))
    except (tf.errors.NotFoundError, ValueError):
        return None
    shape = shapes.get("bert/embeddings/position_embeddings")
    return shape[0] if shape else None


def bert_source_from_settings(s):
    """The BertSource of the flags. On a TPU a checkpoint BERT looks embeddings up by one-hot
    matmul (use_one_hot_embeddings=True), as google-research/bert's scripts do with --use_tpu:
    gathers are slow on TPUs."""
    return checkpoint_bert.BertSource.from_flags(
        s.bert_hub_module_handle, s.bert_config_file, s.init_checkpoint,
        use_one_hot_embeddings=s.use_tpu)


def make_tokenizer(s):
    """The tokenizer of the hub module's tokenization_info, or of --vocab_file.

    --tokenizer auto|fast|python: FullTokenizer's WordPieces from HuggingFace tokenizers where
    they are provably the same (bert_tf1.modeling.tokenization; ~5x faster feature conversion, see
    benchmarks/classifier_features_speed.py), or bert's FullTokenizer itself. The features are
    identical either way.
    """

    if s.bert_hub_module_handle:
        python_tokenizer = hub_bert.create_tokenizer_from_hub_module(s.bert_hub_module_handle)
    else:
        if not tf.io.gfile.exists(s.vocab_file):
            raise BertTF1Error("--vocab_file %s: file not found" % s.vocab_file)
        python_tokenizer = fast_tokenization.full_tokenizer(s.vocab_file, s.do_lower_case)
    return fast_tokenization.wrap_tokenizer(s.tokenizer, python_tokenizer)


def check_max_seq_length(s, bert_source):
    if s.bert_hub_module_handle:
        limit, source = hub_max_position_embeddings(s.bert_hub_module_handle), \
            s.bert_hub_module_handle
    else:
        limit = bert_source.bert_config.max_position_embeddings
        source = s.bert_config_file or s.init_checkpoint
    if limit is not None and s.max_seq_length > limit:
        raise BertTF1Error("--max_seq_length %d is longer than the model's "
                           "max_position_embeddings %d (%s)" % (s.max_seq_length, limit, source))


def load_splits(s, spec):
    """Returns {"train"|"eval"|"predict": examples} for the actions requested.

    A task without a dev split (imdb, quora), or whose dev file/folder is optional and absent
    from data_dir (a flat spam/ + ham/ or civil/ + uncivil/ folder, a csv task without dev.csv),
    gets a stratified, seeded dev split carved from train with --dev_fraction, so train and dev
    never overlap and the same seed carves the same dev split in a later eval-only run;
    --train/eval/predict_examples sample N examples with the seed.
    """
    options = dict(s.task_options)
    wanted = {}
    carve_dev = not data.has_split(spec, s.data_dir, "dev", **options)
    need_train = s.do_train or (s.do_eval and s.eval_split == "dev" and carve_dev)
    if need_train:
        wanted["train"] = data.load_examples(spec, s.data_dir, "train", **options)
    if s.do_eval:
        if s.eval_split == "dev" and carve_dev:
            stratify = not spec.is_regression
            wanted["train"], wanted["eval"] = data.stratified_split(
                wanted["train"], dev_fraction=s.dev_fraction, seed=s.seed, stratify=stratify,
                source="carving dev with --dev_fraction from the " + data.split_source(
                    spec, s.data_dir, "train", **options))
            tf.compat.v1.logging.info(
                "task %s: no dev split in %s; carved %d dev examples from train (dev_fraction "
                "%g, %sseed %d), %d left for training", spec.name, s.data_dir,
                len(wanted["eval"]), s.dev_fraction, "stratified, " if stratify else "", s.seed,
                len(wanted["train"]))
        else:
            wanted["eval"] = data.load_examples(spec, s.data_dir, s.eval_split, **options)
    if s.do_predict:
        if s.eval_examples and not s.predict_examples:
            tf.compat.v1.logging.info(
                "--do_predict predicts the whole %s split: --eval_examples=%d limits evaluation "
                "only; pass --predict_examples=N to predict N examples", s.predict_split,
                s.eval_examples)
        if s.predict_split == "dev" and carve_dev:
            if "eval" not in wanted or s.eval_split != "dev":
                raise BertTF1Error("task %s has no dev split in %s: --predict_split=dev "
                                   "predicts the dev split carved from train, so it needs "
                                   "--do_eval with --eval_split=dev" % (spec.name, s.data_dir))
            wanted["predict"] = list(wanted["eval"])  # the same carved examples
        else:
            wanted["predict"] = data.load_examples(spec, s.data_dir, s.predict_split, **options)
    if not s.do_train:
        wanted.pop("train", None)
    split_of = {"train": "train", "eval": s.eval_split, "predict": s.predict_split}
    for part, limit in (("train", s.train_examples), ("eval", s.eval_examples),
                        ("predict", s.predict_examples)):
        if part in wanted and limit:
            labelled = all(e.label is not None for e in wanted[part])
            source = "--%s_examples=%d from the %s" % (part, limit, data.split_source(
                spec, s.data_dir, split_of[part], **options))
            wanted[part] = data.sample_examples(wanted[part], limit, seed=s.seed,
                                                stratify=labelled and not spec.is_regression,
                                                source=source)
    for part, examples in wanted.items():
        if not examples:
            raise BertTF1Error("task %s: the %s split in %s holds no examples"
                               % (spec.name, part, s.data_dir))
    if s.do_eval and any(e.label is None for e in wanted["eval"]):
        raise BertTF1Error("task %s: --do_eval needs labels, but the '%s' split has none (use "
                           "--eval_split=dev or a labelled split)" % (spec.name, s.eval_split))
    return wanted


# Parts of a training batch BERT runs on by default (classifier.length_split), and from how
# many training steps: on short texts 2 parts gave +28% (tiny BERT) and +31% (MiniLM) examples/s
# and beat 3 and 4, whose extra BERT calls cost more than they save; the second BERT graph adds
# ~5.6 s (tiny) and ~10 s (MiniLM) to start-up, repaid after ~190 and ~30 steps
# (docs/speed.md). Shorter runs would end later, so they run BERT once per batch.
DEFAULT_TRAIN_LENGTH_SPLITS = 2
TRAIN_LENGTH_SPLITS_MIN_STEPS = 200


def train_length_splits(s, num_train_steps):
    """How many length-sorted parts BERT runs each training batch in (--train_length_splits).

    An explicit --train_length_splits wins. 0 (the default) means DEFAULT_TRAIN_LENGTH_SPLITS
    for a run of at least TRAIN_LENGTH_SPLITS_MIN_STEPS steps with dynamic padding and
    Google's batches, and 1 otherwise: --length_buckets / --train_length_sort batches are
    already of similar length, --use_tpu and --nodynamic_padding pad to max_seq_length.
    """
    if s.train_length_splits:
        return s.train_length_splits
    regrouped = s.train_length_sort or inputs.parse_length_buckets(s.length_buckets,
                                                                   s.max_seq_length)
    if s.use_tpu or not s.dynamic_padding or regrouped or \
            num_train_steps < TRAIN_LENGTH_SPLITS_MIN_STEPS:
        return 1
    return DEFAULT_TRAIN_LENGTH_SPLITS


def graph_bert_source(s, bert_source):
    """The BertSource the run's graph is built from (an export rebuilds the same graph).

    hub.Module cannot be built under tf.distribute, and the dropout ops a module imports keep
    the op seeds (0, 0) they were exported with, so the graph seed cannot reach them and two
    same-seed runs differ. Both cases load the module's variables into a BertModel instead
    (same weights; its dropout is seeded from the graph seed). A later run on the same
    output_dir (eval or predict after a distributed training, a resume) must build the graph
    the checkpoint there was saved from, or restoring fails on "module/bert/..." names.
    """
    if not bert_source.uses_hub_module:
        return bert_source
    check_checkpoint_graph(s, bert_source)
    reason = "deterministic" if s.deterministic else s.distribution_strategy
    if reason == "none" and trained_as_bert_model(s.output_dir):
        reason = "the checkpoint in %s (trained with BERT built as BertModel)" % s.output_dir
    if reason != "none":
        tf.compat.v1.logging.info("%s: using the hub module's variables as a checkpoint", reason)
        return bert_source.as_checkpoint_source(use_one_hot_embeddings=s.use_tpu)
    return bert_source


def trained_as_bert_model(output_dir):
    """True when output_dir's latest checkpoint names the encoder "bert/..." (a BertModel graph:
    checkpoint or distributed/deterministic run), not "module/bert/..." (a hub.Module graph)."""
    return _checkpoint_graph(output_dir) == "bert_model"


def _checkpoint_graph(output_dir):
    """"bert_model", "hub_module" (encoder saved as module/bert/...) or None (no checkpoint)."""
    if not output_dir or not tf.io.gfile.isdir(output_dir):
        return None
    checkpoint = tf.train.latest_checkpoint(output_dir)
    if not checkpoint:
        return None
    names = set(name for name, _ in tf.train.list_variables(checkpoint))
    if "bert/embeddings/word_embeddings" in names:
        return "bert_model"
    return "hub_module" if "module/bert/embeddings/word_embeddings" in names else None


def check_checkpoint_graph(s, bert_source):
    """One error, before anything is written, when output_dir holds a checkpoint of a hub.Module
    graph ("module/bert/...") but this run must build BertModel (a tf.distribute strategy or
    --deterministic, see graph_bert_source): restoring would die with a raw NotFoundError."""
    if not bert_source.uses_hub_module or not (s.deterministic or
                                               s.distribution_strategy != "none"):
        return
    if _checkpoint_graph(s.output_dir) != "hub_module":
        return
    flag = "--deterministic" if s.deterministic else \
        "--distribution_strategy=%s" % s.distribution_strategy
    raise BertTF1Error(
        "%s holds a checkpoint of a run that built the hub module as hub.Module (variables "
        "module/bert/...), but %s builds BERT as BertModel (bert/...), so it cannot restore "
        "that checkpoint: rerun without %s (as that run was trained), or give another "
        "--output_dir" % (s.output_dir, flag, flag))


def build_estimator(s, bert_source, num_labels, label_list, task_type, num_train_steps,
                    num_warmup_steps):
    """TPUEstimator (TPU, or CPU/GPU off TPU), or an Estimator under a tf.distribute strategy.

    Returns (estimator, train_batch_size_per_input_fn): under MirroredStrategy the training
    input_fn yields per-replica batches; TPUEstimator hands each input_fn its own size.
    """
    distributed = s.distribution_strategy != "none"
    bert_source = graph_bert_source(s, bert_source)
    splits = train_length_splits(s, num_train_steps) if s.do_train else 1
    if splits > 1:
        tf.compat.v1.logging.info("BERT runs each training batch in %d parts of length-sorted "
                                  "examples, each padded to its own longest "
                                  "(--train_length_splits=1 turns it off)", splits)
    fn = model_fn.model_fn_builder(
        num_labels=num_labels, learning_rate=s.learning_rate, num_train_steps=num_train_steps,
        num_warmup_steps=num_warmup_steps, use_tpu=s.use_tpu, bert_hub_module_handle=None,
        task_type=task_type, label_names=None if task_type == "regression" else label_list,
        head=s.head, head_dropout=s.head_dropout, for_tpu_estimator=not distributed,
        bert_source=bert_source, fine_tune_top_layers=s.fine_tune_top_layers or None,
        init_checkpoint=s.init_checkpoint, train_length_splits=splits)
    if s.deterministic:  # dropout masks a resumed run reproduces (runtime.exact_resume)
        fn = exact_resume.seeded_dropout_model_fn(fn, s.seed)
    if distributed:
        if s.use_tpu:
            raise BertTF1Error("--use_tpu and --distribution_strategy=%s do not combine"
                               % s.distribution_strategy)
        strategy = distribution.make_strategy(s.distribution_strategy, s.num_gpus)
        estimator = distribution.make_distributed_estimator(
            fn, s.output_dir, strategy, s.train_batch_size, s.eval_batch_size,
            s.predict_batch_size, save_checkpoints_steps=s.save_checkpoints_steps,
            keep_checkpoint_max=s.keep_checkpoint_max, seed=s.seed,
            log_step_count_steps=s.log_every_n_steps,
            session_config=estimators.session_config(s.xla_jit, s.intra_op_threads,
                                                     s.inter_op_threads))
        return estimator, estimator.params["train_batch_size_per_replica"]
    run_config = estimators.make_run_config(
        s.output_dir, use_tpu=s.use_tpu, tpu_name=s.tpu_name, tpu_zone=s.tpu_zone,
        gcp_project=s.gcp_project, master=s.master,
        save_checkpoints_steps=s.save_checkpoints_steps,
        iterations_per_loop=s.iterations_per_loop, num_tpu_cores=s.num_tpu_cores,
        tpu_job_name=s.tpu_job_name,
        keep_checkpoint_max=s.keep_checkpoint_max, seed=s.seed,
        log_step_count_steps=s.log_every_n_steps,
        session_config=estimators.session_config(s.xla_jit, s.intra_op_threads,
                                                  s.inter_op_threads))
    return estimators.make_estimator(fn, run_config, s.use_tpu, s.train_batch_size,
                                  s.eval_batch_size, s.predict_batch_size), None


# Variables of each head besides BERT (classifier.output_layer): what a run that does not train
# must restore from a checkpoint, or it predicts with a random head.
HEAD_VARIABLES = ("output_weights", "output_bias")
FROZEN_MLP_VARIABLES = ("head_hidden/kernel", "head_hidden/bias")


def check_trained_model(s, label_list):
    """Stops a run that would silently use a trained model with the wrong head or labels.

    A fine-tuned model is restored from output_dir (a checkpoint there: resume, or eval/predict
    of the trained run; check_run_contract compares its manifest with the flags first) or,
    without training, from --init_checkpoint; when the run manifest beside that checkpoint
    disagrees with the flags on head, label list or max_seq_length, predictions would be
    silently wrong (e.g. a --head=mean model read as pooled gives ~1/N for every class), so that
    is one BertTF1Error naming each change (trained -> given). --init_checkpoint with
    --do_train is fine-tuning from another run (e.g. MNLI -> RTE): changes are only logged.
    A run that does not train must restore its head from somewhere: no checkpoint in output_dir
    and an --init_checkpoint without the head is an error too.
    """
    resumes = tf.train.latest_checkpoint(s.output_dir) if tf.io.gfile.isdir(s.output_dir) \
        else None
    if s.init_checkpoint and resumes:
        # Estimator restores model_dir's checkpoint over any initialisation: say so.
        tf.compat.v1.logging.warning(
            "--init_checkpoint %s is not used: %s already holds %s, which this run %s; give "
            "another --output_dir to start from --init_checkpoint", s.init_checkpoint,
            s.output_dir, resumes, "resumes from" if s.do_train else "evaluates/predicts with")
    if s.init_checkpoint and not resumes:
        checkpoint = checkpoint_bert.resolve_init_checkpoint(s.init_checkpoint)
        # Read back in full: a same-size damaged copy passes validation's size check and
        # would die at restore with a raw DataLossError.
        problem = checkpoint_integrity.checkpoint_problem(checkpoint)
        if problem:
            raise BertTF1Error("--init_checkpoint %s does not read back (%s); copy or "
                               "download it again" % (s.init_checkpoint, problem))
        directory = os.path.dirname(checkpoint)
        manifest = outputs.read_manifest(directory)
        found = run_contract.shape_changes(manifest, s.to_dict(), label_list) if manifest \
            else []
        if found and not s.do_train:
            raise BertTF1Error("the trained model in %s does not match this run: %s (give the "
                               "flags it was trained with; see %s)" % (
                                   directory, "; ".join(found),
                                   os.path.join(directory, outputs.MANIFEST_JSON)))
        if found:
            tf.compat.v1.logging.warning("--init_checkpoint from %s, fine-tuned further: %s",
                                         directory, "; ".join(found))
    if s.do_train or resumes:
        return
    needed = HEAD_VARIABLES + (FROZEN_MLP_VARIABLES if s.head == "frozen_mlp" else ())
    if not s.init_checkpoint:
        raise BertTF1Error("--do_eval/--do_predict without --do_train: %s holds no checkpoint "
                           "and no --init_checkpoint is given, so the classifier head (%s) would "
                           "be random; point --output_dir at the trained run or pass "
                           "--init_checkpoint=<its model.ckpt-N>" % (s.output_dir,
                                                                     ", ".join(needed)))
    checkpoint = checkpoint_bert.resolve_init_checkpoint(s.init_checkpoint)
    held = set(name for name, _ in tf.train.list_variables(checkpoint))
    missing = [name for name in needed if name not in held]
    if missing:
        raise BertTF1Error("--do_eval/--do_predict without --do_train: %s holds no checkpoint "
                           "and --init_checkpoint %s lacks %s, so the classifier head would be "
                           "random; pass the fine-tuned run's checkpoint" % (
                               s.output_dir, checkpoint, ", ".join(missing)))


def _trained_labels(s):
    """(directory, labels) of the trained run whose manifest this run would restore from."""
    directories = [s.output_dir]
    if s.init_checkpoint:
        directories.append(os.path.dirname(s.init_checkpoint.rstrip("/")))
    for directory in directories:
        manifest = outputs.read_manifest(directory) if directory and \
            tf.io.gfile.isdir(directory) else None
        labels = ((manifest or {}).get("task_spec") or {}).get("labels")
        if isinstance(labels, list):
            return directory, labels
    return None, None


def resolve_task_for_run(s):
    """data.resolve_task for the run; a run that does not train and cannot infer the label list
    (no train split in data_dir) is told to pass --label_list, with the trained run's labels
    when its manifest is found."""
    try:
        return data.resolve_task(s.task_name, s.data_dir, **s.task_options)
    except BertTF1Error as error:
        registered = data.tasks.find_task(s.task_name)
        if s.do_train or "labels" in s.task_options or registered is None or \
                registered.labels is not None:
            raise
        directory, labels = _trained_labels(s)
        hint = ("the trained run in %s was trained with --label_list=%s" % (
            directory, ",".join(labels))) if labels else \
            "give the labels in the order the model was trained with"
        raise BertTF1Error("%s; an --do_eval/--do_predict run without --do_train needs the "
                           "label list: pass --label_list (%s)" % (error, hint))


def check_run_contract(s, label_list, splits, spec=None):
    """Output_dir's contract before anything is written: one error naming what changed since
    the run already there (or, with --overwrite_output_dir, that run cleared); returns the
    training data's fingerprint for the manifest (None when the run does not train)."""
    train_sha = run_contract.examples_fingerprint(splits["train"]) if "train" in splits \
        else None
    # An eval-only run carving dev from train must carve it as the training run did.
    carved_dev = bool(spec) and s.do_eval and s.eval_split == "dev" and \
        not data.has_split(spec, s.data_dir, "dev", **dict(s.task_options))
    run_contract.check_rerun(s.output_dir, s.to_dict(), label_list, train_sha,
                             overwrite=s.overwrite_output_dir, carved_dev=carved_dev)
    return train_sha


def resume_input_skip(s):
    """Training records the restored checkpoint already consumed (0 for a fresh run)."""
    step = checkpoint_integrity.checkpoint_step(tf.train.latest_checkpoint(s.output_dir))
    if step:
        tf.compat.v1.logging.info("resuming at global step %d: the input skips the %d training "
                                  "records it consumed", step,
                                  exact_resume.examples_consumed(step, s.train_batch_size))
    return exact_resume.examples_consumed(step, s.train_batch_size)


def make_progress_hook(s, num_train_steps):
    """The steps/s + ETA hook; on a TPU it reads global_step only (the loss is on the device)."""
    return progress.progress_hook(num_train_steps, s.log_every_n_steps, s.use_tpu)


def make_history_hook(s, progress_hook):
    """The hook writing train_history.json: at checkpoint steps and at the end of training.

    Not at every progress line: each flush rewrites the whole file (with --log_every_n_steps=1
    that cost ~3 ms CPU per step, growing with the run), and a killed run retrains the steps
    since its last checkpoint anyway, so flushing between checkpoints saves nothing."""
    return exact_resume.HistoryFlushHook(progress_hook, s.output_dir, s.save_checkpoints_steps)


def run_classifier(settings):
    """Runs the requested actions; returns a dict of what was produced (paths and results).

    output_dir is held by one live run at a time (runtime.run_lock) and its manifest's status
    ends as finished or failed (with the error) on every exit path but SIGKILL.
    """
    s = settings
    compat.setup_tf1()
    validate_settings(s)
    task = cluster_task(s)
    validation.check_run_inputs(s)  # model source, storage, output_dir: before any write
    status = run_contract.RunStatus(s.output_dir)
    # A multi-worker job shares the chief's lock: the chief creates and removes it, the other
    # processes only check that no other run holds it (they may start before the chief). A
    # single-process run never joins a lock, even with a TF_CONFIG in its environment.
    chief = task is None or task.is_chief
    with run_lock.locked_output_dir(s.output_dir, run_id=run_lock.job_run_id() if task else "",
                                    create=chief):
        try:
            return _run_classifier_locked(s, status, task)
        except BaseException as error:
            status.fail(error)
            raise


def _run_classifier_locked(s, status, task):
    """run_classifier's actions, under output_dir's lock; `status` records the manifest.

    `task` is this process's role in a multi-worker job (None: a single-process run). Only
    the chief checks and records output_dir's contract and writes the manifest, results,
    predictions and export; the other processes keep their input files apart
    (cluster.task_scratch_dir).
    """
    chief = task is None or task.is_chief
    work_dir = cluster.task_scratch_dir(s.output_dir, task)
    bert_source = bert_source_from_settings(s)
    check_max_seq_length(s, bert_source)
    spec = resolve_task_for_run(s)
    label_list = None if spec.is_regression else list(spec.labels)
    task_type = task_type_for(spec, label_list)
    if not chief:  # the chief's checks below may move checkpoints and clear tmp_worker_*
        multi_worker.wait_for_chief(s.output_dir, run_lock.job_run_id(), task.name)
    if chief:
        try:
            checkpoint_integrity.ensure_intact(s.output_dir)
        except BertTF1Error:  # no checkpoint reads back: start over only when asked to
            if not s.overwrite_output_dir:
                raise
            run_contract.clear_previous_run(s.output_dir)
    if s.export_dir and chief:
        # Imported here: serving.export builds on this module (settings, graph_bert_source).
        from bert_tf1.serving import export as export_lib

        # A re-run may replace its own earlier export, never another directory's content.
        export_lib.check_export_target(s.export_dir, export_lib.is_export(s.export_dir))
    splits = load_splits(s, spec)
    train_sha = check_run_contract(s, label_list, splits, spec) if chief else None
    check_trained_model(s, label_list)
    check_checkpoint_graph(s, bert_source)
    tokenizer = make_tokenizer(s)
    is_regression = task_type == "regression"
    feature_labels = "regression" if is_regression else label_list
    tf.io.gfile.makedirs(work_dir)
    if chief:
        summary = data_summary.summarize(splits, tokenizer, s.max_seq_length,
                                         spec.is_regression, s.seed)
        tf.compat.v1.logging.info("%s", data_summary.format_summary(summary, split_names={
            "train": "train", "eval": "eval (%s)" % s.eval_split,
            "predict": "predict (%s)" % s.predict_split}))
        data_summary.write_summary(s.output_dir, summary)

    produced = {"task": spec.name, "labels": label_list, "task_type": task_type}
    # Written first with status "running", so an interrupted run still says what it was.
    manifest = outputs.build_manifest(s.to_dict(), [s.data_dir], seed=s.seed,
                                      extra={"task_spec": spec.to_dict(),
                                             run_contract.TRAIN_DATA_KEY: train_sha})
    if task is not None:
        manifest["cluster"] = {"num_workers": task.num_workers,
                               "evaluator": task.has_evaluator,
                               "job_id": run_lock.job_run_id()}  # what the others wait for
    if chief:
        run_contract.carry_training_record(s.output_dir, manifest, s.do_train)
        status.start(manifest)

    num_train_steps = num_warmup_steps = 0
    if s.do_train:
        num_train_steps = max(1, int(len(splits["train"]) / s.train_batch_size
                                     * s.num_train_epochs))
        num_warmup_steps = int(num_train_steps * s.warmup_proportion)
    estimator, train_batch_size = build_estimator(s, bert_source, len(label_list or [None]),
                                                  label_list, task_type, num_train_steps,
                                                  num_warmup_steps)
    # Plain Estimators (tf.distribute) get explicit batch sizes; TPUEstimator passes its own.
    eval_batch_size = s.eval_batch_size if train_batch_size else None
    predict_batch_size = s.predict_batch_size if train_batch_size else None
    seq = s.max_seq_length
    # TPUs need every batch full; pad_batches runs the same padded path on CPU/GPU (tests).
    full_batches = s.use_tpu or s.pad_batches
    padding = uses_dynamic_padding(s)
    if padding:
        tf.compat.v1.logging.info("dynamic padding: each batch padded to its longest example "
                                  "(multiple of %d, at most %d)%s", inputs.PAD_MULTIPLE, seq,
                                  "; length buckets %s" % (s.length_buckets,)
                                  if s.length_buckets else "")

    def inference_input(examples, batch_size, name, explicit_batch_size, buckets=None,
                        sort=False, restore_order=False):
        """TFRecord for eval/predict (padded to full batches on TPU) -> (input_fn, steps).

        Buckets and sorting are dynamic-padding features: full batches (TPU, static shapes)
        neither bucket (it would drop each bucket's partial batch) nor sort. Sorting replaces
        buckets (it keeps the batch sizes, and so Estimator's `loss`). restore_order (predict):
        a regrouped input also carries each record's file position (example_index), from
        which real_predictions restores the file order; an input in file order carries none."""
        fed = _maybe_padded(examples, batch_size, full_batches)
        path = os.path.join(work_dir, name + ".tf_record")
        ensure_features(s, fed, feature_labels, tokenizer, path)
        sort, buckets = inference_regrouping(s, full_batches, buckets, sort)
        input_fn = inputs.file_based_input_fn_builder(
            path, seq, is_training=False, drop_remainder=full_batches,
            is_regression=is_regression, batch_size=explicit_batch_size,
            dynamic_padding=padding, sort_by_length=sort, length_buckets=buckets,
            with_example_index=restore_order and (sort or bool(buckets)))
        return input_fn, (len(fed) // batch_size if full_batches else None)

    if s.do_train:
        train_examples = list(splits["train"])
        random.Random(s.seed).shuffle(train_examples)
        train_file = os.path.join(work_dir, "train.tf_record")
        if not (task and task.is_evaluator):
            ensure_features(s, train_examples, feature_labels, tokenizer, train_file)
        tf.compat.v1.logging.info("training on %d examples, %d steps (%d warm-up)",
                                  len(train_examples), num_train_steps, num_warmup_steps)
        if padding and s.train_length_sort:
            tf.compat.v1.logging.info(
                "training batches examples sorted by length (windows of %d batches of the "
                "shuffled stream, the batches then shuffled)",
                inputs.training_sort_window(len(train_examples), s.train_batch_size))
        hook = make_progress_hook(s, num_train_steps)
        history = make_history_hook(s, hook)
        started = time.time()
        train_input_fn = inputs.file_based_input_fn_builder(
            train_file, seq, is_training=True, drop_remainder=True, is_regression=is_regression,
            seed=s.seed, batch_size=train_batch_size, dynamic_padding=padding,
            length_buckets=s.length_buckets if padding else None,
            sort_by_length=padding and s.train_length_sort,
            skip_examples=resume_input_skip(s)) if not (task and task.is_evaluator) else None
        try:
            hooks = [hook, history] if chief else [hook]
            if task is None and s.distribution_strategy == "none":
                # Every step on one compiled graph (runtime.step_signature).
                hooks += step_signature.steady_fetch_hooks(estimator.config.save_summary_steps,
                                                           s.use_tpu)
            if task is None:
                estimator.train(train_input_fn, max_steps=num_train_steps, hooks=hooks)
            else:
                eval_input_fn = None
                if task.is_evaluator:
                    # Regrouped as the single-process eval below, so both write the same
                    # eval_results for the same checkpoint.
                    eval_input_fn, _ = inference_input(splits["eval"], s.eval_batch_size,
                                                       "eval", eval_batch_size,
                                                       s.length_buckets,
                                                       sort=s.eval_length_sort)
                evaluated = multi_worker.train_and_evaluate(
                    estimator, task, train_input_fn, num_train_steps, hooks, eval_input_fn,
                    s.output_dir, {"num_eval_examples": len(splits.get("eval", ()))})
        finally:  # keep the losses of an interrupted run: a resumed run appends to them
            if chief and history.flush():
                produced["train_history_file"] = history.path
        produced["train_seconds"] = round(time.time() - started, 1)
        produced["num_train_steps"] = num_train_steps
        if task is not None and task.is_evaluator:
            produced["eval_results"] = evaluated
        if not chief:  # the chief writes everything else
            produced["cluster_task"] = task.name
            return produced

    def inference_hook(examples, batch_size, what):
        fed = len(_maybe_padded(examples, batch_size, full_batches))
        return progress.inference_progress_hook(fed, batch_size, what, s.use_tpu,
                                                s.iterations_per_loop)

    finished = {}
    if s.do_eval and task is not None and task.has_evaluator:
        # The evaluator task has evaluated the final checkpoint and written the results.
        finished["eval_results_by"] = "evaluator"
    elif s.do_eval:
        input_fn, steps = inference_input(splits["eval"], s.eval_batch_size, "eval",
                                          eval_batch_size, s.length_buckets,
                                          sort=s.eval_length_sort)
        if inference_regrouping(s, full_batches, None, s.eval_length_sort)[0]:
            tf.compat.v1.logging.info("eval batches examples sorted by length (windows of %d "
                                      "batches; same batch sizes and results as in file "
                                      "order; --noeval_length_sort turns it off)",
                                      inputs.SORT_WINDOW_BATCHES)
        result = estimator.evaluate(input_fn, steps=steps, hooks=[inference_hook(
            splits["eval"], s.eval_batch_size, "eval")])
        result["num_eval_examples"] = len(splits["eval"])
        produced["eval_results"] = {k: outputs._plain(v) for k, v in result.items()}
        produced["eval_files"] = outputs.write_eval_results(s.output_dir, result)
        produced["results_table"] = results_table.format_results_table(
            produced["eval_results"], label_list)
        tf.compat.v1.logging.info("%s", produced["results_table"])

    if s.do_predict:
        input_fn, _ = inference_input(splits["predict"], s.predict_batch_size, "predict",
                                      predict_batch_size, sort=s.predict_length_sort,
                                      restore_order=True)
        if inference_regrouping(s, full_batches, None, s.predict_length_sort)[0]:
            tf.compat.v1.logging.info("predict batches examples sorted by length (windows of "
                                      "%d batches); predictions are written in input order "
                                      "(--nopredict_length_sort turns it off)",
                                      inputs.SORT_WINDOW_BATCHES)
        # In input order again (by example_index when sorted), padding rows dropped.
        kept = outputs.real_predictions(
            estimator.predict(input_fn, hooks=[inference_hook(
                splits["predict"], s.predict_batch_size, "predict")]),
            len(splits["predict"]))
        produced["predict_files"] = outputs.write_predictions(
            s.output_dir, splits["predict"], kept, label_list, is_regression)

    status.finish(results=produced.get("eval_results"),
                  train_seconds=produced.get("train_seconds"), **finished)
    if s.export_dir:
        # A predict-only run exports the model it predicted with: --init_checkpoint's.
        checkpoint = None if tf.train.latest_checkpoint(s.output_dir) else s.init_checkpoint
        produced["export"] = export_lib.export_saved_model(
            s.output_dir, s.export_dir, checkpoint, overwrite=export_lib.is_export(s.export_dir))
    return produced


# --feature_workers=0 forks a worker per CPU only for this many examples each: converting one
# takes ~0.4 ms (a short sentence) to ~0.8 ms (a review truncated at 128) of CPU, and a pool
# costs ~0.17 s wall to start and stop, so below ~1,000 examples a worker costs more than it
# saves (704 short sentences: 0.32-0.44 s CPU in this process vs 0.46 s with 2 workers).
MIN_EXAMPLES_PER_FEATURE_WORKER = 1000


def ensure_features(s, examples, feature_labels, tokenizer, path):
    """The TFRecord at `path` for `examples`: kept if current, else copied from the shared
    feature cache (--feature_cache_dir) or converted by --feature_workers processes (0: one per
    CPU, at most one per MIN_EXAMPLES_PER_FEATURE_WORKER examples)."""
    examples = list(examples)
    processes = workers.workers_worth_forking(s.feature_workers, len(examples),
                                              MIN_EXAMPLES_PER_FEATURE_WORKER)
    return feature_cache.ensure_cached_tfrecord(
        examples, feature_labels, s.max_seq_length, tokenizer, path, s.truncation,
        s.show_progress, processes, s.feature_cache_dir)


def uses_dynamic_padding(s):
    """Whether batches are padded to their own length: --dynamic_padding, never on a TPU."""
    return bool(s.dynamic_padding) and not s.use_tpu


def inference_regrouping(s, full_batches, buckets, sort):
    """(sort_by_length, length_buckets) of an eval/predict input_fn.

    Both regroup examples by length, so both need dynamic padding and batches that may be
    partial: full batches (a TPU's static shapes, --pad_batches) keep the file order. Sorting
    (--eval_length_sort, --predict_length_sort) replaces buckets: it keeps the file order's
    batch sizes, and with them Estimator's `loss` (a mean of batch means), which per-bucket
    partial batches shift.

    >>> inference_regrouping(ClassifierRunSettings(), False, "32,64", True)
    (True, None)
    """
    if full_batches or not uses_dynamic_padding(s):
        return False, None
    if sort:
        return True, None
    return False, buckets or None


def _maybe_padded(examples, batch_size, full_batches):
    """With full batches (TPU), pad with PaddingInputExample (is_real_example = 0)."""
    if not full_batches:
        return list(examples)
    return features_lib.padded_examples(examples, batch_size)
