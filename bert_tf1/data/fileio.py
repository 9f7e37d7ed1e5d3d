"""File access for the data layer, in one place.

Local paths go through the builtins. Paths with a scheme (gs://, s3://, hdfs://) go through
`tensorflow.io.gfile`, imported only then: the data layer must stay importable and testable
without TensorFlow. Remote operations are retried on transient failures and fail with one error
naming the path and the endpoint (runtime.io_errors).
"""
import codecs
import os
import posixpath
import re

from bert_tf1.errors import BertTF1Error, located
from bert_tf1.runtime.io_errors import raise_if_unreachable, with_retries

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# The one default text encoding of the data layer (the task spec's `encoding` field and
# run_classifier_hub.py's --encoding take it from here). Strict: a wrong byte is an error naming
# its file and line, never a silent replacement character.
DEFAULT_ENCODING = "utf-8"


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


def check_encoding(encoding):
    """Returns the codec name of `encoding` (e.g. "cp1252"), or raises BertTF1Error.

    The readers split files into lines on b"\\n" before decoding (to name the bad line), so
    only encodings that write "\\n" as that one byte are accepted: UTF-16/32 are not.

    >>> check_encoding("latin-1"), check_encoding("UTF8")
    ('iso8859-1', 'utf-8')
    """
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise BertTF1Error("unknown text encoding %r; expected a Python codec name such as "
                           "utf-8, cp1252 or latin-1" % (encoding,))
    if "\n".encode(name) != b"\n":
        raise BertTF1Error("encoding %r is not supported: files are read line by line, so the "
                           "encoding must write a newline as the single byte 0x0a (UTF-8, "
                           "cp1252, latin-1, ...); re-encode the file with iconv -t UTF-8"
                           % (encoding,))
    return name


def open_text(path, encoding=DEFAULT_ENCODING):
    """Opens `path` for reading strict text (default UTF-8); invalid bytes raise
    UnicodeDecodeError. Readers that need to name the bad line use `read_lines` instead.
    """
    if is_remote(path):
        return codecs.getreader(encoding)(_gfile().GFile(path, "rb"), errors="strict")
    return open(path, "r", encoding=encoding, errors="strict", newline="")


def decode_text(data, path, first_line=1, encoding=DEFAULT_ENCODING):
    """Decodes `data` strictly; on failure raises BertTF1Error naming file, line and column.

    >>> decode_text(b"caf\\xe9", "a.txt", encoding="cp1252")
    'café'
    """
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = first_line + data.count(b"\n", 0, err.start)
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        raise BertTF1Error(located(path, "invalid %s (byte 0x%02x at column %d); expected %s "
                                   "text: pass its encoding (--encoding=cp1252 for a Windows "
                                   "file, --encoding=latin-1) or re-encode the file, e.g. with "
                                   "iconv -t UTF-8" % (name, data[err.start], column, name),
                                   line=line))


def decode_utf8(data, path, first_line=1):
    """decode_text as strict UTF-8 (uploads and stdin: UTF-8 by definition).

    >>> decode_utf8(b"caf\\xc3\\xa9", "a.txt")
    'café'
    """
    return decode_text(data, path, first_line)


def read_lines(path, encoding=DEFAULT_ENCODING):
    """Yields (line_number, text) for each line of `path`, 1-based, newline kept.

    Decodes line by line so an invalid byte is reported with its line; a UTF-8 byte-order mark
    on the first line is dropped (Excel writes one).
    """
    utf8 = codecs.lookup(encoding).name == "utf-8"
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and utf8 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield number, decode_text(raw, path, first_line=number, encoding=encoding)


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


def _remote_check(check, path, action):
    """A remote yes/no question, retried; a "no" is checked against the endpoint, because TF's
    S3 file system answers False (after ~51 s) when it cannot connect at all."""
    found = with_retries(check, path, action)
    if not found:
        raise_if_unreachable(path, action)
    return found


def exists(path):
    """True when `path` exists (file or directory)."""
    if is_remote(path):
        return _remote_check(lambda: _gfile().exists(path), path, "check it exists")
    return os.path.exists(path)


def isdir(path):
    """True when `path` is a directory."""
    if is_remote(path):
        return _remote_check(lambda: _gfile().isdir(path), path, "check it is a directory")
    return os.path.isdir(path)


def listdir(path):
    """Sorted entry names of directory `path` (no trailing slashes)."""
    if is_remote(path):
        names = with_retries(lambda: _gfile().listdir(path), path, "list it")
    else:
        names = os.listdir(path)
    return sorted(name.rstrip("/") for name in names)
