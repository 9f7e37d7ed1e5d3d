"""modeling.optimization: Google's AdamW as a standard Optimizer, working under MirroredStrategy."""
import collections

import numpy as np
import pytest
import tensorflow as tf
from bert import optimization as google_optimization

from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import optimization

INIT_LR = 0.1


def google_schedule(step, init_lr, num_train_steps, num_warmup_steps):
    """The learning rate bert.optimization.create_optimizer intends for `step` (numpy)."""
    if step < num_warmup_steps:
        return init_lr * step / num_warmup_steps
    return init_lr * (1.0 - min(step, num_train_steps) / num_train_steps)


def toy_loss(use_resource, seed=0, sparse_bias=False):
    """A loss over an embedding (sparse gradient), a kernel, a bias and a LayerNorm gamma.

    Its gradient norm is far above 1 at the start, so clipping matters. sparse_bias adds a
    gathered variable excluded from weight decay ("type_bias": sparse and not decayed).
    """
    rng = np.random.RandomState(seed)
    with tf.compat.v1.variable_scope("", use_resource=use_resource):
        embeddings = tf.compat.v1.get_variable(
            "embeddings/word_embeddings", initializer=rng.randn(10, 4).astype(np.float32))
        kernel = tf.compat.v1.get_variable("dense/kernel",
                                           initializer=rng.randn(4, 3).astype(np.float32))
        bias = tf.compat.v1.get_variable("dense/bias", initializer=rng.randn(3).astype(np.float32))
        gamma = tf.compat.v1.get_variable("LayerNorm/gamma",
                                          initializer=rng.randn(3).astype(np.float32))
        if sparse_bias:
            type_bias = tf.compat.v1.get_variable(
                "embeddings/type_bias", initializer=rng.randn(5, 4).astype(np.float32))
    hidden = tf.gather(embeddings, tf.constant([1, 2, 2, 5, 7, 1]))  # repeated ids: summed rows
    if sparse_bias:
        hidden += tf.gather(type_bias, tf.constant([0, 3, 3, 1, 0, 0]))
    outputs = (tf.matmul(hidden, kernel) + bias) * gamma
    return tf.reduce_mean(tf.square(outputs - 1.0)) * 3.0


def run_steps(train_op, steps, feed_fn=None, extra=None):
    """Runs `steps` train ops from fresh variables; returns ({var name: value}, extra values)."""
    extras = []
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        for step in range(steps):
            if extra is not None:
                extras.append(sess.run(extra))
            sess.run(train_op, feed_fn(step) if feed_fn else None)
        values = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
    return values, extras


def assert_same_values(expected, actual, atol):
    assert sorted(expected) == sorted(actual)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], atol=atol, rtol=0, err_msg=name)


@pytest.mark.parametrize("use_resource", [False, True])
def test_matches_google_adamw_step_for_step(use_resource):
    """Our create_optimizer == Google's optimizer + clipping fed the intended schedule.

    12 steps of a 10-step schedule with 3 warm-up steps: warm-up (including the zero rate at step
    0), decay, and the rate held at 0 after num_train_steps. Ref and resource variables exercise
    _apply_dense/_apply_sparse and _resource_apply_dense/_resource_apply_sparse.
    """
    num_train_steps, num_warmup_steps, steps = 10, 3, 12
    with tf.Graph().as_default():
        loss = toy_loss(use_resource)
        learning_rate = tf.compat.v1.placeholder(tf.float32, [])
        tvars = tf.compat.v1.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(loss, tvars), clip_norm=1.0)
        google_op = google_optimization.AdamWeightDecayOptimizer(
            learning_rate, weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
            exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]).apply_gradients(
                zip(grads, tvars))
        norm = tf.linalg.global_norm(tf.gradients(loss, tvars))
        expected, norms = run_steps(
            google_op, steps, lambda step: {learning_rate: google_schedule(
                step, INIT_LR, num_train_steps, num_warmup_steps)}, extra=norm)
    assert max(norms) > 2.0, norms  # clipping is exercised
    with tf.Graph().as_default():
        train_op = optimization.create_optimizer(toy_loss(use_resource), INIT_LR,
                                                 num_train_steps, num_warmup_steps)
        actual, _ = run_steps(train_op, steps)
    assert actual.pop("global_step") == steps
    assert_same_values(expected, actual, atol=1e-6)
    initial = np.random.RandomState(0).randn(10, 4)  # the embedding (sparse gradient) trained
    assert np.abs(actual["embeddings/word_embeddings"] - initial).max() > 0.1


