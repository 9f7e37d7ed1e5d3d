"""BERT's AdamW as an ordinary tf.compat.v1.train.Optimizer, usable under tf.distribute strategies.

google-research/bert's AdamWeightDecayOptimizer (bert.optimization) overrides `apply_gradients`
and assigns to variables directly; under tf.distribute.MirroredStrategy that assignment happens in
a replica context and fails with "You must specify an aggregation method". This optimizer computes
the same update through the standard hooks (_create_slots, _apply_dense, _resource_apply_dense,
_resource_apply_sparse), so the base class reduces gradients across replicas and applies the update
to every copy of a mirrored variable.

The update is Google's, step for step (tested against bert.optimization to ~1e-6):
  m <- beta_1 m + (1 - beta_1) g;   v <- beta_2 v + (1 - beta_2) g^2     (no bias correction)
  update = m / (sqrt(v) + epsilon) + weight_decay_rate * w   (decay skipped for LayerNorm / bias)
  w <- w - learning_rate * update
Slots are named "<variable>/adam_m" and "<variable>/adam_v" as in Google's checkpoints.

Google's code runs that as ~15 elementwise ops per variable, each a pass over the variable (the
30522-row word embedding table of a small BERT is most of its parameters). Here it is two fused
kernels: the decay w <- w - learning_rate * weight_decay_rate * w (ApplyGradientDescent, before
the Adam step, so it uses the old w as Google's does), then TensorFlow's ApplyAdam with no bias
correction (beta1_power = beta2_power = 0). See _adam_constants for how the kernel's float32
coefficients are made to give Google's values.
"""
import math
import re

import numpy as np
import tensorflow as tf

from bert_tf1.errors import BertTF1Error

EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")

_LAYER_RE = re.compile(r"(?:^|/)bert/encoder/layer_(\d+)/")
_EMBEDDINGS_RE = re.compile(r"(?:^|/)bert/embeddings/")


