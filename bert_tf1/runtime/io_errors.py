"""I/O failures as one user error: disk full, read-only, not a directory, remote store down.

TensorFlow reports file-system failures as `tf.errors.OpError` whose message reads
"PATH; STRERROR" (local files) or, for s3://, only the AWS SDK's ": Unable to connect to
endpoint" after ~25 s of its own retries, naming no path; Python reports OSError with errno and
filename. `user_error(error)` turns the ones a user can act on into a BertTF1Error naming the path
(and, for remote paths, the endpoint); cli.run_main prints it as one line.

Remote stores (s3://, gs://) get two more things:
  * `check_reachable(path)`: a TCP connect to the store's endpoint with a timeout and a few
    retries with backoff, before a run writes anything: with S3 down, tf.io.gfile.exists() spends
    ~51 s and then returns False ("not found"), which would be the wrong diagnosis;
  * `with_retries(fn, path, what)`: the kit's own remote file operations are retried (bounded,
    with backoff) while the endpoint still answers, and fail with one error naming path and
    endpoint as soon as it does not.

Importing this module does not import TensorFlow (the data layer uses it and must stay TF-free).
"""
import errno
import logging
import os
import re
import socket
import sys
import time
import urllib.parse

from bert_tf1.errors import BertTF1Error

_LOG = logging.getLogger(__name__)

# Bounded: at most RETRY_ATTEMPTS tries of a remote operation, sleeping 1 s, 2 s, ... between.
RETRY_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 5.0
GCS_ENDPOINT = ("www.googleapis.com", 443)  # hard-coded in TF 1.15's GCS file system

# strerror text (as TF words it) -> (errno, what the user can do).
_ADVICE = {
    "No space left on device": (errno.ENOSPC, "the disk is full: free space or write elsewhere"),
    "Disk quota exceeded": (errno.EDQUOT, "the disk quota is exceeded: free space or write "
                                          "elsewhere"),
    "Read-only file system": (errno.EROFS, "the file system is read-only: choose a writable "
                                           "directory"),
    "Permission denied": (errno.EACCES, "permission denied: fix its permissions or choose a "
                                        "path you can read/write"),
    "Operation not permitted": (errno.EPERM, "operation not permitted: fix its permissions or "
                                             "choose a path you can read/write"),
    "Not a directory": (errno.ENOTDIR, "a file stands where a directory is needed (a part of "
                                       "this path is a file): move it or choose another path"),
    "File exists": (errno.EEXIST, "a file already exists where a directory is needed: move it "
                                  "or choose another path"),
    "Is a directory": (errno.EISDIR, "a directory stands where a file is needed"),
}
_ADVICE_BY_ERRNO = {number: advice for number, advice in _ADVICE.values()}
_TF_PATH_MESSAGE = re.compile(r"^(?P<path>.+?); (?P<reason>%s)"
                              % "|".join(re.escape(reason) for reason in _ADVICE))
# Messages of connection failures (AWS SDK / curl, GCS, Python sockets).
_TRANSIENT_TEXT = re.compile(r"unable to connect|timed out|timeout|connection (refused|reset|"
                             r"aborted)|couldn't connect|could not connect|name resolution|"
                             r"temporarily unavailable", re.I)
_TRANSIENT_ERRNOS = (errno.ECONNREFUSED, errno.ECONNRESET, errno.ETIMEDOUT, errno.EHOSTUNREACH,
                     errno.ENETUNREACH, errno.ECONNABORTED)
_REMOTE_IN_TEXT = re.compile(r"\b(s3|gs)://[^\s;,'\"]+")