def test_matches_google_create_optimizer():
    """Same variables, slot names, global step and values as bert.optimization.create_optimizer.

    Google's train op increments the global step without ordering it against the read of the step
    for the learning rate (a race: the first step sometimes uses the step-1 rate). A schedule that
    is flat over these steps (no warm-up, a huge num_train_steps) makes the race irrelevant.
    """
    steps = 5
    results = {}
    for name, create in (("google", google_optimization.create_optimizer),
                         ("ours", optimization.create_optimizer)):
        with tf.Graph().as_default():
            train_op = create(toy_loss(False), INIT_LR, 10 ** 9, 0, False)
            results[name], _ = run_steps(train_op, steps)
    assert results["google"]["global_step"] == results["ours"]["global_step"] == steps
    assert "dense/kernel/adam_m" in results["ours"] and "dense/kernel/adam_v" in results["ours"]
    assert_same_values(results["google"], results["ours"], atol=1e-6)
    initial = np.random.RandomState(0).randn(10, 4)  # the embedding really trained
    assert np.abs(results["ours"]["embeddings/word_embeddings"] - initial).max() > 0.1


def adamw_op(optimizer_class, use_resource):
    """toy_loss(sparse_bias=True) trained by `optimizer_class` at a constant rate of 0.1.

    The gradients are clipped as create_optimizer does: the global norm needs every gradient,
    so no variable is updated while another's gradient still reads it (without that barrier,
    ref-variable updates race with the backward pass, Google's and ours alike).
    """
    loss = toy_loss(use_resource, sparse_bias=True)
    tvars = tf.compat.v1.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(loss, tvars), clip_norm=1.0)
    return optimizer_class(0.1, weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                           exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]
                           ).apply_gradients(zip(grads, tvars))


@pytest.mark.parametrize("use_resource", [False, True])
def test_fused_update_equals_google_update(use_resource):
    """The fused kernels (ApplyGradientDescent for the decay, ApplyAdam) give Google's AdamW.

    Sparse and dense, decayed and not decayed, ref and resource variables. The Adam step is
    ~0.3 per step here, so ApplyAdam's own float32 coefficients (beta_2's 1 - f32(0.999) is
    1.3e-5 below f32(0.001)) would show as ~2e-5 after 3 steps; _adam_constants' correction
    leaves float32 rounding (<1e-6). The slots hold Google's times the documented scales.
    """
    steps = 3
    with tf.Graph().as_default():
        expected, _ = run_steps(
            adamw_op(google_optimization.AdamWeightDecayOptimizer, use_resource), steps)
    with tf.Graph().as_default():
        train_op = adamw_op(optimization.AdamWeightDecayOptimizer, use_resource)
        op_types = collections.Counter(op.type for op in tf.compat.v1.get_default_graph()
                                       .get_operations())
        actual, _ = run_steps(train_op, steps)
    prefix = "Resource" if use_resource else ""
    assert op_types[prefix + "ApplyAdam"] == 5
    # Decayed: word_embeddings and dense/kernel; not: the biases and LayerNorm/gamma.
    assert op_types[prefix + "ApplyGradientDescent"] == 2
    assert sorted(actual) == sorted(expected)
    r1 = (1.0 - float(np.float32(0.9))) / float(np.float32(0.1))
    r2 = (1.0 - float(np.float32(0.999))) / float(np.float32(0.001))
    for name in expected:
        if name.endswith("/adam_m"):
            np.testing.assert_allclose(actual[name], r1 * expected[name], atol=1e-7,
                                       err_msg=name)
        elif name.endswith("/adam_v"):
            np.testing.assert_allclose(actual[name], r2 * expected[name], rtol=5e-6,
                                       atol=1e-12, err_msg=name)
        else:
            np.testing.assert_allclose(actual[name], expected[name], atol=1e-6, rtol=0,
                                       err_msg=name)
    rng = np.random.RandomState(0)  # toy_loss's draws: the sparse, undecayed variable trained
    initial = [rng.randn(*shape) for shape in ([10, 4], [4, 3], [3], [3], [5, 4])][-1]
    assert np.abs(actual["embeddings/type_bias"] - initial).max() > 0.1