class AdamWeightDecayOptimizer(tf.compat.v1.train.Optimizer):
    """Adam with decoupled weight decay and no bias correction (BERT's optimizer).

    Same constructor arguments and defaults as bert.optimization.AdamWeightDecayOptimizer, plus:
    `learning_rate` may be a float, a scalar Tensor or a callable returning one.

    Example:
      optimizer = AdamWeightDecayOptimizer(learning_rate=2e-5, weight_decay_rate=0.01,
                                           exclude_from_weight_decay=["LayerNorm", "bias"])
      train_op = optimizer.apply_gradients(zip(grads, tvars), global_step=global_step)
    """

    def __init__(self, learning_rate, weight_decay_rate=0.0, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-6, exclude_from_weight_decay=None, use_locking=False,
                 name="AdamWeightDecayOptimizer"):
        super(AdamWeightDecayOptimizer, self).__init__(use_locking, name)
        self.learning_rate = learning_rate
        self.weight_decay_rate = weight_decay_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_from_weight_decay = list(exclude_from_weight_decay or [])
        self._lr_t = None

    def _create_slots(self, var_list):
        for var in var_list:
            # The slot's variable is "<var>/<op_name>": Google's names "<var>/adam_m|adam_v".
            self._zeros_slot(var, "adam_m", "adam_m")
            self._zeros_slot(var, "adam_v", "adam_v")

    def _prepare(self):
        learning_rate = self._call_if_callable(self.learning_rate)
        self._lr_t = tf.convert_to_tensor(learning_rate, name="learning_rate")

    def do_use_weight_decay(self, var_name):
        """Whether the variable named `var_name` is decayed (Google's regex search on the name)."""
        if not self.weight_decay_rate:
            return False
        return not any(re.search(pattern, var_name) for pattern in self.exclude_from_weight_decay)

    def _apply(self, grad, var, resource):
        """The update of one variable (a ref variable, or a resource variable when `resource`):
        grad is a dense Tensor of var's shape."""
        dtype = var.dtype.base_dtype
        m = self.get_slot(var, "adam_m")
        v = self.get_slot(var, "adam_v")
        learning_rate = tf.cast(self._lr_t, dtype)
        alpha_scale, epsilon = _adam_constants(self.beta_1, self.beta_2, self.epsilon)
        decayed = []
        if self.do_use_weight_decay(_variable_name(var)):
            # After the gradient exists (it is computed from w), as Google's assign is.
            with tf.control_dependencies([grad]):
                rate = learning_rate * tf.constant(self.weight_decay_rate, dtype)
                if resource:
                    decayed.append(tf.raw_ops.ResourceApplyGradientDescent(
                        var=var.handle, alpha=rate, delta=var.read_value(),
                        use_locking=self._use_locking))
                else:
                    # delta is w itself: the kernel reads and writes each element in place.
                    decayed.append(tf.raw_ops.ApplyGradientDescent(
                        var=var, alpha=rate, delta=tf.convert_to_tensor(var),
                        use_locking=self._use_locking))
        with tf.control_dependencies(decayed):
            zero = tf.constant(0.0, dtype)
            args = dict(beta1_power=zero, beta2_power=zero,
                        lr=learning_rate * tf.constant(alpha_scale, dtype),
                        beta1=tf.constant(self.beta_1, dtype),
                        beta2=tf.constant(self.beta_2, dtype),
                        epsilon=tf.constant(epsilon, dtype), grad=grad,
                        use_locking=self._use_locking)
            if resource:
                return tf.raw_ops.ResourceApplyAdam(var=var.handle, m=m.handle, v=v.handle,
                                                    **args)
            return tf.raw_ops.ApplyAdam(var=var, m=m, v=v, **args).op

    def _apply_dense(self, grad, var):
        return self._apply(grad, var, resource=False)

    def _resource_apply_dense(self, grad, handle):
        # `handle` is the variable (TF 1.15's Optimizer passes the variable, as its name hides).
        return self._apply(grad, handle, resource=True)

    # Sparse gradients (embedding lookups) are applied densely, as Google's optimizer does by
    # converting the IndexedSlices: m, v and the weight decay touch every row on every step.
    # Duplicate indices are summed by the segment sum, so the base class's de-duplication is
    # skipped.
    def _densify(self, values, indices, var):
        num_rows = tf.shape(var, out_type=indices.dtype)[0]
        return tf.math.unsorted_segment_sum(values, indices, num_rows)

    def _apply_sparse(self, grad, var):
        return self._apply(self._densify(grad.values, grad.indices, var), var, resource=False)

    def _apply_sparse_duplicate_indices(self, grad, var):
        return self._apply_sparse(grad, var)

    def _resource_apply_sparse(self, grad, handle, indices):
        return self._apply(self._densify(grad, indices, handle), handle, resource=True)

    def _resource_apply_sparse_duplicate_indices(self, grad, handle, indices):
        return self._resource_apply_sparse(grad, handle, indices)


def _adam_constants(beta_1, beta_2, epsilon):
    """(alpha_scale, epsilon) that make ApplyAdam's update equal Google's AdamW step.

    The kernel (TF 1.15 training_ops.cc, CPU, GPU and XLA alike) computes, in float32,
      m += (g - m) * (1 - b1);  v += (g^2 - v) * (1 - b2);  w -= alpha * m / (sqrt(v) + eps)
    with alpha = lr when beta1_power = beta2_power = 0. Google's code multiplies by two float32
    constants, f32(beta) and f32(1 - beta), whose sum is not 1: with beta_2 = 0.999 the g^2
    coefficient 1 - f32(0.999) is 1.3e-5 (relative) below f32(0.001). From zero slots, the
    kernel's slots are therefore Google's times r = (1 - f32(beta)) / f32(1 - beta) (exactly, in
    real arithmetic: 1 - (1 - f32(beta)) = f32(beta)), and
      m_k / (sqrt(v_k) + eps') = (r1 / sqrt(r2)) * m / (sqrt(v) + eps)  with eps' = eps sqrt(r2),
    so alpha = lr * sqrt(r2) / r1 gives Google's step up to float32 rounding. The saved slots
    adam_m / adam_v are Google's times r1 (1 + 2e-7) and r2 (1 - 1.3e-5).

    Returns:
      (float alpha_scale, float epsilon) for float32 variables.
    """
    def slot_scale(beta):
        return (1.0 - float(np.float32(beta))) / float(np.float32(1.0 - beta))

    r1, r2 = slot_scale(beta_1), slot_scale(beta_2)
    return math.sqrt(r2) / r1, epsilon * math.sqrt(r2)