def scheme(path):
    """'s3', 'gs' (or another scheme) for a URL, None for a local path."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", str(path))
    return match.group(1).lower() if match else None


def endpoint(path, environ=None):
    """(host, port, how it was chosen) of the store serving `path`, or None for local paths.

    >>> endpoint("s3://b/run", {"S3_ENDPOINT": "127.0.0.1:9000", "S3_USE_HTTPS": "0"})
    ('127.0.0.1', 9000, 'S3_ENDPOINT=127.0.0.1:9000')
    """
    environ = os.environ if environ is None else environ
    kind = scheme(path)
    if kind == "gs":
        return GCS_ENDPOINT + ("TF 1.15's fixed GCS endpoint",)
    if kind != "s3":
        return None
    https = environ.get("S3_USE_HTTPS", "1") not in ("0", "false")
    configured = environ.get("S3_ENDPOINT")
    if configured:
        host = re.sub(r"^https?://", "", configured).split("/")[0]
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        return name, int(port) if port.isdigit() else (443 if https else 80), \
            "S3_ENDPOINT=%s" % configured
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return "s3.%s.amazonaws.com" % region, 443 if https else 80, \
        "AWS S3 in AWS_REGION=%s (S3_ENDPOINT unset)" % region


def describe_endpoint(path, environ=None):
    """'S3 endpoint 127.0.0.1:9000 (S3_ENDPOINT=127.0.0.1:9000)', or '' for local paths."""
    found = endpoint(path, environ)
    if found is None:
        return ""
    host, port, how = found
    return "%s endpoint %s:%d (%s)" % ((scheme(path) or "").upper(), host, port, how)


def probe_address(path, environ=None):
    """(host, port) a TCP probe for `path` connects to: its endpoint, or the HTTP(S) proxy the
    environment routes it through (curl, under TF's S3 and GCS clients, honours https_proxy /
    http_proxy and no_proxy), or None for local paths."""
    environ = os.environ if environ is None else environ
    found = endpoint(path, environ)
    if found is None:
        return None
    host, port, _ = found
    proxies = {key.lower(): value for key, value in environ.items()
               if key.lower() in ("https_proxy", "http_proxy", "no_proxy")}
    proxy = proxies.get("https_proxy" if port == 443 else "http_proxy")
    bypass = proxies.get("no_proxy", "")
    if proxy and not _bypassed(host, bypass):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    return host, port


def _bypassed(host, no_proxy):
    if no_proxy.strip() == "*":
        return True
    return any(host == entry or host.endswith("." + entry.lstrip("."))
               for entry in (item.strip() for item in no_proxy.split(",")) if entry)


def _unreachable(host, port, timeout):
    """None when a TCP connection to host:port opens within `timeout`, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:  # refused, timed out, no route, unknown host
        return str(error) or type(error).__name__


def check_reachable(path, attempts=RETRY_ATTEMPTS, delay=None, timeout=CONNECT_TIMEOUT_SECONDS,
                    sleep=None, environ=None):
    """Raises BertTF1Error naming `path` and its endpoint unless the endpoint accepts a TCP
    connection (tried `attempts` times, backing off `delay`, 2*`delay`, ...). Local paths pass.

    Bounded: at most attempts * timeout + delay * (2 ** (attempts - 1) - 1) seconds.
    """
    delay = RETRY_DELAY_SECONDS if delay is None else delay
    sleep = sleep or time.sleep
    address = probe_address(path, environ)
    if address is None:
        return
    host, port = address
    reason = None
    for attempt in range(attempts):
        reason = _unreachable(host, port, timeout)
        if reason is None:
            return
        if attempt + 1 < attempts:
            sleep(delay * 2 ** attempt)
    raise BertTF1Error("%s: cannot reach the %s after %d attempts (%s); check the endpoint, "
                       "credentials and network, then rerun" % (
                           path, describe_endpoint(path, environ), attempts, reason))


def is_transient(error):
    """True for connection failures worth retrying (refused, reset, timed out, unavailable)."""
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
        return True
    if isinstance(error, (socket.timeout, ConnectionError)):
        return True
    tf = sys.modules.get("tensorflow")  # a TF error exists only if TF was imported
    if tf is not None and isinstance(error, tf.errors.OpError):
        if isinstance(error, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                              tf.errors.AbortedError)):
            return True
        return bool(_TRANSIENT_TEXT.search(_first_line(error)))
    return False


