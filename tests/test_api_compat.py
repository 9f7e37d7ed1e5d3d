"""bert_tf1.run_classifier keeps google-research/bert's names and leading parameters."""
import inspect
import json
import os

from support import run_python

from bert_tf1 import run_classifier

# Runs in a fresh process: importing Google's modules defines absl flags.
GOOGLE_SIGNATURES = r"""
import inspect, json
from bert import run_classifier, run_classifier_with_tfhub
out = {}
for name in %r:
    # The hub script's create_model/model_fn_builder (hub handle, not bert_config) are ours.
    module = run_classifier_with_tfhub if name in vars(run_classifier_with_tfhub) \
        and inspect.isfunction(vars(run_classifier_with_tfhub)[name]) and \
        vars(run_classifier_with_tfhub)[name].__module__ == run_classifier_with_tfhub.__name__ \
        else run_classifier
    out[module.__name__ + "." + name] = list(inspect.signature(getattr(module, name)).parameters)
print(json.dumps(out))
""" % (run_classifier.__all__,)


def test_every_google_name_exists_with_the_same_leading_parameters():
    google = json.loads(run_python(["-c", GOOGLE_SIGNATURES]).stdout.strip().splitlines()[-1])
    assert len(google) >= 11
    for qualified, parameters in google.items():
        name = qualified.rsplit(".", 1)[1]
        ours = list(inspect.signature(getattr(run_classifier, name)).parameters)
        assert ours[:len(parameters)] == parameters, (qualified, parameters, ours)


def test_importing_defines_no_flags():
    code = ("from absl import flags; import bert_tf1.run_classifier; "
            "print(sorted(k for k in flags.FLAGS if k in ('data_dir', 'task_name')))")
    assert run_python(["-c", code]).stdout.strip().splitlines()[-1] == "[]"


FLAG_DEFAULTS = r"""
import json, sys
from absl import flags
modules = sys.argv[1].split(",")
for module in modules:
    __import__(module)
out = {}
for module_name, module_flags in flags.FLAGS.flags_by_module_dict().items():
    if any(module_name.endswith(m.rsplit(".", 1)[-1]) for m in modules):
        for flag in module_flags:
            out[flag.name] = flag.default
print(json.dumps(out))
"""


def flag_defaults(modules):
    result = run_python(["-c", FLAG_DEFAULTS, ",".join(modules)])
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_flags_are_a_superset_of_googles_with_the_same_defaults():
    google = flag_defaults(["bert.run_classifier", "bert.run_classifier_with_tfhub"])
    assert {"task_name", "bert_hub_module_handle", "init_checkpoint", "num_tpu_cores"} <= set(
        google)
    ours = json.loads(run_python(["-c", (
        "import json; from absl import flags; "
        "from bert_tf1.cli import run_classifier_hub as cli; cli.define_flags(); "
        "print(json.dumps({n: flags.FLAGS[n].default for n in flags.FLAGS}))")]
    ).stdout.strip().splitlines()[-1])
    missing = sorted(set(google) - set(ours))
    assert not missing, "flags of google-research/bert missing: %s" % missing
    different = {name: (google[name], ours[name]) for name in google
                 if google[name] != ours[name]}
    assert not different, "defaults differ (google, ours): %s" % different


def test_run_classifier_py_checkpoint_signatures_build_and_restore(tiny_bert_dir, tmp_path):
    """Google's run_classifier.py calls: create_model(bert_config, ...) and
    model_fn_builder(bert_config, num_labels, init_checkpoint, ...) with TPUEstimator on CPU."""
    import numpy as np
    import pytest
    import tensorflow as tf
    from bert import modeling

    config = modeling.BertConfig.from_json_file(os.path.join(tiny_bert_dir, "bert_config.json"))
    checkpoint = os.path.join(tiny_bert_dir, "bert_model.ckpt")
    with tf.Graph().as_default():
        ids = tf.zeros([3, 8], tf.int32)
        loss, per_example, logits, probabilities = run_classifier.create_model(
            config, False, ids, tf.ones([3, 8], tf.int32), ids, tf.zeros([3], tf.int32), 2,
            False)
        assert logits.shape.as_list() == [3, 2] and per_example.shape.as_list() == [3]
        assert {v.name.split("/")[0] for v in tf.compat.v1.global_variables()} >= {"bert"}

    model_fn = run_classifier.model_fn_builder(
        bert_config=config, num_labels=2, init_checkpoint=checkpoint, learning_rate=0.0,
        num_train_steps=1, num_warmup_steps=0, use_tpu=False, use_one_hot_embeddings=False)
    features = [run_classifier.InputFeatures([2, 10 + i, 3, 0], [1, 1, 1, 0], [0] * 4, i % 2)
                for i in range(4)]
    estimator = tf.compat.v1.estimator.tpu.TPUEstimator(
        use_tpu=False, model_fn=model_fn, train_batch_size=4, eval_batch_size=4,
        config=tf.compat.v1.estimator.tpu.RunConfig(model_dir=str(tmp_path / "run")))
    estimator.train(run_classifier.input_fn_builder(features, 4, True, True), max_steps=1)
    # learning_rate 0: the trained model still holds the checkpoint's BERT, not a random one.
    name = "bert/embeddings/word_embeddings"
    np.testing.assert_array_equal(estimator.get_variable_value(name),
                                  tf.train.load_checkpoint(checkpoint).get_tensor(name))

    with pytest.raises(TypeError, match="missing arguments of run_classifier.py's form: "
                                        "init_checkpoint"):
        run_classifier.model_fn_builder(bert_config=config, num_labels=2, learning_rate=1e-5,
                                        num_train_steps=1, num_warmup_steps=0, use_tpu=False)
