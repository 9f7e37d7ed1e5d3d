"""modeling.hub_bert: a TF1 Hub module without BERT's `tokens` signature is one clear error.

The modules here are exported in the test: tiny TF1 Hub modules with other signatures (a text
embedding's "default", a "tokens" signature with other outputs, no "train" graph variant).
"""
import os

import pytest
import tensorflow as tf
import tensorflow_hub as hub

from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import hub_bert


def export_module(path, signature, outputs, tag_sets=({"train"}, set())):
    """Exports a TF1 Hub module with one signature over the three BERT input placeholders.

    outputs: {name: width} of float outputs [batch, width] computed from input_ids.
    """
    def module_fn():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_ids")
        mask = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_mask")
        segments = tf.compat.v1.placeholder(tf.int32, [None, None], name="segment_ids")
        weight = tf.compat.v1.get_variable("weight", [1], initializer=tf.ones_initializer())
        summed = tf.cast(tf.reduce_sum(ids + mask + segments, axis=1, keepdims=True), tf.float32)
        inputs = {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
        if signature == "default":
            inputs = ids  # a text-embedding-like module: one unnamed input
        hub.add_signature(name=signature, inputs=inputs, outputs={
            name: tf.tile(summed * weight, [1, width]) for name, width in outputs.items()})

    spec = hub.create_module_spec(module_fn, tags_and_args=[(tags, {}) for tags in tag_sets])
    with tf.Graph().as_default():
        module = hub.Module(spec)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            module.export(path, session)
    return path


@pytest.fixture(scope="module")
def odd_modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd_hub")
    return {
        "embedding": export_module(str(root / "embedding"), "default", {"default": 8}),
        "other_outputs": export_module(str(root / "other_outputs"), "tokens", {"embedding": 8}),
        "no_train_variant": export_module(str(root / "no_train"), "tokens",
                                          {"pooled_output": 4, "sequence_output": 4},
                                          tag_sets=(set(),)),
    }


def test_module_without_tokens_signature_names_handle_and_signatures(odd_modules):
    handle = odd_modules["embedding"]
    with pytest.raises(BertTF1Error) as error:
        hub_bert.check_hub_module(handle)
    message = str(error.value)
    assert handle in message and "no 'tokens' signature" in message
    assert "Its signatures: default(default) -> (default)" in message
    assert "tokens(input_ids, input_mask, segment_ids) -> (pooled_output, sequence_output)" \
        in message


def test_tokens_signature_without_bert_outputs(odd_modules):
    handle = odd_modules["other_outputs"]
    with pytest.raises(BertTF1Error, match="a 'tokens' signature without output\\(s\\) "
                                           "pooled_output, sequence_output") as error:
        hub_bert.check_hub_module(handle)
    assert "tokens(input_ids, input_mask, segment_ids) -> (embedding)" in str(error.value)


def test_module_without_a_train_graph_variant(odd_modules):
    with pytest.raises(BertTF1Error, match="no graph variant with tags \\['train'\\] \\(it has "
                                           "set\\(\\)\\)"):
        hub_bert.check_hub_module(odd_modules["no_train_variant"])


def test_building_the_encoder_checks_too(odd_modules):
    """Library callers (and URL handles) reach bert_outputs without check_hub_module."""
    with tf.Graph().as_default():
        ids = tf.zeros([2, 4], tf.int32)
        with pytest.raises(BertTF1Error, match="no 'tokens' signature"):
            hub_bert.bert_outputs(odd_modules["embedding"], ids, ids, ids, is_training=False)
        with pytest.raises(BertTF1Error, match="without output"):
            hub_bert.bert_outputs(odd_modules["other_outputs"], ids, ids, ids, is_training=True)


def test_bert_module_passes(tiny_hub_module):
    hub_bert.check_hub_module(tiny_hub_module)
    with tf.Graph().as_default():
        ids = tf.ones([2, 4], tf.int32)
        outputs = hub_bert.bert_outputs(tiny_hub_module, ids, ids, ids, is_training=False)
    assert sorted(outputs) == ["pooled_output", "sequence_output"]
    assert outputs["sequence_output"].shape.as_list()[-1] == 128


def test_run_with_such_a_module_fails_before_writing(odd_modules, tmp_path):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=2)
    output_dir = str(tmp_path / "out")
    with pytest.raises(BertTF1Error, match="no 'tokens' signature"):
        run_classifier(ClassifierRunSettings(
            task_name="imdb", data_dir=data_dir, output_dir=output_dir, do_train=True,
            bert_hub_module_handle=odd_modules["embedding"], show_progress=False))
    assert not os.path.exists(output_dir)



def session_tokenization_info(handle):
    """google-research/bert's way: instantiate the module and run the signature."""
    with tf.Graph().as_default():
        info = hub.Module(handle)(signature="tokenization_info", as_dict=True)
        with tf.compat.v1.Session() as session:
            vocab_file, do_lower_case = session.run([info["vocab_file"], info["do_lower_case"]])
    return vocab_file.decode("utf-8"), bool(do_lower_case)


def test_tokenization_info_read_from_the_graph_equals_running_the_module(tiny_hub_module):
    expected = session_tokenization_info(tiny_hub_module)
    assert expected == (os.path.join(tiny_hub_module, "assets", "vocab.txt"), True)
    assert hub_bert.constant_tokenization_info(tiny_hub_module) == expected
    assert hub_bert.tokenization_info(tiny_hub_module) == expected


@pytest.mark.parametrize("casing", ["constant", "computed"])
def test_tokenization_info_of_a_cased_module(tmp_path, casing):
    """do_lower_case False as a constant is read from the graph; computed (not a Const), the
    graph read gives up (None) and tokenization_info runs the signature instead."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")

    def module_fn():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_ids")
        hub.add_signature(name="tokens", inputs={"input_ids": ids, "input_mask": ids,
                                                 "segment_ids": ids},
                          outputs={"pooled_output": tf.cast(ids, tf.float32),
                                   "sequence_output": tf.cast(ids, tf.float32)})
        vocab_file = tf.constant(str(vocab))
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, vocab_file)
        do_lower_case = (tf.constant(False) if casing == "constant"
                         else tf.equal(tf.strings.length(vocab_file), -1))
        hub.add_signature(name="tokenization_info", inputs={},
                          outputs={"vocab_file": vocab_file, "do_lower_case": do_lower_case})

    spec = hub.create_module_spec(module_fn, tags_and_args=[({"train"}, {}), (set(), {})])
    module = str(tmp_path / "module")
    with tf.Graph().as_default():
        exported = hub.Module(spec)
        with tf.compat.v1.Session() as session:
            exported.export(module, session)
    expected = (os.path.join(module, "assets", "vocab.txt"), False)
    assert session_tokenization_info(module) == expected
    assert hub_bert.constant_tokenization_info(module) == (
        expected if casing == "constant" else None)
    assert hub_bert.tokenization_info(module) == expected
