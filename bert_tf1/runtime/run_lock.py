"""One live run per output_dir: a lock file naming its holder (host, pid, start time, command).

Two runs on one output_dir overwrite each other's checkpoints, events and results and both exit 0
(issue 12), so a run takes `run.lock` in output_dir before it writes anything there and removes
it on every exit path but SIGKILL / power loss. A lock left behind is *stale* when its holder is
gone; a second run then takes it over with a warning naming the old holder.

Semantics by storage:
  local paths  the lock is created with O_CREAT | O_EXCL (atomic); a lock of this host whose pid
               is not alive (or is alive but started after the lock was written: a reused pid) is
               stale and taken over. A lock of another host cannot be checked from here: the run
               refuses and the message says to delete the file if that run is gone.
  gs://, s3:// best effort: tf.io.gfile has no exclusive create, so the lock is written, read
               back and kept only if it still names this process (two runs starting within the
               same second can both pass on S3, which has no compare-and-swap in TF 1.15's client).
               Staleness is checked as for local paths (pid liveness on this host only).

Processes of one multi-worker job share one lock: every process started with the same run id
(`BERT_TF1_RUN_ID`, or else the TF_CONFIG cluster spec, which all tasks of a job hold alike) joins
the lock instead of refusing; only the process that created it removes it. See `job_run_id`.
"""
import contextlib
import datetime
import errno
import hashlib
import json
import os
import socket
import sys
import time

import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import atomic_io

LOCK_FILE = "run.lock"
RUN_ID_ENV = "BERT_TF1_RUN_ID"


def job_run_id(environ=None):
    """The id shared by the processes of one job, or None for a single-process run.

    BERT_TF1_RUN_ID when set (a launcher sets one value for all its processes); otherwise, under
    TF_CONFIG, a hash of its `cluster` part: every worker, the chief and the evaluator of one
    tf.distribute job hold the same cluster spec (only `task` differs).

    >>> job_run_id({"BERT_TF1_RUN_ID": "job-7"})
    'job-7'
    """
    environ = os.environ if environ is None else environ
    if environ.get(RUN_ID_ENV):
        return environ[RUN_ID_ENV]
    try:
        cluster = json.loads(environ.get("TF_CONFIG") or "{}").get("cluster")
    except ValueError:
        return None
    if not cluster:
        return None
    text = json.dumps(cluster, sort_keys=True).encode("utf-8")
    return "tf_config-" + hashlib.sha256(text).hexdigest()[:16]


def _utc_now():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def _process_start_time(pid):
    """Seconds since the epoch at which `pid` started (Linux /proc), or None if unknown."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as handle:
            boot = next(float(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + float(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None


def pid_alive(pid, since=None):
    """Whether process `pid` of this host runs and (when `since`, epoch seconds, is given) was
    started no later than `since` + 2 s: a pid reused by a newer process does not hold a lock."""
    try:
        os.kill(pid, 0)
    except OSError as error:
        if error.errno == errno.ESRCH:
            return False
    # EPERM: the process exists but belongs to another user: alive.
    if since is not None:
        started = _process_start_time(pid)
        if started is not None and started > since + 2:
            return False
    return True


def describe_holder(holder):
    """'host H, pid P, since T, command C' of a lock's content."""
    command = holder.get("command")
    if isinstance(command, list):
        command = " ".join(command)
    return "host %s, pid %s, since %s, command: %s" % (
        holder.get("host"), holder.get("pid"), holder.get("since"), command)


class RunLock(object):
    """The held lock of one output_dir. Use `acquire`; `release` removes it if this process
    created it (a process that joined a job's lock leaves it to its creator)."""

    def __init__(self, path, content, owned):
        self.path = path
        self.content = content
        self.owned = owned

    def release(self):
        if not self.owned:
            return
        current = _read_lock(self.path)
        if current is not None and current.get("token") == self.content["token"]:
            atomic_io.remove_if_exists(self.path)
        self.owned = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