@pytest.mark.parametrize("num_train_steps,num_warmup_steps,expected", [
    (10, 4, {0: 0.0, 1: 0.25, 3: 0.75, 4: 0.6, 5: 0.5, 9: 0.1, 10: 0.0, 15: 0.0}),
    (10, 0, {0: 1.0, 1: 0.9, 5: 0.5, 10: 0.0, 12: 0.0}),
])
def test_learning_rate_schedule(num_train_steps, num_warmup_steps, expected):
    with tf.Graph().as_default():
        step = tf.compat.v1.placeholder(tf.int64, [])
        rate = optimization.learning_rate_schedule(1.0, num_train_steps, num_warmup_steps,
                                                   global_step=step)
        with tf.compat.v1.Session() as sess:
            actual = {s: sess.run(rate, {step: s}) for s in expected}
    for s, value in expected.items():
        assert actual[s] == pytest.approx(value, abs=1e-6), (s, actual)


def test_weight_decay_skips_layer_norm_and_bias():
    """With a zero gradient only weight decay moves a variable: w <- w - lr * 0.01 * w."""
    names = ["dense/kernel", "dense/bias", "output_bias", "LayerNorm/gamma",
             "encoder/layer_norm/beta", "output_weights"]
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=np.full([3], 2.0, np.float32))
                     for name in names]
        loss = tf.add_n([tf.reduce_sum(v) * 0.0 for v in variables])
        train_op = optimization.create_optimizer(loss, 1.0, 100, 0)
        values, _ = run_steps(train_op, 1)
    decayed = {"dense/kernel", "output_weights"}
    for name in names:
        expected = 2.0 * (1.0 - 0.01) if name in decayed else 2.0
        np.testing.assert_allclose(values[name], expected, rtol=1e-6, err_msg=name)


def test_var_list_restricts_training():
    with tf.Graph().as_default():
        loss = toy_loss(False)
        kernel = [v for v in tf.compat.v1.global_variables() if v.op.name == "dense/kernel"]
        train_op = optimization.create_optimizer(loss, INIT_LR, 10, 0, var_list=kernel)
        initial, _ = run_steps(tf.no_op(), 0)
        values, _ = run_steps(train_op, 3)
    assert values.pop("global_step") == 3
    assert sorted(values) == ["LayerNorm/gamma", "dense/bias", "dense/kernel",
                              "dense/kernel/adam_m", "dense/kernel/adam_v",
                              "embeddings/word_embeddings"]
    assert not np.allclose(values["dense/kernel"], initial["dense/kernel"])
    for name in ("dense/bias", "LayerNorm/gamma", "embeddings/word_embeddings"):
        np.testing.assert_array_equal(values[name], initial[name], err_msg=name)


def test_variables_to_fine_tune():
    names = ["bert/embeddings/word_embeddings", "bert/embeddings/LayerNorm/gamma",
             "bert/encoder/layer_0/attention/self/query/kernel",
             "bert/encoder/layer_1/output/dense/bias",
             "bert/encoder/layer_2/output/dense/kernel", "bert/pooler/dense/kernel",
             "output_weights", "output_bias"]
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, [1]) for name in names]
        hub_style = [tf.compat.v1.get_variable("module/" + name, [1]) for name in names[:5]]

        def kept(n, variables=variables):
            return [v.op.name for v in optimization.variables_to_fine_tune(n, variables)]

        assert kept(None) == names
        assert kept(1) == names[4:]
        assert kept(2) == names[3:]
        assert kept(3) == names[2:]
        assert kept(0) == names[5:]
        assert kept(1, hub_style) == ["module/bert/encoder/layer_2/output/dense/kernel"]
        with pytest.raises(BertTF1Error, match="between 0 and 3"):
            kept(4)
        with pytest.raises(BertTF1Error, match="between 0 and 3"):
            kept(-1)