def with_retries(function, path, what, attempts=RETRY_ATTEMPTS, delay=None, sleep=None):
    """Returns function(); for a remote `path`, transient failures are retried.

    A retry happens only while the endpoint still accepts connections (a blip); when it does not,
    or after `attempts` tries, one BertTF1Error names `what`, `path` and the endpoint. Local
    paths and non-transient errors are not retried (user_error still names them).
    """
    if scheme(path) is None:
        return function()
    delay = RETRY_DELAY_SECONDS if delay is None else delay
    sleep = sleep or time.sleep
    for attempt in range(1, attempts + 1):
        try:
            return function()
        except Exception as error:  # noqa: BLE001 - only transient ones are handled
            transient = is_transient(error)
            # With the endpoint down, TF's S3 reads fail as "Object ... does not exist".
            if not (transient or _is_not_found(error)):
                raise
            down = _endpoint_down(path)
            if down or (transient and attempt == attempts):
                raise BertTF1Error("%s: cannot %s: the %s %s (%s)" % (
                    path, what, describe_endpoint(path),
                    "does not answer" if down else "failed %d times" % attempts,
                    down or _first_line(error)))
            if not transient:
                raise
            _LOG.warning("%s: %s failed (%s); retry %d of %d", path, what, _first_line(error),
                         attempt, attempts - 1)
            sleep(delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _is_not_found(error):
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(error, tf.errors.NotFoundError)


def _endpoint_down(path):
    """Why the endpoint serving remote `path` refuses a TCP connection, or None."""
    address = probe_address(path)
    return address and _unreachable(address[0], address[1], CONNECT_TIMEOUT_SECONDS)


def raise_if_unreachable(path, what):
    """For a remote `path` that seems absent: raises BertTF1Error if its endpoint is down.

    TF's S3 file system answers exists()/isdir() with False when it cannot connect, so "not
    found" needs this one probe before it is believed.
    """
    down = scheme(path) and _endpoint_down(path)
    if down:
        raise BertTF1Error("%s: cannot %s: the %s does not answer (%s)" % (
            path, what, describe_endpoint(path), down))


def _first_line(error):
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0].strip() if text.strip() else type(error).__name__


def user_error(error):
    """The BertTF1Error a user should see for `error`, or None when it is not an I/O fault.

    Handles OSError with an errno in _ADVICE (disk full, read-only, permission, not a
    directory), TF errors reading "PATH; <same strerror>", and remote connection failures.

    >>> str(user_error(OSError(28, "No space left on device", "/out/train.tf_record")))
    '/out/train.tf_record: the disk is full: free space or write elsewhere (No space left on \
device)'
    """
    if isinstance(error, BertTF1Error):
        return error
    if isinstance(error, OSError) and error.errno in _ADVICE_BY_ERRNO:
        path = error.filename or "(unknown path)"
        return BertTF1Error("%s: %s (%s)" % (path, _ADVICE_BY_ERRNO[error.errno],
                                            os.strerror(error.errno)))
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(error, tf.errors.OpError):
        if is_transient(error):
            return BertTF1Error("connection failed: %s" % _first_line(error))
        return None
    line = _first_line(error)
    match = _TF_PATH_MESSAGE.match(line)
    if match:
        # atomic_io writes "<target>.tmp-<hex>" first: name the file the user asked for.
        path = re.sub(r"\.(tmp|staging|old)-[0-9a-f]{8}$", "", match.group("path"))
        reason = match.group("reason")
        where = describe_endpoint(path)
        return BertTF1Error("%s: %s (%s%s)" % (
            path, _ADVICE[reason][1], reason, "; " + where if where else ""))
    remote = _REMOTE_IN_TEXT.search(str(error))
    path = remote.group(0) if remote else None
    down = path and _endpoint_down(path)
    if down:  # e.g. "Object s3://... does not exist" from TF's S3 client that cannot connect
        return BertTF1Error("%s: the %s does not answer (%s; TensorFlow said: %s)" % (
            path, describe_endpoint(path), down, line.lstrip(": ")))
    if is_transient(error):
        where = describe_endpoint(path) if path else _configured_endpoints()
        return BertTF1Error("%sremote storage failed: %s (%s)%s" % (
            path + ": " if path else "", line.lstrip(": "), where or "no endpoint configured",
            "" if path else "; the operation was %s" % _op_name(error)))
    return None


def _configured_endpoints():
    """The S3 endpoint the environment configures (a TF error from S3 may name no path)."""
    if os.environ.get("S3_ENDPOINT") or os.environ.get("AWS_REGION"):
        return describe_endpoint("s3://bucket")
    return ""


def _op_name(error):
    op = getattr(error, "op", None)
    return "'%s'" % op.name if op is not None else "a TensorFlow file operation"
