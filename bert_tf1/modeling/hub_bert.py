"""BERT from a TF1 Hub module: loading, validation and the tokenizer it carries.

A handle is a local or gs:// / s3:// directory holding a TF1 Hub module (tfhub_module.pb), or a URL
that tensorflow_hub 0.7 resolves and caches under $TFHUB_CACHE_DIR (tfhub.dev is gone; URL
handles only work for mirrors that still serve the TF1 format).

tensorflow_hub 0.7 downloads URL handles with urllib and no timeout (a server that accepts and
never answers hangs the run forever) and makes every later run wait on its download lock
(<cache>/<sha1>.lock) until 10 minutes pass without progress. `resolve_url_handle` bounds the
download with a socket timeout and reports a lock whose owner is gone, with the path to delete.
"""
import contextlib
import hashlib
import os
import socket
import tarfile
import time
import urllib.error

import tensorflow as tf
import tensorflow_hub as hub
from tensorflow_hub import resolver as hub_resolver

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import tokenization as fast_tokenization

TRAIN_TAGS = {"train"}
TOKENS_SIGNATURE = "tokens"
TOKENS_INPUTS = ("input_ids", "input_mask", "segment_ids")
TOKENS_OUTPUTS = ("pooled_output", "sequence_output")
# A URL handle's connect/read timeout; BERT_TF1_URL_TIMEOUT (seconds) overrides it.
URL_TIMEOUT_SECONDS = 60.0
# A download lock older than this, with no download progress, is reported as stale.
STALE_LOCK_SECONDS = 10 * 60


def is_remote_url(handle):
    return handle.startswith("http://") or handle.startswith("https://")


def url_timeout_seconds(environ=None):
    """URL_TIMEOUT_SECONDS, or the BERT_TF1_URL_TIMEOUT environment variable when set."""
    text = (os.environ if environ is None else environ).get("BERT_TF1_URL_TIMEOUT")
    if not text:
        return URL_TIMEOUT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise BertTF1Error("BERT_TF1_URL_TIMEOUT=%s: expected a positive number of seconds"
                           % text)
    return value


def hub_cache_paths(handle):
    """(module directory, lock file) tensorflow_hub 0.7 uses for a URL handle."""
    cache_dir = hub_resolver.tfhub_cache_dir(use_temp=True)
    module_dir = os.path.join(cache_dir, hashlib.sha1(handle.encode("utf8")).hexdigest())
    return module_dir, os.path.abspath(module_dir) + ".lock"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_lock_problem(lock_file, now=None, stale_seconds=STALE_LOCK_SECONDS):
    """Why `lock_file` (tensorflow_hub's "<host>.<pid>.<uid>" lock) is stale, or None.

    Stale: written on this host by a process that no longer runs, or untouched (file and the
    download's temporary directory) for `stale_seconds`. A live owner's lock is not stale.
    """
    try:
        with open(lock_file) as handle:
            owner = handle.read().strip()
        touched = os.path.getmtime(lock_file)
    except OSError:
        return None  # gone meanwhile: nothing to report
    parts = owner.rsplit(".", 2)  # hub 0.7 writes "<hostname>.<pid>.<uid>"
    host, pid_text, uid = parts if len(parts) == 3 else ("", "", "")
    if host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
        return "its owner, process %s on this host, is no longer running" % pid_text
    download = "%s.%s.tmp" % (lock_file[:-len(".lock")], uid)
    if os.path.isdir(download):
        touched = max([touched] + [os.path.getmtime(os.path.join(root, name))
                                   for root, _, names in os.walk(download) for name in names])
    idle = (time.time() if now is None else now) - touched
    if idle > stale_seconds:
        return "the download (owner %s) has not progressed for %d minutes" % (owner, idle // 60)
    return None


@contextlib.contextmanager
def _socket_timeout(seconds):
    # hub 0.7 calls urllib.request.urlopen(request) without a timeout; urllib's sockets take
    # the process-wide default, so setting it bounds both the connect and every read.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def resolve_url_handle(handle, timeout=None):
    """Downloads (or finds cached) a URL hub handle; returns the local module directory.

    Local and gs:// / s3:// handles are returned as they are. Bounded: every connect and read
    waits at most `timeout` seconds (default url_timeout_seconds()); a stale download lock
    raises BertTF1Error naming the lock file to delete instead of waiting on it.

    Raises:
      BertTF1Error naming the URL for connection failures, timeouts, HTTP errors and
      downloads that are not a TF1 Hub module archive.
    """
    if not is_remote_url(handle):
        return handle
    timeout = url_timeout_seconds() if timeout is None else timeout
    module_dir, lock_file = hub_cache_paths(handle)
    if os.path.exists(lock_file):
        problem = stale_lock_problem(lock_file)
        if problem:
            raise BertTF1Error(
                "hub module %s: tensorflow_hub's download lock %s is stale (%s); "
                "delete that file (and %s.*.tmp if present), then rerun" % (
                    handle, lock_file, problem, module_dir))
    try:
        with _socket_timeout(timeout):
            return hub.resolve(handle)
    except (socket.timeout, urllib.error.URLError, ConnectionError) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, socket.timeout) or "timed out" in str(reason):
            reason = "no answer within %g s (BERT_TF1_URL_TIMEOUT sets the limit)" % timeout
        raise BertTF1Error("hub module %s: cannot download it: %s"
                           % (handle, reason))
    except (IOError, ValueError, tarfile.TarError, tf.errors.OpError) as error:  # not a module
        raise BertTF1Error("hub module %s: the download is not a TF1 Hub module archive (%s)"
                           % (handle, (str(error).strip() or type(error).__name__).splitlines()[0]))


