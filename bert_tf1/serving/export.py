"""Self-describing TF1 SavedModel export of a fine-tuned classifier run.

`export_saved_model(model_dir, export_dir)` rebuilds the run's classifier graph in PREDICT mode
from its run_manifest.json (head, labels, max_seq_length, BERT source), restores the chosen
checkpoint (default: the latest in model_dir) and writes, atomically (a temporary sibling renamed
into place):

  export_dir/saved_model.pb        tag "serve", signature "serving_default" (see SIGNATURE_*)
  export_dir/variables/            the restored weights
  export_dir/assets/vocab.txt      the WordPiece vocabulary the run tokenized with
  export_dir/assets/bert_tf1_export.json
                                   casing, labels, head, max_seq_length, truncation, task and
                                   its text fields, BERT source, checkpoint, the source run's
                                   manifest and package versions (METADATA_FORMAT)

The graph is the run's own: a run on a hub module (the default) gets hub.Module inside the
SavedModel, whose variables are ordinary graph variables once restored from the fine-tuned
checkpoint (the module's own initialisers are never run by the loader); a checkpoint run, or a
hub run made with --deterministic / --distribution_strategy (which load the module's variables
into modeling.BertModel), gets modeling.BertModel. Either way the exported ops are the ones that
wrote the run's predictions.jsonl, so the probabilities agree (tests: to 1e-5, measured ~1e-7;
the remaining difference comes from padding a batch to its longest sequence instead of
max_seq_length).

Signature `serving_default` (method tensorflow/serving/predict, so TF Serving's REST API serves
it unchanged):
  inputs   input_ids, input_mask, segment_ids: int32 [batch_size, seq_length], any seq_length up
           to max_seq_length (BERT's attention mask makes padding irrelevant, so a batch may be
           padded to its longest sequence)
  outputs  classification: probabilities float32 [batch_size, num_labels], logits float32
           [batch_size, num_labels], predicted_ids int32 [batch_size];
           regression: predictions float32 [batch_size]
Tokenization stays outside the graph (bert.tokenization's exact WordPieces, see
bert_tf1.serving.predictor); a raw-text signature is not offered.
"""
import datetime
import json
import os
import shutil
import tempfile

import tensorflow as tf

from bert_tf1 import data
from bert_tf1.classifier import model as classifier
from bert_tf1.classifier import pipeline as classifier_pipeline
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import checkpoint_bert, hub_bert
from bert_tf1.runtime import atomic_io, outputs

METADATA_FORMAT = "bert_tf1.serving.export/1"
METADATA_ASSET = "bert_tf1_export.json"
VOCAB_ASSET = "vocab.txt"
SERVING_TAGS = (tf.saved_model.SERVING,)  # "serve", what TF Serving and saved_model_cli load
SIGNATURE_NAME = "serving_default"
SIGNATURE_INPUTS = ("input_ids", "input_mask", "segment_ids")
CLASSIFICATION_OUTPUTS = ("probabilities", "logits", "predicted_ids")
REGRESSION_OUTPUTS = ("predictions",)


class RunToExport(object):
    """What an export needs from a finished run: its settings, task and checkpoint.

    Attributes:
      model_dir: the run's output_dir.
      manifest: run_manifest.json as a dict.
      settings: classifier_pipeline.ClassifierRunSettings of the run's flags.
      spec: the run's data.TaskSpec (labels resolved as the run resolved them).
      label_list: class names (index = label id), None for regression.
      task_type: "binary", "multiclass", "mcc" or "regression".
      checkpoint: the checkpoint prefix to export.
    """

    def __init__(self, model_dir, manifest, settings, spec, label_list, task_type, checkpoint):
        self.model_dir = model_dir
        self.manifest = manifest
        self.settings = settings
        self.spec = spec
        self.label_list = label_list
        self.task_type = task_type
        self.checkpoint = checkpoint

    @property
    def is_regression(self):
        return self.task_type == "regression"


def read_manifest(model_dir):
    """run_manifest.json of `model_dir` as a dict; BertTF1Error naming the path if absent or bad."""
    path = os.path.join(model_dir, outputs.MANIFEST_JSON)
    manifest = outputs.read_manifest(model_dir)
    if manifest is None:
        raise BertTF1Error("%s: no %s there, so this is not the output_dir of a bert_tf1 run "
                           "(run_classifier_hub.py writes it)" % (model_dir, outputs.MANIFEST_JSON))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("flags"), dict):
        raise BertTF1Error("%s: expected a run manifest with a 'flags' object" % path)
    return manifest