def _variable_name(var):
    """'a/b/kernel' for a variable (or a replica's component of a mirrored one)."""
    name = var.op.name if hasattr(var, "op") else var.name
    return re.sub(r":\d+$", "", name)


def learning_rate_schedule(init_lr, num_train_steps, num_warmup_steps, global_step=None):
    """BERT's learning rate: linear warm-up to init_lr, then linear decay to 0 at num_train_steps.

    Identical ops to bert.optimization.create_optimizer: the rate at step s is
    init_lr * s / num_warmup_steps while s < num_warmup_steps, else
    init_lr * (1 - min(s, num_train_steps) / num_train_steps).

    Args:
      init_lr: peak learning rate (float).
      num_train_steps: int >= 1, the step at which the rate reaches 0.
      num_warmup_steps: int >= 0 (0: no warm-up).
      global_step: int Variable or Tensor; default: the graph's global step (created if missing).

    Returns:
      float32 scalar Tensor.
    """
    _check_steps(num_train_steps, num_warmup_steps)
    if global_step is None:
        global_step = tf.compat.v1.train.get_or_create_global_step()
    learning_rate = tf.constant(value=init_lr, shape=[], dtype=tf.float32)
    learning_rate = tf.compat.v1.train.polynomial_decay(
        learning_rate, global_step, num_train_steps, end_learning_rate=0.0, power=1.0,
        cycle=False)
    if num_warmup_steps:
        global_steps_int = tf.cast(global_step, tf.int32)
        warmup_steps_int = tf.constant(num_warmup_steps, dtype=tf.int32)
        warmup_percent_done = (tf.cast(global_steps_int, tf.float32) /
                               tf.cast(warmup_steps_int, tf.float32))
        warmup_learning_rate = init_lr * warmup_percent_done
        is_warmup = tf.cast(global_steps_int < warmup_steps_int, tf.float32)
        learning_rate = (1.0 - is_warmup) * learning_rate + is_warmup * warmup_learning_rate
    return learning_rate


