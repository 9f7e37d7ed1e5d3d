"""BERT built directly with bert.modeling.BertModel and restored from a Google-layout checkpoint.

Two uses:
  * runs without a hub module, with google-research/bert's run_classifier.py flags
    (--bert_config_file, --init_checkpoint);
  * tf.distribute strategies, where hub.Module does not work ("colocate_vars_with must only be
    passed a variable created in this tf.distribute.Strategy.scope()"). A hub module's
    `variables/variables` is an ordinary checkpoint with the same "bert/..." names, so a hub
    module can still be used there: BertSource.from_hub_module_variables builds BertModel and
    restores the module's weights (its config is read from the module when not given).

`BertSource` says where the encoder comes from (hub module, or config + checkpoint) and is what
classifier.create_model / model_fn.model_fn_builder accept as `bert_source`.
"""
import os
import re

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir, hub_bert

HUB_KIND = "hub"
CHECKPOINT_KIND = "checkpoint"
KINDS = (HUB_KIND, CHECKPOINT_KIND)
BERT_SCOPE = "bert"
# hub.Module's default name: a hub run's graph (and checkpoints) name BERT "module/bert/...".
HUB_MODULE_SCOPE = "module"

HUB_UNDER_STRATEGY_MESSAGE = (
    "hub.Module does not work under tf.distribute strategies (TF 1.15 fails with 'colocate_vars_"
    "with must only be passed a variable created in this tf.distribute.Strategy.scope()'). Build "
    "BERT from a checkpoint instead: --bert_config_file and --init_checkpoint, or the hub "
    "module's own weights (--init_checkpoint=<module directory>, i.e. "
    "BertSource.from_hub_module_variables(handle)).")


def _tf():
    return tf


def load_config(bert_config):
    """A bert.modeling.BertConfig from a BertConfig, a dict or a bert_config.json path."""

    if isinstance(bert_config, bert_dir.bert_modeling().BertConfig):
        return bert_config
    if isinstance(bert_config, dict):
        return bert_dir.bert_modeling().BertConfig.from_dict(bert_config)
    if isinstance(bert_config, str):
        return bert_dir.load_bert_config(bert_config)
    raise BertTF1Error("bert_config: expected a BertConfig, a dict or a bert_config.json path, "
                       "found %s" % type(bert_config).__name__)


def is_hub_module_dir(path):
    """True when `path` is a local (or gs:// / s3://) directory holding a TF1 Hub module."""
    tf = _tf()
    return tf.io.gfile.isdir(path) and tf.io.gfile.exists(os.path.join(path, "tfhub_module.pb"))


def hub_module_variables_path(handle):
    """The checkpoint prefix of a TF1 Hub module's weights: <module>/variables/variables.

    URL handles are resolved (downloaded and cached) by tensorflow_hub first.
    """

    if hub_bert.is_remote_url(handle):
        handle = hub_bert.resolve_url_handle(handle)
    hub_bert.check_hub_module(handle)
    prefix = os.path.join(handle, "variables", "variables")
    if not _tf().io.gfile.exists(prefix + ".index"):
        raise BertTF1Error("%s: hub module has no variables/variables.index (a module without "
                           "weights cannot initialise BERT)" % handle)
    return prefix


def resolve_init_checkpoint(path):
    """The checkpoint prefix `path` designates.

    Accepts a checkpoint prefix (…/bert_model.ckpt), a BERT directory (Google's layout, or one
    with a `checkpoint` state file) or a TF1 Hub module directory (its variables/variables).
    """
    tf = _tf()

    if tf.io.gfile.exists(path + ".index"):
        return path
    if tf.io.gfile.isdir(path):
        if is_hub_module_dir(path):
            return hub_module_variables_path(path)
        return bert_dir.find_checkpoint(path)
    raise BertTF1Error("--init_checkpoint %s: no checkpoint there (expected a prefix such as "
                       ".../bert_model.ckpt with a .index file next to it, a BERT directory or a "
                       "TF1 Hub module directory)" % path)