def settings_from_manifest(manifest):
    """The run's ClassifierRunSettings; flags a newer or older kit does not know are ignored."""
    known = classifier_pipeline.ClassifierRunSettings.DEFAULTS
    return classifier_pipeline.ClassifierRunSettings(
        **{name: value for name, value in manifest["flags"].items() if name in known})


def task_from_manifest(manifest, settings, where):
    """(spec, label_list, task_type) as the run had them: the manifest's task_spec (labels
    resolved from the data when the run started) or, for older manifests, the registry."""
    if manifest.get("task_spec"):
        spec = data.TaskSpec.from_dict(manifest["task_spec"])
    else:
        spec = data.get_task(settings.task_name)
        if spec.labels is None:
            raise BertTF1Error("%s: the manifest has no task_spec and task %s has no fixed label "
                               "list; re-run with this kit to record it" % (where, spec.name))
    label_list = None if spec.is_regression else list(spec.labels)
    return spec, label_list, classifier_pipeline.task_type_for(spec, label_list)


def resolve_checkpoint(model_dir, checkpoint=None):
    """The checkpoint prefix to export: `checkpoint` (a prefix or a directory: its latest) or the
    latest in model_dir."""
    if checkpoint:
        if tf.io.gfile.exists(checkpoint + ".index"):
            return checkpoint
        latest = tf.train.latest_checkpoint(checkpoint) if tf.io.gfile.isdir(checkpoint) else None
        if latest:
            return latest
        raise BertTF1Error("--checkpoint %s: no checkpoint there (expected a prefix such as "
                           "%s/model.ckpt-N with a .index file, or a directory with a "
                           "'checkpoint' file)" % (checkpoint, model_dir))
    latest = tf.train.latest_checkpoint(model_dir)
    if not latest:
        raise BertTF1Error("%s: no checkpoint (the run did not train into this directory, e.g. a "
                           "predict-only run: pass --checkpoint=<model.ckpt-N of the trained run>)"
                           % model_dir)
    return latest


def read_run(model_dir, checkpoint=None):
    """Reads and checks a finished run; returns a RunToExport.

    Raises:
      BertTF1Error naming the path: no manifest, a run that did not finish (status "running":
      interrupted, or still training), no checkpoint, a regression-free task without labels.
    """
    manifest = read_manifest(model_dir)
    status = manifest.get("status")
    if status != "finished":
        raise BertTF1Error("%s: the run is not finished (run_manifest.json status %r): it was "
                           "interrupted or is still running; resume it (same command) before "
                           "exporting" % (model_dir, status))
    settings = settings_from_manifest(manifest)
    spec, label_list, task_type = task_from_manifest(manifest, settings, model_dir)
    return RunToExport(model_dir, manifest, settings, spec, label_list, task_type,
                       resolve_checkpoint(model_dir, checkpoint))


def vocab_and_casing(settings):
    """(vocab_file, do_lower_case) the run tokenized with: the hub module's tokenization_info or
    --vocab_file / --do_lower_case."""
    if settings.bert_hub_module_handle:
        if not hub_bert.is_remote_url(settings.bert_hub_module_handle) and \
                not tf.io.gfile.exists(settings.bert_hub_module_handle):
            raise BertTF1Error("hub module %s (the run's --bert_hub_module_handle) not found: "
                               "the export needs it for the vocabulary and the graph (a relative "
                               "path is read from the current directory)"
                               % settings.bert_hub_module_handle)
        return hub_bert.tokenization_info(settings.bert_hub_module_handle)
    if not settings.vocab_file or not tf.io.gfile.exists(settings.vocab_file):
        raise BertTF1Error("--vocab_file %s of the run not found (a relative path is read from "
                           "the current directory)" % settings.vocab_file)
    return settings.vocab_file, bool(settings.do_lower_case)