def _read_lock(path):
    """The lock's content (dict), None when absent; an unreadable lock reads as {}."""
    try:
        with tf.io.gfile.GFile(path, "r") as handle:
            text = handle.read()
    except tf.errors.NotFoundError:
        return None
    try:
        content = json.loads(text)
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


def _create(path, content):
    """Creates the lock file exclusively; False when it already exists."""
    text = json.dumps(content, indent=2, sort_keys=True) + "\n"
    if "://" not in path:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        return True
    # Object stores: write, then read back to see whose lock won (best effort, see above).
    if tf.io.gfile.exists(path):
        return False
    atomic_io.write_text_atomically(path, text)
    return (_read_lock(path) or {}).get("token") == content["token"]


def _is_stale(holder, host):
    """Whether `holder`'s process is gone (only decidable for locks of this host)."""
    if holder.get("host") != host or not isinstance(holder.get("pid"), int):
        return False
    return not pid_alive(holder["pid"], holder.get("since_epoch"))


def _in_use(output_dir, holder, path):
    return BertTF1Error(
        "%s is in use by another live run (%s); wait for it to finish or give another "
        "--output_dir. If that run is gone (e.g. its machine was restarted), delete %s"
        % (output_dir, describe_holder(holder), path))


def acquire(output_dir, command=None, run_id=None, log=None, create=True):
    """Takes output_dir's lock, or BertTF1Error naming the live holder.

    Args:
      output_dir: an existing directory (local, gs://, s3://).
      command: list of str recorded in the lock (default sys.argv).
      run_id: processes passing the same non-empty id share the lock (see job_run_id).
      log: called with the stale-lock warning (default tf.compat.v1.logging.warning).
      create: False for the non-chief processes of a job: they never create (or remove) the
        lock, only refuse when another run's live lock is there; an absent lock or one of
        their own job is fine.

    Returns:
      RunLock; release() it (or use it as a context manager).
    """
    log = log or tf.compat.v1.logging.warning
    path = os.path.join(output_dir, LOCK_FILE)
    host = socket.gethostname()
    content = {"host": host, "pid": os.getpid(), "since": _utc_now(),
               "since_epoch": time.time(), "command": list(command or sys.argv),
               "run_id": run_id, "token": "%s-%d-%.6f" % (host, os.getpid(), time.time())}
    if not create:
        holder = _read_lock(path)
        if holder and not (run_id and holder.get("run_id") == run_id) and \
                not _is_stale(holder, host):
            raise _in_use(output_dir, holder, path)
        return RunLock(path, holder or content, owned=False)
    for _ in range(3):
        if _create(path, content):
            return RunLock(path, content, owned=True)
        holder = _read_lock(path)
        if holder is None:  # released between our two looks: try again
            continue
        if run_id and holder.get("run_id") == run_id:
            return RunLock(path, holder, owned=False)
        if holder and not _is_stale(holder, host):
            raise _in_use(output_dir, holder, path)
        log("%s: taking over a stale lock (%s: that process is no longer running); the run it "
            "held may have been killed: its checkpoints are verified before use" % (
                path, describe_holder(holder) if holder else "unreadable lock file"))
        atomic_io.remove_if_exists(path)
    raise BertTF1Error("%s: could not take the run lock (another run keeps creating it)" % path)


@contextlib.contextmanager
def locked_output_dir(output_dir, run_id=None, create=True):
    """Creates output_dir if needed and holds its lock for the block (see `acquire`).

    A directory this call created is removed again if nothing but the lock was written into it,
    so a run refused by its first checks leaves no trace.
    """
    existed = tf.io.gfile.isdir(output_dir)
    if not existed:
        tf.io.gfile.makedirs(output_dir)
    try:
        lock = acquire(output_dir, run_id=job_run_id() if run_id is None else run_id,
                       create=create)
    except BaseException:
        _remove_if_empty(output_dir, existed)
        raise
    try:
        yield lock
    finally:
        lock.release()
        _remove_if_empty(output_dir, existed)


def _remove_if_empty(output_dir, existed):
    if not existed and tf.io.gfile.isdir(output_dir) and not tf.io.gfile.listdir(output_dir):
        tf.io.gfile.rmtree(output_dir)