def test_rejects_bad_schedules():
    with tf.Graph().as_default():
        with pytest.raises(BertTF1Error, match="num_train_steps"):
            optimization.create_optimizer(toy_loss(False), INIT_LR, 0, 0)
        with pytest.raises(BertTF1Error, match="num_warmup_steps"):
            optimization.learning_rate_schedule(INIT_LR, 10, -1)
        with pytest.raises(BertTF1Error, match="no variables to train"):
            optimization.create_optimizer(tf.constant(1.0), INIT_LR, 10, 0, var_list=[])


def linear_model_fn(create_optimizer, loss_scale=1.0):
    """A 2-class linear model_fn trained with `create_optimizer` (ref variables, like BERT's)."""

    def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
        kernel = tf.compat.v1.get_variable(
            "dense/kernel", initializer=np.full([4, 2], 0.1, np.float32))
        bias = tf.compat.v1.get_variable("dense/bias", initializer=np.zeros([2], np.float32))
        logits = tf.matmul(features["x"], kernel) + bias
        loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits) * loss_scale
        train_op = create_optimizer(loss, INIT_LR, 10, 2, False)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def linear_input_fn(batch_size):
    rng = np.random.RandomState(0)
    x = rng.randn(64, 4).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)

    def input_fn():
        dataset = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        return dataset.repeat().batch(batch_size, drop_remainder=True)

    return input_fn


def train_linear(model_dir, strategy, batch_size, steps, create_optimizer, loss_scale=1.0,
                 num_cpus=1):
    config = tf.estimator.RunConfig(
        model_dir=model_dir, train_distribute=strategy,
        session_config=tf.compat.v1.ConfigProto(device_count={"CPU": num_cpus}))
    estimator = tf.estimator.Estimator(linear_model_fn(create_optimizer, loss_scale),
                                       config=config)
    estimator.train(linear_input_fn(batch_size), max_steps=steps)
    return {name: tf.train.load_variable(model_dir, name)
            for name, _ in tf.train.list_variables(model_dir)}


def test_trains_under_mirrored_strategy(tmp_path):
    strategy = tf.compat.v1.distribute.MirroredStrategy(devices=["/cpu:0"])
    values = train_linear(str(tmp_path / "ours"), strategy, 8, 5, optimization.create_optimizer)
    assert values["global_step"] == 5
    assert {"dense/kernel/adam_m", "dense/kernel/adam_v", "dense/bias/adam_m"} <= set(values)
    assert not np.allclose(values["dense/kernel"], 0.1)
    # Same as without a strategy.
    plain = train_linear(str(tmp_path / "plain"), None, 8, 5, optimization.create_optimizer)
    assert_same_values(plain, values, atol=1e-6)
    # The control: Google's optimizer fails under the same strategy.
    with pytest.raises(ValueError, match="aggregation"):
        train_linear(str(tmp_path / "google"), strategy, 8, 5,
                     google_optimization.create_optimizer)


def test_two_replicas_update_like_one_device_on_the_global_batch(tmp_path):
    """2 replicas x 8 examples == 1 device x 16 examples: replica gradients are averaged.

    The loss is scaled so gradients are ~1e-6, where Adam's epsilon (1e-6) makes the update
    sensitive to the gradient's scale: summing the replicas' gradients instead of averaging them
    would change the result. (Clipping is inactive at this scale, so both runs clip alike.)
    """
    strategy = tf.compat.v1.distribute.MirroredStrategy(devices=["/cpu:0", "/cpu:1"])
    two = train_linear(str(tmp_path / "two"), strategy, 8, 4, optimization.create_optimizer,
                       loss_scale=1e-5, num_cpus=2)
    one = train_linear(str(tmp_path / "one"), None, 16, 4, optimization.create_optimizer,
                       loss_scale=1e-5)
    assert two["global_step"] == one["global_step"] == 4
    assert not np.allclose(one["dense/kernel"], 0.1)
    assert_same_values(one, two, atol=1e-6)