def _checkpoint_shapes(init_checkpoint):
    tf = _tf()
    try:
        return dict(tf.train.list_variables(init_checkpoint))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as error:
        raise BertTF1Error("%s: cannot read checkpoint (%s)" % (init_checkpoint, error))


def _assignment_map(variables, shapes, scope_prefix):
    """({checkpoint name: variable name}, missing names, shape mismatches) for `variables`.

    Like bert.modeling.get_assignment_map_from_checkpoint, but over any variables (a frozen encoder
    has no trainable ones) and mapping "<outer scope>/bert/x" to the checkpoint's "bert/x" (or
    "module/bert/x", the name in checkpoints of runs on a hub module).
    """
    assignment_map, missing, wrong = {}, [], []
    for var in variables:
        name = re.sub(r":\d+$", "", var.name)
        ckpt_name = BERT_SCOPE + "/" + name[len(scope_prefix):]
        # Or "module/bert/x": a checkpoint of a fine-tuning run on the hub module.
        ckpt_name = next((candidate for candidate in checkpoint_name_candidates(ckpt_name)
                          if candidate in shapes), ckpt_name)
        if ckpt_name not in shapes:
            missing.append(ckpt_name)
        elif list(shapes[ckpt_name]) != var.shape.as_list():
            wrong.append("%s is %s in the checkpoint, the config implies %s"
                         % (ckpt_name, list(shapes[ckpt_name]), var.shape.as_list()))
        else:
            assignment_map[ckpt_name] = name
    return assignment_map, sorted(missing), wrong


