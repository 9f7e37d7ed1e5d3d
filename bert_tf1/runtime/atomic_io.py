"""Atomic writes through tf.io.gfile, so local, gs:// and s3:// outputs are never half-written.

A file is written to a sibling temporary name and renamed over the target; a directory is built
under a sibling temporary name and renamed into place. On local disks and S3-compatible stores the
reader sees either the old content or the new one; on GCS a directory rename is a copy, but the
final name still appears only after the content is complete. Remote writes are retried on
transient failures and fail with one error naming the path and the endpoint (io_errors).
"""
import contextlib
import uuid

from bert_tf1.runtime.io_errors import is_transient, with_retries


def _gfile():
    # Imported on first use: local writes (tiny BERT, data sets) must not pay TF's import.
    import tensorflow as tf

    return tf.io.gfile


def temporary_sibling(path, tag="tmp"):
    """Returns a fresh name next to `path`, e.g. 'out/eval_results.txt.tmp-1a2b3c4d'."""
    return "%s.%s-%s" % (path.rstrip("/"), tag, uuid.uuid4().hex[:8])


@contextlib.contextmanager
def replaced_on_success(path):
    """Yields a temporary sibling of `path` to write; it replaces `path` if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary file is deleted and `path` is
    left as it was. The sibling stays in the same directory/bucket, so the rename is one store.
    """
    gfile = _gfile()
    temporary = temporary_sibling(path)
    try:
        yield temporary
        gfile.rename(temporary, path, overwrite=True)
    except Exception as error:
        # With the store unreachable, cleaning up would only add the SDK's ~25 s of retries.
        if not is_transient(error) and gfile.exists(temporary):
            gfile.remove(temporary)
        raise
    except BaseException:
        if gfile.exists(temporary):
            gfile.remove(temporary)
        raise


def remove_if_exists(path):
    """Deletes the file at `path` if there is one."""
    gfile = _gfile()

    def remove():
        if gfile.exists(path):
            gfile.remove(path)

    with_retries(remove, path, "delete it")


def write_text_atomically(path, text):
    """Writes `text` (str) to `path`, replacing any previous file in one rename."""
    def write():
        with replaced_on_success(path) as temporary:
            with _gfile().GFile(temporary, "w") as handle:
                handle.write(text)

    with_retries(write, path, "write it")


@contextlib.contextmanager
def staged_directory(final_dir, overwrite=False):
    """Yields a temporary directory that becomes `final_dir` when the block succeeds.

    On an exception the temporary directory is deleted and `final_dir` is untouched. With
    `overwrite`, an existing `final_dir` is moved aside, replaced, then deleted; without it an
    existing non-empty `final_dir` raises FileExistsError before anything is written.
    """
    gfile = _gfile()
    final_dir = final_dir.rstrip("/")
    if gfile.exists(final_dir) and gfile.listdir(final_dir) and not overwrite:
        raise FileExistsError(final_dir)
    staging = temporary_sibling(final_dir, "staging")
    gfile.makedirs(staging)
    try:
        yield staging
    except BaseException:
        if gfile.exists(staging):
            gfile.rmtree(staging)
        raise
    backup = None
    if gfile.exists(final_dir):
        backup = temporary_sibling(final_dir, "old")
        gfile.rename(final_dir, backup)
    gfile.rename(staging, final_dir)
    if backup is not None:
        gfile.rmtree(backup)