def check_hub_module(handle):
    """Raises BertTF1Error unless `handle` is a TF1 Hub module with BERT's signatures.

    A TF2 SavedModel (saved_model.pb without tfhub_module.pb, e.g. a Keras-era BERT download)
    cannot be loaded by hub.Module; say so instead of failing deep inside tensorflow_hub.
    URL handles are downloaded first, bounded (resolve_url_handle), then checked the same way.
    """

    handle = resolve_url_handle(handle)
    if not tf.io.gfile.isdir(handle):
        raise BertTF1Error("--bert_hub_module_handle %s: directory not found (expected a TF1 Hub "
                           "module directory, e.g. one written by bert-tf1-export-hub)" % handle)
    if not tf.io.gfile.exists(os.path.join(handle, "tfhub_module.pb")):
        if tf.io.gfile.exists(os.path.join(handle, "saved_model.pb")):
            raise BertTF1Error(
                "--bert_hub_module_handle %s is a TF2 SavedModel, not a TF1 Hub module (no "
                "tfhub_module.pb). hub.Module in TF 1.15 needs the TF1 format; export one from a "
                "checkpoint with bert-tf1-export-hub, or run from the checkpoint with "
                "--init_checkpoint/--bert_config_file/--vocab_file" % handle)
        raise BertTF1Error("--bert_hub_module_handle %s holds no tfhub_module.pb: not a TF1 Hub "
                           "module" % handle)

    try:
        spec = load_spec(handle)
    except (ValueError, IOError, tf.errors.OpError) as error:
        raise BertTF1Error("--bert_hub_module_handle %s: cannot load the TF1 Hub module (%s)"
                           % (handle, error))
    for tags in (TRAIN_TAGS, set()):
        check_bert_signatures(handle, spec, tags)


# hub.load_module_spec parses saved_model.pb on every call (MiniLM's: ~1 s); a run asks for
# the same module's spec up to four times (check, tokenizer, train graph, eval graph).
_SPECS = {}


def load_spec(handle):
    """hub.load_module_spec(handle), parsed once per process (a ModuleSpec is read-only)."""
    if handle not in _SPECS:
        _SPECS[handle] = hub.load_module_spec(handle)
    return _SPECS[handle]


def _describe_signatures(spec, tags):
    """'default(x) -> (y); tokens(...)': each signature with its input and output names."""
    described = []
    for name in sorted(spec.get_signature_names(tags=tags)):
        described.append("%s(%s) -> (%s)" % (
            name, ", ".join(sorted(spec.get_input_info_dict(name, tags=tags))),
            ", ".join(sorted(spec.get_output_info_dict(name, tags=tags)))))
    return "; ".join(described) or "none"


def check_bert_signatures(handle, spec, tags):
    """Raises BertTF1Error unless `spec` has BERT's `tokens` signature for `tags`.

    Google's BERT modules (and bert-tf1-export-hub's) have tokens(input_ids, input_mask,
    segment_ids) -> (pooled_output, sequence_output) in the {"train"} and the default graph
    variant; any other module would fail deep inside tensorflow_hub ("Signature 'tokens' is
    missing", or a KeyError on the outputs) while the model is being built.

    Args:
      handle: the module handle, for the message.
      spec: hub.ModuleSpec (hub.load_module_spec(handle)).
      tags: the tag set to check (set() is the default graph variant).
    """
    variants = spec.get_tags()
    if frozenset(tags) not in [frozenset(t) for t in variants]:
        raise BertTF1Error(
            "hub module %s has no graph variant with tags %s (it has %s): BERT modules have "
            "{'train'} (dropout on, for fine-tuning) and the default set()" % (
                handle, sorted(tags) or "set()",
                ", ".join(str(sorted(t)) if t else "set()" for t in variants)))
    problem = None
    if TOKENS_SIGNATURE not in spec.get_signature_names(tags=tags):
        problem = "no '%s' signature" % TOKENS_SIGNATURE
    else:
        inputs = spec.get_input_info_dict(TOKENS_SIGNATURE, tags=tags)
        outputs = spec.get_output_info_dict(TOKENS_SIGNATURE, tags=tags)
        missing = ([name for name in TOKENS_INPUTS if name not in inputs],
                   [name for name in TOKENS_OUTPUTS if name not in outputs])
        if missing[0] or missing[1]:
            problem = "a '%s' signature without %s" % (TOKENS_SIGNATURE, " and ".join(
                part for part in ("input(s) " + ", ".join(missing[0]) if missing[0] else "",
                                  "output(s) " + ", ".join(missing[1]) if missing[1] else "")
                if part))
    if problem:
        raise BertTF1Error(
            "hub module %s (graph variant %s) has %s; BERT needs tokens(%s) -> (%s). Its "
            "signatures: %s" % (handle, sorted(tags) or "set()", problem,
                                ", ".join(TOKENS_INPUTS), ", ".join(TOKENS_OUTPUTS),
                                _describe_signatures(spec, tags)))