def build_serving_graph(run):
    """Builds the PREDICT-mode classifier in the current graph.

    Returns:
      (inputs, outputs): dicts of Tensors. inputs: input_ids, input_mask, segment_ids, int32
      placeholders of shape [None, None]; outputs: see SIGNATURE_* in the module docstring.
    """
    s = run.settings
    source = classifier_pipeline.graph_bert_source(
        s, classifier_pipeline.bert_source_from_settings(s))
    # The fine-tuned checkpoint holds every weight: the encoder is built without initialising it
    # from the pre-trained checkpoint (a hub module still imports its own initialisers, unused).
    source = source.without_init_checkpoint()
    inputs = {name: tf.compat.v1.placeholder(tf.int32, [None, None], name=name)
              for name in SIGNATURE_INPUTS}
    batch = tf.shape(inputs["input_ids"])[:1]
    # create_model also builds the loss; it needs labels of the right type, never fed.
    labels = tf.zeros(batch, tf.float32 if run.is_regression else tf.int32)
    _, _, logits, probabilities = classifier.create_model(
        False, inputs["input_ids"], inputs["input_mask"], inputs["segment_ids"], labels,
        len(run.label_list or [None]), None, head=s.head, head_dropout=s.head_dropout,
        is_regression=run.is_regression, bert_source=source)
    if run.is_regression:
        result = {"predictions": tf.identity(probabilities, name="predictions")}
    else:
        result = {
            "probabilities": tf.identity(probabilities, name="probabilities"),
            "logits": tf.identity(logits, name="logits"),
            "predicted_ids": tf.argmax(logits, axis=-1, output_type=tf.int32,
                                       name="predicted_ids"),
        }
    return inputs, result


def restore_map(checkpoint, variables):
    """{checkpoint name: variable} restoring every graph variable from the run's checkpoint.

    A hub run's checkpoint names BERT "module/bert/..." and a checkpoint run "bert/..."; either
    restores either graph (checkpoint_bert.checkpoint_name_candidates). A variable the checkpoint
    lacks, or holds with another shape, is an error: an export never ships a random weight.
    """
    try:
        shapes = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        raise BertTF1Error("%s: cannot read checkpoint (%s)" % (checkpoint, error))
    mapping, problems = {}, []
    for var in variables:
        name = var.op.name
        found = [c for c in checkpoint_bert.checkpoint_name_candidates(name) if c in shapes]
        if not found:
            problems.append("%s missing" % name)
        elif list(shapes[found[0]]) != var.shape.as_list():
            problems.append("%s is %s there, %s in the rebuilt graph"
                            % (found[0], list(shapes[found[0]]), var.shape.as_list()))
        else:
            mapping[found[0]] = var
    if problems:
        raise BertTF1Error("%s does not hold the run's classifier (head, labels or BERT differ "
                           "from the manifest?): %s%s" % (checkpoint, "; ".join(problems[:8]),
                                                         " ..." if len(problems) > 8 else ""))
    return mapping


def build_metadata(run, vocab_file, do_lower_case, global_step):
    """The JSON asset describing the export (everything a client needs besides the graph)."""
    s, spec = run.settings, run.spec
    source = classifier_pipeline.graph_bert_source(
        s, classifier_pipeline.bert_source_from_settings(s))
    return {
        "format": METADATA_FORMAT,
        "created_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "task": spec.name,
        "task_type": run.task_type,
        "labels": run.label_list,
        "is_regression": run.is_regression,
        # Which fields of an input record hold the texts (the task's columns or keys).
        "text_fields": {"text_a": spec.text_a, "text_b": spec.text_b},
        "pair_task": spec.text_b is not None,
        "head": s.head,
        "max_seq_length": s.max_seq_length,
        "truncation": s.truncation,
        "do_lower_case": do_lower_case,
        "vocab_file": VOCAB_ASSET,
        "vocab_source": vocab_file,
        "bert_source": source.to_dict(),
        "checkpoint": run.checkpoint,
        "global_step": global_step,
        "signature": {
            "name": SIGNATURE_NAME,
            "inputs": {name: {"dtype": "int32", "shape": [None, None]}
                       for name in SIGNATURE_INPUTS},
            "outputs": list(REGRESSION_OUTPUTS if run.is_regression else CLASSIFICATION_OUTPUTS),
        },
        "source_run": {"output_dir": run.model_dir, "manifest": run.manifest},
        "packages": outputs.package_versions(),
    }


def is_export(path):
    """True when `path` holds a SavedModel written by this module."""
    return tf.io.gfile.exists(os.path.join(path, "assets", METADATA_ASSET)) and \
        tf.io.gfile.exists(os.path.join(path, "saved_model.pb"))


