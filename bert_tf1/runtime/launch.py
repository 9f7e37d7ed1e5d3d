"""Starts the processes of a multi-worker job on this machine (bert-tf1-launch-local).

For trying --distribution_strategy=multi_worker on one machine and for tests: N worker
processes (and optionally an evaluator) run the same command, each with its own TF_CONFIG on
free 127.0.0.1 ports. Their output is streamed line by line, prefixed with the task
("[worker 1] ..."). The job is one unit: when a process fails, the others are stopped (they
would otherwise wait forever for the missing peer in the all-reduce), and SIGINT/SIGTERM sent to
the launcher go to every process; if the launcher itself is killed, the kernel kills the tasks
(Linux: PR_SET_PDEATHSIG). A real multi-host job sets TF_CONFIG per host instead (see
docs/distributed.md).
"""
import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import cluster

# After a failure or a signal, processes get this long to exit before they are killed.
GRACE_SECONDS = 10.0
POLL_SECONDS = 0.1


def _die_with_the_launcher():
    """preexec_fn: the kernel kills the task if the launcher dies (even by SIGKILL), so no
    orphaned worker waits forever for its peers. Linux only; elsewhere a no-op."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports that are free on `host` now (bound together, then released).

    Another program may take a port before the job binds it; the job then fails at start-up
    with gRPC's "address in use" and can simply be started again.
    """
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((host, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def job_tf_configs(workers, evaluator=False, host="127.0.0.1", ports=None):
    """[(task name, TF_CONFIG dict)] for `workers` workers and an optional evaluator.

    >>> [name for name, _ in job_tf_configs(2, evaluator=True, ports=[5001, 5002, 5003])]
    ['worker 0', 'worker 1', 'evaluator 0']
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BertTF1Error("--workers: expected an integer >= 1, found %r" % (workers,))
    needed = workers + (1 if evaluator else 0)
    ports = free_ports(needed, host) if ports is None else list(ports)
    if len(ports) != needed:
        raise BertTF1Error("%d ports for %d tasks" % (len(ports), needed))
    addresses = ["%s:%d" % (host, port) for port in ports]
    evaluator_address = addresses[workers] if evaluator else None
    tasks = [("worker %d" % index, cluster.build_tf_config(
        addresses[:workers], cluster.WORKER, index, evaluator_address))
        for index in range(workers)]
    if evaluator:
        tasks.append(("evaluator 0", cluster.build_tf_config(
            addresses[:workers], cluster.EVALUATOR, 0, evaluator_address)))
    return tasks


class LocalJob(object):
    """The processes of one job; `run()` waits for them and returns the job's exit code.

    Args:
      command: argv list run by every task (e.g. [python, run_classifier_hub.py, ...]).
      tasks: from job_tf_configs.
      env: base environment (default os.environ); each task adds TF_CONFIG.
      out: text stream for the prefixed output lines (default sys.stdout).
      grace_seconds: how long stopped processes get before SIGKILL.
    """

    def __init__(self, command, tasks, env=None, out=None, grace_seconds=GRACE_SECONDS):
        if not command:
            raise BertTF1Error("no command to launch: give it after '--', e.g. "
                               "bert-tf1-launch-local --workers 2 -- run_classifier_hub.py ...")
        self.command = list(command)
        self.tasks = list(tasks)
        self.env = dict(os.environ if env is None else env)
        self.out = sys.stdout if out is None else out
        self.grace_seconds = grace_seconds
        self.processes = []
        self._threads = []
        self._lock = threading.Lock()
        self._signal = None

    def _say(self, name, line):
        with self._lock:
            self.out.write("[%s] %s\n" % (name, line.rstrip("\n")))
            self.out.flush()

    def _pump(self, name, stream):
        for line in iter(stream.readline, ""):
            self._say(name, line)
        stream.close()

    def start(self):
        # Every process is started before any reader thread: forking (with a preexec_fn)
        # while other threads run can deadlock the child.
        for name, tf_config in self.tasks:
            # Unbuffered, so lines arrive as they are printed, not when a buffer fills.
            env = dict(self.env, TF_CONFIG=json.dumps(tf_config), PYTHONUNBUFFERED="1")
            try:
                # Own session: a Ctrl-C at the terminal reaches the launcher only, which
                # forwards it once to every task (and stops them all if one hangs).
                process = subprocess.Popen(self.command, env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, universal_newlines=True,
                                           start_new_session=True,
                                           preexec_fn=_die_with_the_launcher)
            except OSError as error:
                self.stop(signal.SIGTERM)
                raise BertTF1Error("cannot start %s: %s" % (self.command[0], error))
            self.processes.append((name, process))
        for name, process in self.processes:
            thread = threading.Thread(target=self._pump, args=(name, process.stdout),
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, signum):
        """Sends `signum` to every live process; kills those still alive after the grace time."""
        for _, process in self.processes:
            if process.poll() is None:
                try:
                    process.send_signal(signum)
                except OSError:
                    pass
        deadline = time.time() + self.grace_seconds
        for name, process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                self._say("launcher", "%s did not exit %.0f s after signal %d: killing it"
                          % (name, self.grace_seconds, signum))
                process.kill()
                process.wait()

    def _on_signal(self, signum, frame):  # pylint: disable=unused-argument
        self._signal = signum

    def run(self):
        """Starts the tasks and waits. Returns 0 when every task exits 0; otherwise the first
        failing task's exit code (128 + N for death by signal N), after stopping the others;
        128 + N when the launcher itself received SIGINT/SIGTERM N (forwarded to the tasks)."""
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = {}
        if in_main_thread:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            self.start()
            return self._wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for thread in self._threads:
                thread.join(timeout=5)

    def _wait(self):
        while True:
            if self._signal is not None:
                self._say("launcher", "got signal %d: forwarding it to every task"
                          % self._signal)
                self.stop(self._signal)
                return 128 + self._signal
            running = False
            for name, process in self.processes:
                code = process.poll()
                if code is None:
                    running = True
                elif code != 0:
                    code = 128 - code if code < 0 else code
                    self._say("launcher", "%s failed (exit code %d): stopping the other tasks"
                              % (name, code))
                    self.stop(signal.SIGTERM)
                    return code
            if not running:
                return 0
            time.sleep(POLL_SECONDS)


def launch_local(command, workers, evaluator=False, host="127.0.0.1", env=None, out=None,
                 grace_seconds=GRACE_SECONDS):
    """Runs `command` as a `workers`-worker job (+ evaluator) on this machine; returns its exit
    code (see LocalJob.run).

    >>> launch_local([sys.executable, "-c", "import os; print(os.environ['TF_CONFIG'])"], 2)
    ... # doctest: +SKIP
    0
    """
    tasks = job_tf_configs(workers, evaluator, host)
    return LocalJob(command, tasks, env=env, out=out, grace_seconds=grace_seconds).run()
