"""Helpers the tests share (conftest.py holds the fixtures). Imported as `from support import ...`:
a module named conftest is ambiguous once a test folder has its own conftest.py."""
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(args, check=True, **kwargs):
    """Runs `python ARGS...` with this interpreter in a fresh process; returns CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    env.update(kwargs.pop("env", {}))
    result = subprocess.run([sys.executable] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, env=env,
                            cwd=kwargs.pop("cwd", REPO_ROOT), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("command %s failed (%d):\n%s\n%s" % (
            args, result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
    return result


def checkpoint_outputs(bert_dir, input_ids, input_mask, segment_ids, mlm_positions):
    """pooled/sequence outputs and MLM logits of modeling.BertModel restored from bert_dir.

    The reference the hub-module tests compare against (arrays in, numpy arrays out).
    """
    import tensorflow as tf
    from bert import modeling

    from bert_tf1.modeling import pretraining_heads

    config = modeling.BertConfig.from_json_file(os.path.join(bert_dir, "bert_config.json"))
    with tf.Graph().as_default():
        model = modeling.BertModel(config, is_training=False, input_ids=tf.constant(input_ids),
                                   input_mask=tf.constant(input_mask),
                                   token_type_ids=tf.constant(segment_ids))
        logits = pretraining_heads.masked_lm_logits(config, model.get_sequence_output(),
                                                    model.get_embedding_table(),
                                                    tf.constant(mlm_positions))
        tf.compat.v1.train.init_from_checkpoint(os.path.join(bert_dir, "bert_model.ckpt"),
                                                {"bert/": "bert/", "cls/": "cls/"})
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(dict(pooled=model.get_pooled_output(),
                                 sequence=model.get_sequence_output(), mlm=logits))


def load_benchmark(name):
    """benchmarks/<name>.py loaded as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "benchmarks_" + name, os.path.join(REPO_ROOT, "benchmarks", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
