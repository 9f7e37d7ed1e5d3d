"""runtime.run_lock: one live run per output_dir; stale locks taken over; a job shares one."""
import json
import os
import socket
import subprocess
import sys

import pytest

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import run_lock


def write_lock(directory, **content):
    values = dict(host=socket.gethostname(), pid=os.getpid(), since="2026-12-03T06:00:00Z",
                  command=["run_classifier_hub.py", "--output_dir=out"], run_id=None,
                  token="other")
    values.update(content)
    with open(os.path.join(directory, run_lock.LOCK_FILE), "w") as handle:
        json.dump(values, handle)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_second_run_refuses_naming_the_live_holder(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(str(tmp_path), pid=sleeper.pid)
        with pytest.raises(BertTF1Error) as error:
            run_lock.acquire(str(tmp_path))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert str(error.value) == (
        "%s is in use by another live run (host %s, pid %d, since 2026-12-03T06:00:00Z, "
        "command: run_classifier_hub.py --output_dir=out); wait for it to finish or give "
        "another --output_dir. If that run is gone (e.g. its machine was restarted), delete %s"
        % (tmp_path, socket.gethostname(), sleeper.pid, tmp_path / "run.lock"))


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    write_lock(str(tmp_path), host="elsewhere.example", pid=dead_pid())
    with pytest.raises(BertTF1Error, match="host elsewhere.example"):
        run_lock.acquire(str(tmp_path))


def test_stale_lock_is_reported_and_taken_over(tmp_path):
    pid = dead_pid()
    write_lock(str(tmp_path), pid=pid)
    warnings = []
    lock = run_lock.acquire(str(tmp_path), command=["me"], log=warnings.append)
    assert len(warnings) == 1 and "taking over a stale lock" in warnings[0], warnings
    assert "pid %d" % pid in warnings[0]
    with open(str(tmp_path / "run.lock")) as handle:
        held = json.load(handle)
    assert (held["pid"], held["command"]) == (os.getpid(), ["me"])
    # The holder itself cannot take it twice (same pid, live): one run per output_dir.
    with pytest.raises(BertTF1Error, match="in use by another live run"):
        run_lock.acquire(str(tmp_path))
    lock.release()
    assert not os.path.exists(str(tmp_path / "run.lock"))


def test_a_reused_pid_does_not_hold_a_lock(tmp_path):
    # The lock names this (live) pid but was written before this process started.
    write_lock(str(tmp_path), since_epoch=1000.0)
    run_lock.acquire(str(tmp_path), log=lambda message: None).release()


def test_processes_of_one_job_share_the_lock(tmp_path):
    chief = run_lock.acquire(str(tmp_path), run_id="job-1")
    write_lock(str(tmp_path), pid=os.getpid(), run_id="job-1", token=chief.content["token"])
    worker = run_lock.acquire(str(tmp_path), run_id="job-1")
    assert not worker.owned
    worker.release()  # a joined lock stays with its creator
    assert os.path.exists(str(tmp_path / "run.lock"))
    with pytest.raises(BertTF1Error):
        run_lock.acquire(str(tmp_path), run_id="job-2")
    chief.release()
    assert not os.path.exists(str(tmp_path / "run.lock"))


def test_job_run_id_from_env_or_tf_config():
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"], "evaluator": ["127.0.0.1:3"]}
    worker0 = {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                     "index": 0}})}
    evaluator = {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "evaluator",
                                                                       "index": 0}})}
    assert run_lock.job_run_id(worker0) == run_lock.job_run_id(evaluator) is not None
    assert run_lock.job_run_id(dict(worker0, BERT_TF1_RUN_ID="x")) == "x"
    assert run_lock.job_run_id({}) is None


def test_locked_output_dir_leaves_no_trace_when_nothing_was_written(tmp_path):
    target = str(tmp_path / "new")
    with run_lock.locked_output_dir(target, run_id=""):
        assert os.listdir(target) == ["run.lock"]
    assert not os.path.exists(target)


def test_run_classifier_refuses_a_held_output_dir_before_anything_else(tiny_hub_module,
                                                                     tmp_path):
    # The model source is checked before the lock (modeling.validation: nothing is written
    # for a broken one), so the module is real; the data dir does not exist: never read.
    from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(str(tmp_path), pid=sleeper.pid)
        before = sorted(os.listdir(str(tmp_path)))
        with pytest.raises(BertTF1Error, match="is in use by another live run \\(host .*, pid "
                                               "%d, since " % sleeper.pid):
            run_classifier(ClassifierRunSettings(
                task_name="imdb", data_dir=str(tmp_path / "data"), output_dir=str(tmp_path),
                bert_hub_module_handle=tiny_hub_module, do_train=True))
        assert sorted(os.listdir(str(tmp_path))) == before  # the holder's lock is untouched
    finally:
        sleeper.kill()
        sleeper.wait()


def test_non_chief_processes_check_the_lock_but_never_create_or_remove_it(tmp_path):
    directory = str(tmp_path)
    lock_file = os.path.join(directory, "run.lock")
    # Started before the chief: no lock yet, none created.
    run_lock.acquire(directory, run_id="job-1", create=False).release()
    assert not os.path.exists(lock_file)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(directory, pid=sleeper.pid, run_id="job-1")  # the chief's lock
        run_lock.acquire(directory, run_id="job-1", create=False).release()
        assert os.path.exists(lock_file)  # left to its creator
        with pytest.raises(BertTF1Error, match="in use by another live run"):
            run_lock.acquire(directory, run_id="job-2", create=False)
    finally:
        sleeper.kill()
        sleeper.wait()
