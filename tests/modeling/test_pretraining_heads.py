"""pretraining_heads equals google-research/bert's own run_pretraining heads on a checkpoint.

Run in a fresh process: importing bert.run_pretraining defines absl flags that would clash with
our CLIs' flags in this one.
"""
import json

import numpy as np
from support import run_python

COMPARE = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
from bert import modeling, run_pretraining as google
from bert_tf1 import compat
from bert_tf1.modeling import pretraining_heads
compat.setup_tf1()
bert_dir = sys.argv[1]
config = modeling.BertConfig.from_json_file(os.path.join(bert_dir, "bert_config.json"))
rng = np.random.RandomState(0)
ids = rng.randint(5, config.vocab_size, size=[3, 12]).astype(np.int32)
mask = np.ones([3, 12], np.int32); mask[2, 9:] = 0
segments = np.zeros([3, 12], np.int32); segments[:, 6:] = 1
positions = np.array([[1, 4, 7], [2, 3, 0], [5, 8, 0]], np.int32)

def run(build):
    with tf.Graph().as_default():
        model = modeling.BertModel(config, False, tf.constant(ids), tf.constant(mask),
                                   tf.constant(segments))
        fetches = build(model)
        tf.compat.v1.train.init_from_checkpoint(os.path.join(bert_dir, "bert_model.ckpt"),
                                                {"bert/": "bert/", "cls/": "cls/"})
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(fetches)

def googles(model):
    zeros = tf.zeros_like(tf.constant(positions))
    _, _, mlm = google.get_masked_lm_output(config, model.get_sequence_output(),
                                            model.get_embedding_table(), tf.constant(positions),
                                            zeros, tf.ones_like(zeros, tf.float32))
    _, _, nsp = google.get_next_sentence_output(config, model.get_pooled_output(),
                                                tf.zeros([3], tf.int32))
    return {"mlm": mlm, "nsp": nsp}

def ours(model):
    mlm = pretraining_heads.masked_lm_logits(config, model.get_sequence_output(),
                                             model.get_embedding_table(), tf.constant(positions))
    nsp = pretraining_heads.next_sentence_logits(config, model.get_pooled_output())
    return {"mlm": tf.nn.log_softmax(tf.reshape(mlm, [-1, config.vocab_size])),
            "nsp": tf.nn.log_softmax(nsp)}

a, b = run(googles), run(ours)
print(json.dumps({"difference": {k: float(np.abs(a[k] - b[k]).max()) for k in a},
                  "shape": {k: list(a[k].shape) for k in a}}))
"""


def test_heads_match_googles_run_pretraining(tiny_bert_dir):
    result = json.loads(run_python(["-c", COMPARE, tiny_bert_dir]).stdout.strip().splitlines()[-1])
    vocab_size = sum(1 for _ in open(tiny_bert_dir + "/vocab.txt"))
    # Google's heads return log-probabilities of every position, flattened.
    assert result["shape"] == {"mlm": [9, vocab_size], "nsp": [3, 2]}
    for name, difference in result["difference"].items():
        assert np.isfinite(difference) and difference < 1e-5, (name, difference)