def bert_outputs_from_checkpoint(bert_config, init_checkpoint, input_ids, input_mask, segment_ids,
                                 is_training, trainable=True, use_one_hot_embeddings=False,
                                 allow_missing_variables=False):
    """Builds BertModel and initialises it from `init_checkpoint`.

    Returns the same dict as hub_bert.bert_outputs, so either source serves the classifier.
    Variables are named "bert/..." (under the current variable scope) like Google's checkpoints;
    tf.compat.v1.train.init_from_checkpoint restores them when the variables are initialised (an
    Estimator that resumes from its model_dir restores its own checkpoint instead). Works inside a
    tf.distribute replica context.

    Args:
      bert_config: bert.modeling.BertConfig, a dict, or the path of bert_config.json.
      init_checkpoint: checkpoint prefix, BERT directory or hub module directory (see
        resolve_init_checkpoint); None leaves BERT randomly initialised.
      input_ids, input_mask, segment_ids: int32 Tensors of shape [batch_size, seq_length].
      is_training: bool; True turns BERT's dropout on (as the hub module's "train" tags do).
      trainable: False keeps the encoder's variables out of TRAINABLE_VARIABLES (frozen).
      use_one_hot_embeddings: one-hot matmul embedding lookup (faster on TPU).
      allow_missing_variables: leave BERT variables the checkpoint lacks at their random initial
        values (with a warning) instead of raising BertTF1Error.

    Returns:
      dict with pooled_output float [batch_size, hidden_size] and sequence_output float
      [batch_size, seq_length, hidden_size].

    Example:
      outputs = bert_outputs_from_checkpoint("uncased_L-12_H-768_A-12/bert_config.json",
                                             "uncased_L-12_H-768_A-12/bert_model.ckpt",
                                             input_ids, input_mask, segment_ids, True)
    """
    tf = _tf()

    config = load_config(bert_config)
    outer_scope = tf.compat.v1.get_variable_scope().name
    prefix = (outer_scope + "/" if outer_scope else "") + BERT_SCOPE + "/"
    trainable_before = set(id(v) for v in tf.compat.v1.trainable_variables())
    model = bert_dir.bert_modeling().BertModel(
        config=config, is_training=is_training, input_ids=input_ids, input_mask=input_mask,
        token_type_ids=segment_ids, use_one_hot_embeddings=use_one_hot_embeddings,
        scope=BERT_SCOPE)
    if not trainable:
        collection = tf.compat.v1.get_collection_ref(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        collection[:] = [v for v in collection
                         if id(v) in trainable_before or not v.name.startswith(prefix)]

    if init_checkpoint is not None:
        init_bert_from_checkpoint(init_checkpoint, prefix, allow_missing_variables)
    return dict(pooled_output=model.get_pooled_output(),
                sequence_output=model.get_sequence_output())


def checkpoint_encoder(bert_config, init_checkpoint, is_training, trainable=True,
                       use_one_hot_embeddings=False, allow_missing_variables=False):
    """Returns `encode(input_ids, input_mask, segment_ids)`: bert_outputs_from_checkpoint's dict.

    The first call builds BertModel, its "bert/..." variables and their initialisation from
    `init_checkpoint`; later calls build BertModel again in the same variable scope with
    reuse=True, so every call runs the same weights (classifier.length_split calls it once per
    part of a batch). Arguments as bert_outputs_from_checkpoint.
    """
    tf = _tf()
    config = load_config(bert_config)
    built = []  # the variable scope of the first call

    def encode(input_ids, input_mask, segment_ids):
        if not built:
            built.append(tf.compat.v1.get_variable_scope())
            return bert_outputs_from_checkpoint(
                config, init_checkpoint, input_ids, input_mask, segment_ids, is_training,
                trainable=trainable, use_one_hot_embeddings=use_one_hot_embeddings,
                allow_missing_variables=allow_missing_variables)
        with tf.compat.v1.variable_scope(built[0], reuse=True):
            model = bert_dir.bert_modeling().BertModel(
                config=config, is_training=is_training, input_ids=input_ids,
                input_mask=input_mask, token_type_ids=segment_ids,
                use_one_hot_embeddings=use_one_hot_embeddings, scope=BERT_SCOPE)
        return dict(pooled_output=model.get_pooled_output(),
                    sequence_output=model.get_sequence_output())

    return encode


def init_bert_from_checkpoint(init_checkpoint, scope_prefix=BERT_SCOPE + "/",
                              allow_missing_variables=False):
    """Makes the BERT variables already in the graph initialise from `init_checkpoint`.

    bert_outputs_from_checkpoint calls it; on a TPU, google-research/bert calls
    init_from_checkpoint from TPUEstimatorSpec's scaffold_fn instead (outside the TPU computation),
    which is what model_fn_builder(use_tpu=True) does with this function.

    Args:
      init_checkpoint: checkpoint prefix, BERT directory or hub module directory.
      scope_prefix: the variables' name prefix ("bert/", or "<outer scope>/bert/"); they are
        looked up in the checkpoint as "bert/...".
      allow_missing_variables: see bert_outputs_from_checkpoint.

    Returns:
      the assignment map {checkpoint name: variable name} given to init_from_checkpoint.
    """
    tf = _tf()
    checkpoint = resolve_init_checkpoint(init_checkpoint)
    bert_variables = [v for v in tf.compat.v1.global_variables()
                      if v.name.startswith(scope_prefix)]
    if not bert_variables:
        raise BertTF1Error("no variables named %s... in the graph to initialise from %s"
                           % (scope_prefix, checkpoint))
    assignment_map, missing, wrong = _assignment_map(
        bert_variables, _checkpoint_shapes(checkpoint), scope_prefix)
    if wrong:
        raise BertTF1Error("%s does not fit the BERT config: %s%s" % (
            checkpoint, "; ".join(wrong[:8]), " ..." if len(wrong) > 8 else ""))
    if missing and not allow_missing_variables:
        raise BertTF1Error(
            "%s lacks %d of the %d BERT variables the config implies: %s%s (a different "
            "model, or a checkpoint without them: pass allow_missing_variables=True to "
            "leave them random)" % (checkpoint, len(missing), len(bert_variables),
                                    ", ".join(missing[:8]), " ..." if len(missing) > 8 else ""))
    if missing:
        tf.compat.v1.logging.warning("%d BERT variable(s) not in %s stay randomly initialised: "
                                     "%s", len(missing), checkpoint, ", ".join(missing[:8]))
    tf.compat.v1.train.init_from_checkpoint(checkpoint, assignment_map)
    return assignment_map


def checkpoint_name_candidates(name):
    """Names variable `name` may have in a checkpoint: itself first, then its other-source twin.

    A run on a hub module names BERT "module/bert/x", a run on a checkpoint (or a hub module
    loaded as one, --deterministic / mirrored) "bert/x"; the same weights restore either way.
    """
    hub_prefix = HUB_MODULE_SCOPE + "/" + BERT_SCOPE + "/"
    if name.startswith(hub_prefix):
        return [name, name[len(HUB_MODULE_SCOPE) + 1:]]
    if name.startswith(BERT_SCOPE + "/"):
        return [name, HUB_MODULE_SCOPE + "/" + name]
    return [name]


def init_trainable_from_checkpoint(init_checkpoint, variables=None, log_fn=None):
    """Every trainable variable `init_checkpoint` holds with the same name and shape starts from it.

    google-research/bert's run_classifier.py semantics (modeling.get_assignment_map_from_
    checkpoint over tf.trainable_variables()): with a pre-trained BERT that is the encoder; with
    a fine-tuned classifier's model.ckpt-N it is the head too (output_weights, output_bias,
    head_hidden/*), so `--do_predict --init_checkpoint=$TRAINED_CLASSIFIER --output_dir=NEW`
    predicts with the trained model rather than a random head. BERT names are matched across
    sources (see checkpoint_name_candidates). Unlike Google's, a variable whose shape differs
    (e.g. a 3-class head restored into a 2-class task) is left as it is, with a warning, instead
    of failing in init_from_checkpoint.

    Like every init_from_checkpoint, this only replaces initialisers: an Estimator resuming from
    a checkpoint in its model_dir restores that instead. Call it after the whole model is built
    (in a TPU scaffold_fn on a TPU).

    Args:
      init_checkpoint: checkpoint prefix (.../model.ckpt-N), a directory with a `checkpoint`
        state file (its latest), a BERT directory or a hub module directory.
      variables: the variables to consider (default: tf.compat.v1.trainable_variables()).
      log_fn: called with one summary line (default tf.compat.v1.logging.info).

    Returns:
      (assignment_map {checkpoint name: variable name}, not_found [variable names],
      wrong_shape [variable names]).
    """
    tf = _tf()
    checkpoint = resolve_init_checkpoint(init_checkpoint)
    shapes = _checkpoint_shapes(checkpoint)
    if variables is None:
        variables = tf.compat.v1.trainable_variables()
    assignment_map, targets, not_found, wrong_shape = {}, {}, [], []
    for var in variables:
        name = re.sub(r":\d+$", "", var.name)
        found = [c for c in checkpoint_name_candidates(name) if c in shapes]
        if not found:
            not_found.append(name)
        elif list(shapes[found[0]]) != var.shape.as_list():
            wrong_shape.append(name)
            tf.compat.v1.logging.warning(
                "init_checkpoint %s: %s is %s there but %s in this model; left as initialised "
                "(e.g. a head for another number of labels)", checkpoint, found[0],
                list(shapes[found[0]]), var.shape.as_list())
        else:
            assignment_map[found[0]] = name
            targets[found[0]] = var
    if targets:
        # Variables, not names: a hub module's variables are imported from its graph, not made
        # by get_variable, so init_from_checkpoint cannot look their names up.
        tf.compat.v1.train.init_from_checkpoint(checkpoint, targets)
    (log_fn or tf.compat.v1.logging.info)(
        "init_checkpoint %s: initialised %d of %d trainable variables from it: %s; not in it: %s"
        % (checkpoint, len(assignment_map), len(variables),
           _summarise_names(sorted(assignment_map.values())) or "none",
           _summarise_names(sorted(not_found + wrong_shape)) or "none"))
    return assignment_map, sorted(not_found), sorted(wrong_shape)


def _summarise_names(names):
    """'bert/* (37), output_bias, output_weights': encoder variables counted, others listed."""
    groups, others = {}, []
    for name in names:
        for prefix in (HUB_MODULE_SCOPE + "/" + BERT_SCOPE + "/", BERT_SCOPE + "/"):
            if name.startswith(prefix):
                groups[prefix] = groups.get(prefix, 0) + 1
                break
        else:
            others.append(name)
    return ", ".join(["%s* (%d)" % (prefix, count) for prefix, count in sorted(groups.items())]
                     + others)


def _graph_def_nodes(module_dir):
    """{node name: NodeDef} over every graph variant in a TF1 Hub module's saved_model.pb."""
    tf = _tf()

    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(module_dir, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    nodes = {}
    for meta_graph in saved_model.meta_graphs:
        for node in meta_graph.graph_def.node:
            nodes.setdefault(node.name, node)
    return nodes


def _const_float(nodes, name):
    node = nodes.get(name)
    if node is None or node.op != "Const":
        return None
    tensor = node.attr["value"].tensor
    return float(tensor.float_val[0]) if tensor.float_val else None


def infer_bert_config_from_hub_module(handle):
    """Reconstructs a BERT hub module's bert_config from its weights and graph.

    Sizes come from the variables' shapes; the number of attention heads from the attention score
    scale 1/sqrt(size_per_head) in the graph; hidden_act from the ops of the first intermediate
    layer; the dropout rates and initializer range from the "train" graph's constants (0.1 and
    0.02, Google's values, when absent). Modules exported from Google's BertModel (tfhub.dev's,
    bert-tf1-export-hub's) have all of these.

    Returns:
      bert.modeling.BertConfig.
    """

    if hub_bert.is_remote_url(handle):
        handle = hub_bert.resolve_url_handle(handle)
    shapes = _checkpoint_shapes(hub_module_variables_path(handle))
    hint = ("; pass the model's bert_config.json (--bert_config_file) instead")

    def shape(name):
        if name not in shapes:
            raise BertTF1Error("%s: variable %s not in the hub module%s" % (handle, name, hint))
        return shapes[name]

    vocab_size, hidden = shape("bert/embeddings/word_embeddings")
    layers = sorted(set(int(m.group(1)) for m in (re.match(r"bert/encoder/layer_(\d+)/", n)
                                                     for n in shapes) if m))
    if not layers or layers != list(range(len(layers))):
        raise BertTF1Error("%s: no contiguous bert/encoder/layer_N variables%s" % (handle, hint))
    nodes = _graph_def_nodes(handle)
    scale = _const_float(nodes, "bert/encoder/layer_0/attention/self/Mul/y")
    if not scale:
        raise BertTF1Error("%s: cannot find the attention scale to infer num_attention_heads%s"
                           % (handle, hint))
    size_per_head = int(round(1.0 / (scale * scale)))
    if size_per_head < 1 or hidden % size_per_head:
        raise BertTF1Error("%s: attention scale %g does not divide hidden size %d%s"
                           % (handle, scale, hidden, hint))
    ops = set(node.op for name, node in nodes.items()
              if name.startswith("bert/encoder/layer_0/intermediate/") and
              not name.startswith("bert/encoder/layer_0/intermediate/dense/"))
    if "Pow" in ops or "Erf" in ops:
        hidden_act = "gelu"
    elif "Relu" in ops:
        hidden_act = "relu"
    elif "Tanh" in ops:
        hidden_act = "tanh"
    else:
        raise BertTF1Error("%s: cannot infer hidden_act from the intermediate layer's ops (%s)%s"
                           % (handle, ", ".join(sorted(ops)), hint))

    def const(name, default):
        value = _const_float(nodes, name)
        return default if value is None else value

    return bert_dir.bert_modeling().BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=len(layers),
        num_attention_heads=hidden // size_per_head,
        intermediate_size=shape("bert/encoder/layer_0/intermediate/dense/kernel")[1],
        hidden_act=hidden_act,
        hidden_dropout_prob=round(const("bert/embeddings/dropout/rate", 0.1), 6),
        attention_probs_dropout_prob=round(
            const("bert/encoder/layer_0/attention/self/dropout/rate", 0.1), 6),
        max_position_embeddings=shape("bert/embeddings/position_embeddings")[0],
        type_vocab_size=shape("bert/embeddings/token_type_embeddings")[0],
        initializer_range=round(const(
            "bert/embeddings/word_embeddings/Initializer/truncated_normal/stddev", 0.02), 6))


class BertSource(object):
    """Where the encoder comes from: a TF1 Hub module, or BertModel + config + checkpoint.

    Build one with the class methods; `to_dict` / `from_dict` round-trip it through JSON (run
    manifests). `bert_outputs(...)` builds the encoder in the current graph.

    Attributes:
      kind: "hub" or "checkpoint".
      hub_module_handle: the module handle (hub kind; for the checkpoint kind, the module whose
        weights are restored, if any).
      bert_config: bert.modeling.BertConfig (checkpoint kind).
      bert_config_file: where the config was read from, when it was a file.
      init_checkpoint: checkpoint prefix, BERT directory or hub module directory; None: random.
      use_one_hot_embeddings: one-hot embedding lookup (TPU).

    >>> BertSource.from_hub_module("/models/bert_hub").kind  # doctest: +SKIP
    'hub'
    """

    def __init__(self, kind, hub_module_handle=None, bert_config=None, bert_config_file=None,
                 init_checkpoint=None, use_one_hot_embeddings=False):
        if kind not in KINDS:
            raise BertTF1Error("BertSource kind '%s' is not one of %s" % (kind, ", ".join(KINDS)))
        if kind == HUB_KIND and not hub_module_handle:
            raise BertTF1Error("a hub BertSource needs a hub module handle")
        if kind == CHECKPOINT_KIND and bert_config is None and bert_config_file is None:
            raise BertTF1Error("a checkpoint BertSource needs a BERT config (--bert_config_file)")
        self.kind = kind
        self.hub_module_handle = hub_module_handle
        self.bert_config_file = bert_config_file
        if kind == CHECKPOINT_KIND and bert_config is None:
            bert_config = load_config(bert_config_file)
        self.bert_config = load_config(bert_config) if bert_config is not None else None
        self.init_checkpoint = init_checkpoint
        self.use_one_hot_embeddings = bool(use_one_hot_embeddings)

    @classmethod
    def from_hub_module(cls, handle):
        """The encoder is hub.Module(handle) (not usable under tf.distribute strategies)."""
        return cls(HUB_KIND, hub_module_handle=handle)

    @classmethod
    def from_checkpoint(cls, bert_config, init_checkpoint=None, use_one_hot_embeddings=False):
        """BertModel with `bert_config` (BertConfig, dict or bert_config.json path), restored from
        `init_checkpoint` (None: random initialisation, as run_classifier.py allows)."""
        config_file = bert_config if isinstance(bert_config, str) else None
        return cls(CHECKPOINT_KIND, bert_config=load_config(bert_config),
                   bert_config_file=config_file, init_checkpoint=init_checkpoint,
                   use_one_hot_embeddings=use_one_hot_embeddings)

    @classmethod
    def from_bert_dir(cls, path, use_one_hot_embeddings=False):
        """BertModel from a Google-layout directory (bert_config.json, bert_model.ckpt*)."""

        directory = bert_dir.load_bert_directory(path)
        return cls(CHECKPOINT_KIND, bert_config=directory.config,
                   bert_config_file=directory.config_file, init_checkpoint=directory.checkpoint,
                   use_one_hot_embeddings=use_one_hot_embeddings)

    @classmethod
    def from_hub_module_variables(cls, handle, bert_config=None, use_one_hot_embeddings=False):
        """BertModel restored from a hub module's weights (works under tf.distribute).

        The config is inferred from the module (infer_bert_config_from_hub_module) unless given.
        """
        variables = hub_module_variables_path(handle)
        config_file = bert_config if isinstance(bert_config, str) else None
        config = (load_config(bert_config) if bert_config is not None
                  else infer_bert_config_from_hub_module(handle))
        return cls(CHECKPOINT_KIND, hub_module_handle=handle, bert_config=config,
                   bert_config_file=config_file, init_checkpoint=variables,
                   use_one_hot_embeddings=use_one_hot_embeddings)

    @classmethod
    def from_flags(cls, bert_hub_module_handle=None, bert_config_file=None, init_checkpoint=None,
                   use_one_hot_embeddings=False):
        """The source run_classifier-style flags describe.

        --bert_hub_module_handle (with or without --init_checkpoint, which model_fn_builder
        applies on top): the hub module. --bert_config_file [+ --init_checkpoint]:
        BertModel from the checkpoint. --init_checkpoint alone: a BERT directory (its
        bert_config.json) or a hub module directory (config inferred).
        """
        if bert_hub_module_handle and bert_config_file:
            raise BertTF1Error("give either --bert_hub_module_handle or --bert_config_file, not "
                               "both")
        if bert_hub_module_handle:
            # An --init_checkpoint beside a hub module (e.g. a classifier fine-tuned on it)
            # warm-starts the trainable variables (model_fn_builder's init_checkpoint); the
            # encoder's graph and default weights are still the module's.
            return cls.from_hub_module(bert_hub_module_handle)
        if bert_config_file:
            return cls.from_checkpoint(bert_config_file, init_checkpoint, use_one_hot_embeddings)
        if init_checkpoint:
            tf = _tf()
            if is_hub_module_dir(init_checkpoint):
                return cls.from_hub_module_variables(
                    init_checkpoint, use_one_hot_embeddings=use_one_hot_embeddings)
            config_file = os.path.join(init_checkpoint, "bert_config.json")
            if tf.io.gfile.isdir(init_checkpoint) and tf.io.gfile.exists(config_file):
                return cls.from_checkpoint(config_file, init_checkpoint, use_one_hot_embeddings)
            raise BertTF1Error("--init_checkpoint %s needs --bert_config_file (it is neither a "
                               "BERT directory with bert_config.json nor a hub module)"
                               % init_checkpoint)
        raise BertTF1Error("no BERT given: pass --bert_hub_module_handle, or --bert_config_file "
                           "and --init_checkpoint")

    @property
    def uses_hub_module(self):
        """True when the encoder is a hub.Module (which tf.distribute strategies cannot run)."""
        return self.kind == HUB_KIND

    def as_checkpoint_source(self, use_one_hot_embeddings=None):
        """This source usable under tf.distribute: a hub source becomes its module's weights.

        use_one_hot_embeddings: None keeps this source's setting.
        """
        one_hot = (self.use_one_hot_embeddings if use_one_hot_embeddings is None
                   else bool(use_one_hot_embeddings))
        if self.kind == CHECKPOINT_KIND:
            return self._copy(use_one_hot_embeddings=one_hot)
        return BertSource.from_hub_module_variables(self.hub_module_handle,
                                                    use_one_hot_embeddings=one_hot)

    def without_init_checkpoint(self):
        """A copy that builds the same encoder without restoring it (restore it yourself, e.g.
        with init_bert_from_checkpoint in a TPU scaffold_fn)."""
        return self._copy(init_checkpoint=None)

    def _copy(self, **changes):
        """This source with some fields changed (self when nothing changes)."""
        fields = dict(hub_module_handle=self.hub_module_handle, bert_config=self.bert_config,
                      bert_config_file=self.bert_config_file,
                      init_checkpoint=self.init_checkpoint,
                      use_one_hot_embeddings=self.use_one_hot_embeddings)
        if all(fields[name] == value for name, value in changes.items()):
            return self
        fields.update(changes)
        return BertSource(self.kind, **fields)

    def bert_outputs(self, input_ids, input_mask, segment_ids, is_training, trainable=True):
        """Builds the encoder; returns {pooled_output, sequence_output} (see hub_bert.bert_outputs).

        Raises BertTF1Error for a hub source inside a tf.distribute strategy (before TF's own
        cryptic error).
        """
        return self.encoder(is_training, trainable)(input_ids, input_mask, segment_ids)

    def encoder(self, is_training, trainable=True):
        """`encode(input_ids, input_mask, segment_ids)` -> bert_outputs' dict, callable several
        times on the same weights (hub_bert.bert_encoder, checkpoint_encoder)."""
        if self.kind == HUB_KIND:
            if _tf().distribute.has_strategy():
                raise BertTF1Error("BERT source %s: %s" % (self.hub_module_handle,
                                                           HUB_UNDER_STRATEGY_MESSAGE))
            return hub_bert.bert_encoder(self.hub_module_handle, is_training=is_training,
                                         trainable=trainable)
        return checkpoint_encoder(
            self.bert_config, self.init_checkpoint, is_training=is_training,
            trainable=trainable, use_one_hot_embeddings=self.use_one_hot_embeddings)

    def to_dict(self):
        """A JSON-serialisable description (the config inline, so the dict stands alone)."""
        values = {"kind": self.kind}
        if self.hub_module_handle:
            values["hub_module_handle"] = self.hub_module_handle
        if self.kind == CHECKPOINT_KIND:
            values["bert_config"] = self.bert_config.to_dict()
            if self.bert_config_file:
                values["bert_config_file"] = self.bert_config_file
            values["init_checkpoint"] = self.init_checkpoint
            values["use_one_hot_embeddings"] = self.use_one_hot_embeddings
        return values

    @classmethod
    def from_dict(cls, values):
        """Inverse of to_dict; also accepts {"hub_module_handle": h} or {"bert_config_file": f,
        "init_checkpoint": c} without "kind"."""
        known = {"kind", "hub_module_handle", "bert_config", "bert_config_file",
                 "init_checkpoint", "use_one_hot_embeddings"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BertTF1Error("BERT source: unknown field%s %s (expected %s)" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(known))))
        kind = values.get("kind")
        if kind is None:
            has_checkpoint = any(values.get(key) for key in
                                 ("bert_config", "bert_config_file", "init_checkpoint"))
            kind = CHECKPOINT_KIND if has_checkpoint else HUB_KIND
        return cls(kind, hub_module_handle=values.get("hub_module_handle"),
                   bert_config=values.get("bert_config"),
                   bert_config_file=values.get("bert_config_file"),
                   init_checkpoint=values.get("init_checkpoint"),
                   use_one_hot_embeddings=values.get("use_one_hot_embeddings", False))

    def __repr__(self):
        if self.kind == HUB_KIND:
            return "BertSource(hub=%r)" % self.hub_module_handle
        return "BertSource(config=%r, init_checkpoint=%r)" % (
            self.bert_config_file or "<BertConfig>", self.init_checkpoint)