def read_metadata(export_dir):
    """The export's bert_tf1_export.json as a dict; BertTF1Error naming the path otherwise."""
    path = os.path.join(export_dir, "assets", METADATA_ASSET)
    if not tf.io.gfile.exists(os.path.join(export_dir, "saved_model.pb")):
        raise BertTF1Error("%s: no saved_model.pb there (expected a directory written by "
                           "bert-tf1-export)" % export_dir)
    if not tf.io.gfile.exists(path):
        raise BertTF1Error("%s: a SavedModel without assets/%s: not written by bert-tf1-export, "
                           "so its labels and tokenization are unknown" % (export_dir,
                                                                           METADATA_ASSET))
    try:
        with tf.io.gfile.GFile(path, "r") as handle:
            metadata = json.loads(handle.read())
    except ValueError as error:
        raise BertTF1Error("%s: not valid JSON (%s)" % (path, error))
    if metadata.get("format") != METADATA_FORMAT:
        raise BertTF1Error("%s: format %r, expected %r" % (path, metadata.get("format"),
                                                           METADATA_FORMAT))
    return metadata


def check_export_target(export_dir, overwrite=False):
    """Raises BertTF1Error if export_dir holds something that overwrite does not allow replacing."""
    if tf.io.gfile.exists(export_dir) and tf.io.gfile.listdir(export_dir) and not overwrite:
        raise BertTF1Error("%s already exists and is not empty (pass --overwrite to replace it)"
                           % export_dir)


def export_saved_model(model_dir, export_dir, checkpoint=None, overwrite=False):
    """Exports a finished run as a self-describing SavedModel (see the module docstring).

    Args:
      model_dir: the run's output_dir (local, gs://, s3://), with run_manifest.json.
      export_dir: where to write; must not exist (or be empty) unless `overwrite`.
      checkpoint: checkpoint prefix or directory to export (default: latest in model_dir).
      overwrite: replace an existing export_dir (only after the new one is complete).

    Returns:
      the metadata dict written as assets/bert_tf1_export.json, plus "export_dir".

    >>> export_saved_model("runs/imdb", "runs/imdb_export")  # doctest: +SKIP
    """
    run = read_run(model_dir, checkpoint)
    check_export_target(export_dir, overwrite)
    vocab_file, do_lower_case = vocab_and_casing(run.settings)
    global_step = None
    try:
        global_step = int(tf.train.load_variable(run.checkpoint, "global_step"))
    except (tf.errors.OpError, ValueError):
        pass  # e.g. a checkpoint written outside an Estimator
    metadata = build_metadata(run, vocab_file, do_lower_case, global_step)
    assets = tempfile.mkdtemp(prefix="bert_tf1_export_assets_")
    try:
        tf.io.gfile.copy(vocab_file, os.path.join(assets, VOCAB_ASSET), overwrite=True)
        with open(os.path.join(assets, METADATA_ASSET), "w") as handle:
            handle.write(outputs.dumps_json(metadata, indent=2, sort_keys=True) + "\n")
        with atomic_io.staged_directory(export_dir, overwrite=overwrite) as staging:
            _write_saved_model(run, staging, [os.path.join(assets, VOCAB_ASSET),
                                              os.path.join(assets, METADATA_ASSET)])
    finally:
        shutil.rmtree(assets, ignore_errors=True)
    return dict(metadata, export_dir=export_dir)


def _write_saved_model(run, directory, asset_files):
    """Builds the graph in a fresh tf.Graph, restores the checkpoint and saves into `directory`."""
    with tf.Graph().as_default() as graph:
        inputs, result = build_serving_graph(run)
        # Asset tensors make the builder copy the files to assets/ and record them in the
        # SavedModel (the loader rewrites these constants to the loaded copy's paths).
        asset_tensors = [tf.constant(path, name="asset_%s" % os.path.basename(path).replace(
            ".", "_")) for path in asset_files]
        saver = tf.compat.v1.train.Saver(
            var_list=restore_map(run.checkpoint, tf.compat.v1.global_variables()))
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            inputs=inputs, outputs=result)
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, run.checkpoint)
            builder = tf.compat.v1.saved_model.Builder(directory)
            builder.add_meta_graph_and_variables(
                session, list(SERVING_TAGS), signature_def_map={SIGNATURE_NAME: signature},
                assets_collection=asset_tensors, strip_default_attrs=True)
            builder.save()
