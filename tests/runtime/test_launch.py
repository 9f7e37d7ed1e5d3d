"""bert_tf1.runtime.launch (bert-tf1-launch-local) with trivial Python tasks: TF_CONFIG per task,
prefixed output, one failure stops the job, signals reach every task."""
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support import REPO_ROOT

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import cluster, launch

# Every task prints its TF_CONFIG task; worker 1 fails if asked to; others wait for a signal.
TASK = r"""
import json, os, signal, sys, time
task = json.loads(os.environ["TF_CONFIG"])["task"]
name = "%s-%d" % (task["type"], task["index"])
mode, marks = sys.argv[1], sys.argv[2]
def on_term(signum, frame):
    open(os.path.join(marks, name + ".signal-%d" % signum), "w").close()
    sys.exit(0)
if mode != "stubborn":
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("task", json.dumps(task, sort_keys=True))
with open(os.path.join(marks, name + ".started"), "w") as handle:
    handle.write(str(os.getpid()))
if mode == "ok":
    sys.exit(0)
if mode == "fail" and name == "worker-1":
    while len([m for m in os.listdir(marks) if m.endswith(".started")]) < 3:
        time.sleep(0.05)
    print("worker 1 gives up")
    sys.exit(3)
time.sleep(120)
"""


def command(mode, marks):
    return [sys.executable, "-c", TASK, mode, str(marks)]


def test_job_tf_configs_build_one_cluster_on_free_ports():
    tasks = launch.job_tf_configs(2, evaluator=True)
    names = [name for name, _ in tasks]
    assert names == ["worker 0", "worker 1", "evaluator 0"]
    clusters = [config["cluster"] for _, config in tasks]
    assert clusters[0] == clusters[1] == clusters[2]
    addresses = clusters[0]["worker"] + clusters[0]["evaluator"]
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)
    for name, config in tasks:
        assert cluster.parse_tf_config(json.dumps(config)).name == name
    with pytest.raises(BertTF1Error, match="--workers: expected an integer >= 1, found 0"):
        launch.job_tf_configs(0)
    with pytest.raises(BertTF1Error, match="no command to launch"):
        launch.LocalJob([], tasks)


def test_every_task_runs_with_its_tf_config_and_prefixed_output(tmp_path):
    out = io.StringIO()
    job = launch.LocalJob(command("ok", tmp_path), launch.job_tf_configs(2, evaluator=True),
                          out=out)
    assert job.run() == 0
    lines = sorted(line for line in out.getvalue().splitlines() if " task " in line)
    assert lines == ['[evaluator 0] task {"index": 0, "type": "evaluator"}',
                     '[worker 0] task {"index": 0, "type": "worker"}',
                     '[worker 1] task {"index": 1, "type": "worker"}']


def test_one_failure_stops_the_other_tasks_and_is_the_exit_code(tmp_path):
    out = io.StringIO()
    job = launch.LocalJob(command("fail", tmp_path), launch.job_tf_configs(2, evaluator=True),
                          out=out)
    assert job.run() == 3
    text = out.getvalue()
    assert "[worker 1] worker 1 gives up" in text
    assert "[launcher] worker 1 failed (exit code 3): stopping the other tasks" in text
    # The waiting tasks got SIGTERM (their handler left a mark) instead of running on.
    marks = sorted(os.listdir(str(tmp_path)))
    assert "worker-0.signal-%d" % signal.SIGTERM in marks
    assert "evaluator-0.signal-%d" % signal.SIGTERM in marks
    assert all(process.returncode is not None for _, process in job.processes)


def test_a_task_ignoring_sigterm_is_killed_after_the_grace_time(tmp_path):
    job = launch.LocalJob(command("stubborn", tmp_path), launch.job_tf_configs(1),
                          out=io.StringIO(), grace_seconds=0.5)
    job.start()
    while not os.path.exists(str(tmp_path / "worker-0.started")):
        time.sleep(0.05)
    job.stop(signal.SIGTERM)
    assert job.processes[0][1].returncode == -signal.SIGKILL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_to_the_launcher_reach_every_task(tmp_path, signum):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bert_tf1.cli.launch_local", "--workers", "2", "--"] +
        command("wait", tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True)
    try:
        while len([m for m in os.listdir(str(tmp_path)) if m.endswith(".started")]) < 2:
            assert launcher.poll() is None, launcher.stdout.read()
            time.sleep(0.05)
        launcher.send_signal(signum)
        output, _ = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 128 + signum, output
    assert "[launcher] got signal %d: forwarding it to every task" % signum in output
    marks = os.listdir(str(tmp_path))
    assert sorted(m for m in marks if ".signal-" in m) == \
        ["worker-0.signal-%d" % signum, "worker-1.signal-%d" % signum]


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno != errno.ESRCH
    # A zombie (exited, not yet reaped by its new parent) counts as dead.
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_tasks_die_with_a_killed_launcher(tmp_path):
    """SIGKILL cannot be forwarded: the kernel kills the tasks instead of leaving them waiting
    for their peers forever."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bert_tf1.cli.launch_local", "--workers", "2", "--"] +
        command("stubborn", tmp_path), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    started = [str(tmp_path / ("worker-%d.started" % index)) for index in (0, 1)]
    while not all(os.path.exists(path) and os.path.getsize(path) for path in started):
        assert launcher.poll() is None
        time.sleep(0.05)
    pids = [int(open(path).read()) for path in started]
    launcher.kill()
    launcher.wait()
    try:
        for _ in range(600):  # the kernel's signal arrives at once; bounded wait, no timing claim
            if not any(alive(pid) for pid in pids):
                break
            time.sleep(0.05)
        assert not any(alive(pid) for pid in pids)
    finally:  # a failing run leaves no orphans behind
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_command_that_cannot_start_is_one_error(tmp_path):
    missing = str(tmp_path / "no_such_program")
    with pytest.raises(BertTF1Error, match="cannot start %s" % missing):
        launch.LocalJob([missing], launch.job_tf_configs(2), out=io.StringIO()).run()