def as_bert_source(value):
    """A BertSource from a BertSource, a dict (BertSource.from_dict) or a hub module handle."""
    if isinstance(value, BertSource):
        return value
    if isinstance(value, dict):
        return BertSource.from_dict(value)
    if isinstance(value, str) and value:
        return BertSource.from_hub_module(value)
    raise BertTF1Error("BERT source: expected a BertSource, a dict or a hub module handle, "
                       "found %r" % (value,))


def resolve_bert_source(bert_hub_module_handle=None, bert_source=None):
    """The BertSource of create_model / model_fn_builder's two ways of naming BERT.

    Exactly one of `bert_hub_module_handle` (the historical positional argument: a handle; a
    BertSource or dict is accepted too) and `bert_source` (BertSource, dict or handle) is given.
    """
    if bert_hub_module_handle is not None and bert_source is not None:
        raise BertTF1Error("give either bert_hub_module_handle or bert_source, not both (got %r "
                           "and %r)" % (bert_hub_module_handle, bert_source))
    if bert_hub_module_handle is None and bert_source is None:
        raise BertTF1Error("no BERT given: pass bert_hub_module_handle (a TF1 Hub module) or "
                           "bert_source (e.g. BertSource.from_checkpoint(config, checkpoint))")
    return as_bert_source(bert_source if bert_source is not None else bert_hub_module_handle)
