"""File access for the data layer, in one place.

Local paths go through the builtins. Paths with a scheme (gs://, s3://, hdfs://) go through
`tensorflow.io.gfile`, imported only then: the data layer must stay importable and testable
without TensorFlow. Remote operations are retried on transient failures and fail with one error
naming the path and the endpoint (runtime.io_errors).
"""
import os
import posixpath
import re

from bert_tf1.errors import BertTF1Error, located
from bert_tf1.runtime.io_errors import raise_if_unreachable, with_retries

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_remote(path):
    """True when `path` has a URL scheme such as gs:// or s3://.

    >>> is_remote("gs://bucket/glue/CoLA"), is_remote("/data/CoLA")
    (True, False)
    """
    return bool(_SCHEME.match(str(path)))


def _gfile():
    # Only gs:// and s3:// paths need TensorFlow: the data layer imports none (a test says so).
    import tensorflow as tf

    return tf.io.gfile


def open_binary(path):
    """Opens `path` for reading bytes (builtin open, or tf.io.gfile.GFile for remote paths)."""
    if is_remote(path):
        return _gfile().GFile(path, "rb")
    return open(path, "rb")


def open_text(path):
    """Opens `path` for reading strict UTF-8 text; invalid bytes raise UnicodeDecodeError.

    Readers that need to name the bad line use `read_lines` instead.
    """
    if is_remote(path):
        return _gfile().GFile(path, "r")  # GFile decodes as strict UTF-8 in text mode
    return open(path, "r", encoding="utf-8", errors="strict", newline="")


def decode_utf8(data, path, first_line=1):
    """Decodes `data` as strict UTF-8; on failure raises BertTF1Error naming file and line.

    >>> decode_utf8(b"caf\\xc3\\xa9", "a.txt")
    'café'
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + data.count(b"\n", 0, err.start)
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise BertTF1Error(located(path, "invalid UTF-8 (byte 0x%02x at column %d); expected "
                                   "UTF-8 text: re-encode the file, e.g. with iconv -t UTF-8"
                                   % (data[err.start], column), line=line))


def read_lines(path):
    """Yields (line_number, text) for each line of `path`, 1-based, newline kept.

    Decodes line by line so an invalid byte is reported with its line; a UTF-8 byte-order mark
    on the first line is dropped (Excel writes one).
    """
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield number, decode_utf8(raw, path, first_line=number)


def read_bytes(path):
    """Returns the whole content of `path` as bytes."""
    def read():
        with open_binary(path) as handle:
            return handle.read()

    return with_retries(read, path, "read") if is_remote(path) else read()


def join(path, *parts):
    """Joins path components; URLs always use '/'."""
    if is_remote(path):
        return posixpath.join(path, *parts)
    return os.path.join(path, *parts)


def exists(path):
    """True when `path` exists (file or directory)."""
    if is_remote(path):
        found = with_retries(lambda: _gfile().exists(path), path, "check it exists")
        if not found:
            raise_if_unreachable(path, "check it exists")
        return found
    return os.path.exists(path)


def isdir(path):
    """True when `path` is a directory."""
    if is_remote(path):
        found = with_retries(lambda: _gfile().isdir(path), path, "check it is a directory")
        if not found:
            raise_if_unreachable(path, "check it is a directory")
        return found
    return os.path.isdir(path)


def listdir(path):
    """Sorted entry names of directory `path` (no trailing slashes)."""
    if is_remote(path):
        names = with_retries(lambda: _gfile().listdir(path), path, "list it")
    else:
        names = os.listdir(path)
    return sorted(name.rstrip("/") for name in names)