def _check_steps(num_train_steps, num_warmup_steps):
    for name, value, minimum in (("num_train_steps", num_train_steps, 1),
                                 ("num_warmup_steps", num_warmup_steps, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise BertTF1Error("%s: expected an integer >= %d, found %r" % (name, minimum, value))


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, use_tpu=False,
                     var_list=None):
    """BERT's fine-tuning train op: AdamW, warm-up + linear decay, gradients clipped to norm 1.0.

    Same semantics as bert.optimization.create_optimizer (weight decay 0.01 except LayerNorm and
    bias variables, beta_1 0.9, beta_2 0.999, epsilon 1e-6; the train op increments the global step
    by one), but built on a standard Optimizer, so it also works under tf.distribute strategies.
    Differences, on purpose:
      * the global step is incremented after the variable updates (Google's increment is not
        ordered with them; both read the step for the learning rate before the increment);
      * `var_list` restricts training to some variables (e.g. the top encoder layers);
      * under a tf.distribute strategy with N replicas in sync, each replica's gradient is clipped
        to norm 1.0 and divided by N before the optimizer sums them across replicas, so the update
        uses the mean of the (clipped) replica gradients. With one replica this is Google's update.
        (Google's TPU path sums the 8 cores' gradients through CrossShardOptimizer; use_tpu keeps
        exactly that.)

    Args:
      loss: float32 scalar Tensor.
      init_lr: peak learning rate.
      num_train_steps: int >= 1, steps of the schedule (learning rate 0 from then on).
      num_warmup_steps: int >= 0, linear warm-up steps.
      use_tpu: wrap the optimizer in CrossShardOptimizer (TPUEstimator on a TPU).
      var_list: variables to train (default: all trainable variables).

    Returns:
      the train op (an Operation).

    Example:
      train_op = create_optimizer(total_loss, 2e-5, num_train_steps, num_warmup_steps)
    """
    global_step = tf.compat.v1.train.get_or_create_global_step()
    learning_rate = learning_rate_schedule(init_lr, num_train_steps, num_warmup_steps,
                                           global_step)
    optimizer = AdamWeightDecayOptimizer(
        learning_rate=learning_rate, weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999,
        epsilon=1e-6, exclude_from_weight_decay=list(EXCLUDE_FROM_WEIGHT_DECAY))
    if use_tpu:
        optimizer = tf.compat.v1.tpu.CrossShardOptimizer(optimizer)

    tvars = list(var_list) if var_list is not None else tf.compat.v1.trainable_variables()
    if not tvars:
        raise BertTF1Error("create_optimizer: no variables to train (var_list is empty and no "
                           "trainable variables exist)")
    grads = tf.gradients(loss, tvars)
    # This is how the model was pre-trained.
    grads, _ = tf.clip_by_global_norm(grads, clip_norm=1.0)
    num_replicas = _num_replicas_in_sync()
    if num_replicas > 1:
        # The base Optimizer SUMs gradients across replicas (Optimizer.compute_gradients scales
        # the loss by 1/N for this; tf.gradients does not).
        grads = [_scale(grad, 1.0 / num_replicas) for grad in grads]
    # Google's loop skips variables without a gradient; the base class would refuse them.
    grads_and_vars = [(grad, var) for grad, var in zip(grads, tvars) if grad is not None]
    if not grads_and_vars:
        raise BertTF1Error("create_optimizer: the loss depends on none of the %d variables to "
                           "train" % len(tvars))
    return optimizer.apply_gradients(grads_and_vars, global_step=global_step)


def _num_replicas_in_sync():
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        return tf.distribute.get_strategy().num_replicas_in_sync
    return context.num_replicas_in_sync


def _scale(grad, factor):
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * factor, grad.indices, grad.dense_shape)
    return grad * factor


def encoder_layer_index(var_name):
    """The N of "bert/encoder/layer_N/..." in a variable name (any prefix: "module/"), or None."""
    match = _LAYER_RE.search(var_name)
    return int(match.group(1)) if match else None


def variables_to_fine_tune(fine_tune_top_layers, variables=None):
    """The variables trained when only the top `fine_tune_top_layers` encoder layers are tuned.

    Keeps the top N "bert/encoder/layer_K" layers, the pooler and everything outside BERT (the
    classifier head); drops the embeddings and the lower layers. Works on BertModel's names and on
    a hub module's ("module/bert/...").

    Args:
      fine_tune_top_layers: None (every variable) or an int in [0, number of encoder layers].
      variables: list of variables (default: tf.compat.v1.trainable_variables()).

    Returns:
      list of variables, in the order given.

    >>> variables_to_fine_tune(1)  # layer_1 (of 2), pooler, head  # doctest: +SKIP
    """
    if variables is None:
        variables = tf.compat.v1.trainable_variables()
    variables = list(variables)
    if fine_tune_top_layers is None:
        return variables
    layers = [encoder_layer_index(_variable_name(var)) for var in variables]
    num_layers = max([layer for layer in layers if layer is not None] or [-1]) + 1
    if isinstance(fine_tune_top_layers, bool) or not isinstance(fine_tune_top_layers, int) or \
            not 0 <= fine_tune_top_layers <= num_layers:
        raise BertTF1Error("fine_tune_top_layers: expected an integer between 0 and %d (the "
                           "encoder layers among the trainable variables), found %r"
                           % (num_layers, fine_tune_top_layers))
    first = num_layers - fine_tune_top_layers
    return [var for var, layer in zip(variables, layers)
            if (layer is None and not _EMBEDDINGS_RE.search(_variable_name(var))) or
            (layer is not None and layer >= first)]
