"""benchmarks/mfu_profile.py's arithmetic and op classification (no session, no timing)."""
import pytest
from support import load_benchmark


@pytest.fixture(scope="module")
def profile_module():
    return load_benchmark("mfu_profile")


def _flops(a_shape, b_shape, transpose_a, transpose_b):
    rows, inner = (a_shape[-1], a_shape[-2]) if transpose_a else a_shape[-2:]
    columns = b_shape[-2] if transpose_b else b_shape[-1]
    groups = a_shape[0] if len(a_shape) == 3 else 1
    return 2 * groups * rows * inner * columns


@pytest.mark.parametrize("batch,seq,hidden,heads,ffn", [(32, 128, 384, 12, 1536),
                                                        (4, 16, 128, 2, 512)])
def test_layer_matmuls_are_the_flops_run_py_counts_per_layer(profile_module, batch, seq, hidden,
                                                            heads, ffn):
    # benchmarks/run.py: 6 * parameters * seq + 12 * hidden * seq^2 per example and layer.
    parameters = 4 * hidden * hidden + 2 * hidden * ffn
    expected = batch * (6 * parameters * seq + 12 * hidden * seq * seq)
    shapes = profile_module.layer_matmuls(batch, seq, hidden, heads, ffn)
    assert sum(count * _flops(*shape) for count, *shape in shapes) == expected
    for count, a_shape, b_shape, transpose_a, transpose_b in shapes:
        inner_a = a_shape[-2] if transpose_a else a_shape[-1]
        inner_b = b_shape[-1] if transpose_b else b_shape[-2]
        assert inner_a == inner_b, (a_shape, b_shape, transpose_a, transpose_b)


def test_ops_are_put_where_the_profile_says(profile_module):
    categorize = profile_module.categorize
    update = "AdamWeightDecayOptimizer/update_module/bert/embeddings/word_embeddings/"
    assert categorize("UnsortedSegmentSum", update + "UnsortedSegmentSum") \
        == "optimizer: densify embedding grad"
    assert categorize("Mul", update + "Mul_1") == "optimizer (AdamW update, clipping)"
    assert categorize("BatchMatMulV2", "module_apply_tokens/bert/encoder/layer_0/attention/"
                      "self/MatMul") == "matmul"
    assert categorize("RandomUniform", "x/dropout/random_uniform") == "dropout RNG"
    scopes = dict(profile_module.SCOPES)
    name = update + "UnsortedSegmentSum"
    assert scopes["  of which densifying the embedding gradient"]("UnsortedSegmentSum", name)
    assert not scopes["embeddings fwd+bwd (gathers, positions, types)"]("UnsortedSegmentSum",
                                                                        name)
    assert scopes["gelu (intermediate, non-matmul, fwd+bwd)"](
        "Pow", "module_apply_tokens/bert/encoder/layer_1/intermediate/Pow")


@pytest.mark.parametrize("google", [False, True])
def test_step_parts_split_the_training_graph_by_structure(profile_module, google):
    """Forward, backward, clipping, densify and update, for the kit's and Google's optimizer
    (whose ops have no name scope). Graph only: no session."""
    import tensorflow as tf
    from bert import optimization as google_optimization

    from bert_tf1.modeling import optimization

    create = google_optimization.create_optimizer if google else optimization.create_optimizer
    with tf.Graph().as_default() as graph:
        table = tf.compat.v1.get_variable("bert/embeddings/word_embeddings", [50, 4])
        kernel = tf.compat.v1.get_variable("dense/kernel", [4, 2])
        loss = tf.reduce_sum(tf.matmul(tf.gather(table, [1, 2, 2]), kernel), name="loss")
        create(loss, 1e-3, 10, 1, False)
        parts = profile_module.step_parts(graph, loss)
        types = {op.name: op.type for op in graph.get_operations()}
    by_part = {}
    for name, part in parts.items():
        by_part.setdefault(part, set()).add(types[name])
    forward, backward, clipping, densify, update = profile_module.PARTS[1:]
    assert parts["loss"] == forward and {"GatherV2", "MatMul"} <= by_part[forward]
    assert "MatMul" in by_part[backward] and "MatMul" not in by_part[update]
    assert "Sqrt" in by_part[clipping]
    assert by_part[densify] == {"UnsortedSegmentSum"}
    assert ({"Assign"} if google else {"ApplyAdam", "ApplyGradientDescent"}) <= by_part[update]


def test_traced_kernels_are_read_from_the_cpu_device_only(profile_module):
    """profile and time_by_part sum each CPU kernel once: the /host:CPU view repeats them and
    _SOURCE/_SINK are not kernels; an op with no kernel span counts its whole span."""
    from tensorflow.core.protobuf import config_pb2

    metadata = config_pb2.RunMetadata()
    for device_name in ("/job:localhost/replica:0/task:0/device:CPU:0", "/host:CPU"):
        device = metadata.step_stats.dev_stats.add(device=device_name)
        for name, start, end, whole, label in (
                ("_SOURCE", 0, 5, 5, ""),
                ("bert/dense/MatMul", 10, 40, 40, "bert/dense/MatMul = MatMul(a, b)"),
                ("bert/Gelu/Mul", 50, 50, 7, "bert/Gelu/Mul = Mul(x, y)")):
            device.node_stats.add(node_name=name, op_start_rel_micros=start,
                                  op_end_rel_micros=end, all_end_rel_micros=whole,
                                  timeline_label=label)
    kernels = [(node.node_name, micros)
               for node, micros in profile_module.cpu_kernels(metadata)]
    assert kernels == [("bert/dense/MatMul", 30), ("bert/Gelu/Mul", 7)]
    by_type, _, by_name, by_scope = profile_module.profile(metadata)
    assert (by_type["MatMul"], by_type["Mul"], by_scope["total"]) == (30, 7, 37)
    assert by_name["bert/dense/MatMul"] == 30
    parts = {"bert/dense/MatMul": profile_module.PARTS[1]}
    totals = profile_module.time_by_part(metadata, parts)
    assert totals == {profile_module.PARTS[1]: 30, profile_module.PARTS[5]: 7}