def bert_outputs(handle, input_ids, input_mask, segment_ids, is_training, trainable=True):
    """Applies the module's `tokens` signature.

    Args:
      handle: hub module handle.
      input_ids, input_mask, segment_ids: int32 Tensors of shape [batch_size, seq_length].
      is_training: True builds the module with tags={"train"} (BERT's dropout on). The classic
        IMDB notebook never passed tags, so it fine-tuned without BERT's internal dropout.
      trainable: False freezes the encoder (its variables stay out of TRAINABLE_VARIABLES).

    Returns:
      dict with pooled_output float [batch_size, hidden_size] and sequence_output float
      [batch_size, seq_length, hidden_size].
    """
    return bert_encoder(handle, is_training, trainable)(input_ids, input_mask, segment_ids)


def bert_encoder(handle, is_training, trainable=True):
    """Instantiates the module once; returns `encode(input_ids, input_mask, segment_ids)`.

    Each call of `encode` applies the same module (one set of variables) and returns what
    bert_outputs returns for those inputs; classifier.length_split calls it once per part of a
    batch. Arguments as bert_outputs.
    """
    tags = TRAIN_TAGS if is_training else set()
    try:
        spec = load_spec(handle)
    except ValueError as error:  # e.g. a URL handle that resolved to something else
        raise BertTF1Error("hub module %s: cannot load it (%s)" % (handle, error))
    # Checked here too: URL handles and library callers never went through check_hub_module.
    check_bert_signatures(handle, spec, tags)
    module = hub.Module(spec, tags=tags, trainable=trainable)

    def encode(input_ids, input_mask, segment_ids):
        inputs = dict(input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids)
        outputs = module(inputs=inputs, signature=TOKENS_SIGNATURE, as_dict=True)
        return {name: outputs[name] for name in TOKENS_OUTPUTS}

    return encode


def tokenization_info(handle):
    """Returns (vocab_file, do_lower_case) from the module's tokenization_info signature.

    Both outputs are constants in every BERT module (Google's and bert-tf1-export-hub's): they
    are read from the module's graph definition (constant_tokenization_info). Instantiating the
    module and running a session, as google-research/bert does, imports the whole BERT graph
    first: 8 s of a tiny BERT's start-up on 2 cores. Modules whose outputs are computed fall
    back to that.
    """

    check_hub_module(handle)
    found = constant_tokenization_info(handle)
    if found is not None:
        return found
    with tf.Graph().as_default():
        module = hub.Module(handle)
        if "tokenization_info" not in module.get_signature_names():
            raise BertTF1Error("hub module %s has no tokenization_info signature (signatures: %s)"
                               % (handle, ", ".join(sorted(module.get_signature_names()))))
        info = module(signature="tokenization_info", as_dict=True)
        with tf.compat.v1.Session() as sess:
            vocab_file, do_lower_case = sess.run([info["vocab_file"], info["do_lower_case"]])
    return vocab_file.decode("utf-8"), bool(do_lower_case)


def _constant_value(nodes, tensor_name):
    """numpy value of the Const behind `tensor_name` (through Identity ops), else None."""
    name = tensor_name.split(":")[0]
    for _ in range(16):
        node = nodes.get(name)
        if node is None:
            return None
        if node.op == "Const":
            return tf.make_ndarray(node.attr["value"].tensor)
        if node.op != "Identity" or not node.input:
            return None
        name = node.input[0].lstrip("^").split(":")[0]
    return None


def constant_tokenization_info(handle):
    """(vocab_file, do_lower_case) read from the module's default graph without running it.

    load_module_spec has already pointed the vocab asset's constant at `handle`/assets/, as
    hub.Module would. Returns None when either output is not a constant (or the layout is
    unexpected): the caller then runs the signature.
    """
    try:
        meta_graph = load_spec(handle)._saved_model_handler.get_meta_graph(tags=set())
        outputs = meta_graph.signature_def["tokenization_info"].outputs
        nodes = {node.name: node for node in meta_graph.graph_def.node}
        vocab_file = _constant_value(nodes, outputs["vocab_file"].name)
        do_lower_case = _constant_value(nodes, outputs["do_lower_case"].name)
    except (AttributeError, KeyError, ValueError, TypeError):
        return None
    if vocab_file is None or do_lower_case is None or vocab_file.shape or do_lower_case.shape:
        return None
    return vocab_file.item().decode("utf-8"), bool(do_lower_case.item())


def create_tokenizer_from_hub_module(bert_hub_module_handle):
    """A bert.tokenization.FullTokenizer with the module's vocabulary and casing."""

    compat.setup_tf1()
    vocab_file, do_lower_case = tokenization_info(bert_hub_module_handle)
    return fast_tokenization.full_tokenizer(vocab_file, do_lower_case)
