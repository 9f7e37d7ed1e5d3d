"""bert_tf1.runtime.cluster: TF_CONFIG read, checked (one error naming the field) and built."""
import json

import pytest

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import cluster, distribution

WORKERS = ["127.0.0.1:5000", "127.0.0.1:5001"]


def tf_config(cluster_dict=None, task=None):
    return json.dumps({"cluster": {"worker": WORKERS} if cluster_dict is None else cluster_dict,
                       "task": {"type": "worker", "index": 0} if task is None else task})


def test_roles_of_a_two_worker_job_with_an_evaluator():
    configs = [cluster.build_tf_config(WORKERS, "worker", 0, "127.0.0.1:5002"),
               cluster.build_tf_config(WORKERS, "worker", 1, "127.0.0.1:5002"),
               cluster.build_tf_config(WORKERS, "evaluator", 0, "127.0.0.1:5002")]
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)
    tasks = [cluster.parse_tf_config(json.dumps(c)) for c in configs]
    assert [t.name for t in tasks] == ["worker 0", "worker 1", "evaluator 0"]
    assert [t.is_chief for t in tasks] == [True, False, False]
    assert [t.is_evaluator for t in tasks] == [False, False, True]
    assert all(t.num_workers == 2 and t.has_evaluator for t in tasks)
    assert [cluster.task_scratch_dir("out", t) for t in tasks] == \
        ["out", "out/tmp_worker_1", "out/tmp_evaluator"]
    assert cluster.task_scratch_dir("out", None) == "out"
    # A "chief" job, when present, is the chief; worker 0 is then an ordinary worker.
    with_chief = {"chief": ["h:1"], "worker": ["h:2"]}
    assert cluster.parse_tf_config(tf_config(with_chief, {"type": "chief", "index": 0})).is_chief
    worker = cluster.parse_tf_config(tf_config(with_chief, {"type": "worker", "index": 0}))
    assert not worker.is_chief and worker.num_workers == 2
    assert not cluster.parse_tf_config(tf_config()).has_evaluator


@pytest.mark.parametrize("text, message", [
    ("{not json", r"TF_CONFIG: not valid JSON"),
    ("[1, 2]", r"TF_CONFIG: expected a JSON object with 'cluster' and 'task', found list"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), r"TF_CONFIG field cluster: expected"),
    (tf_config({"ps": ["h:1"], "worker": ["h:2"]}), r"field cluster\.ps: unknown job"),
    (tf_config({"worker": []}), r"field cluster\.worker: expected a non-empty list"),
    (tf_config({"worker": "h:1"}), r"field cluster\.worker: expected a non-empty list"),
    (tf_config({"worker": ["h:1", "nohost"]}), r"field cluster\.worker\[1\]: expected 'host:port'"),
    (tf_config({"worker": ["h:99999"]}), r"field cluster\.worker\[0\]: expected 'host:port'"),
    (tf_config({"worker": [":80"]}), r"field cluster\.worker\[0\]: expected 'host:port'"),
    (tf_config({"evaluator": ["h:1"]}, {"type": "evaluator", "index": 0}),
     r"field cluster\.worker: missing"),
    (tf_config({"worker": ["h:1"], "evaluator": ["h:2", "h:3"]}),
     r"field cluster\.evaluator: at most one evaluator task, found 2"),
    (tf_config({"worker": ["h:1", "h:1"]}),
     r"field cluster\.worker\[1\]: address h:1 is also cluster\.worker\[0\]"),
    (json.dumps({"cluster": {"worker": WORKERS}}), r"field task: expected an object"),
    (tf_config(task={"type": "ps", "index": 0}), r"field task\.type: 'ps' is not a job"),
    (tf_config(task={"type": "evaluator", "index": 0}),
     r"field cluster\.evaluator: missing, but task\.type is 'evaluator'; TensorFlow 1\.15 needs"),
    (tf_config(task={"index": 0}), r"field task\.type: None is not a job of the cluster"),
    (tf_config(task={"type": "worker", "index": "1"}), r"field task\.index: expected an integer"),
    (tf_config(task={"type": "worker", "index": 2}),
     r"field task\.index: 2 is out of range for job 'worker' with 2 task\(s\) \(0\.\.1\)"),
])
def test_bad_tf_config_gets_one_error_naming_the_field(text, message):
    with pytest.raises(BertTF1Error, match=message):
        cluster.parse_tf_config(text)


def test_multi_worker_needs_tf_config(monkeypatch):
    with pytest.raises(BertTF1Error, match="multi_worker needs the TF_CONFIG environment"):
        cluster.read_tf_config({})
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(BertTF1Error, match="needs the TF_CONFIG environment variable"):
        distribution.make_strategy("multi_worker", 0)
    monkeypatch.setenv("TF_CONFIG", tf_config(task={"type": "worker", "index": 5}))
    with pytest.raises(BertTF1Error, match=r"task\.index: 5 is out of range"):
        distribution.make_strategy("multi_worker", 0)
    assert cluster.read_tf_config({"TF_CONFIG": tf_config()}).name == "worker 0"


def test_job_id_is_shared_by_the_tasks_of_one_job_only():
    one = [cluster.parse_tf_config(json.dumps(cluster.build_tf_config(WORKERS, "worker", i)))
           for i in (0, 1)]
    other = cluster.parse_tf_config(json.dumps(cluster.build_tf_config(
        ["127.0.0.1:6000", "127.0.0.1:6001"], "worker", 0)))
    assert cluster.job_id(one[0]) == cluster.job_id(one[1]) != cluster.job_id(other)
    assert cluster.job_id(one[0]).startswith("mw-") and len(cluster.job_id(one[0])) == 15
