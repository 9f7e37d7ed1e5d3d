"""The one exception type for bad user input.

Every message says where the problem is (file, line, field or flag) and what was expected, so a
CLI can print it as is and exit 2 without a traceback.
"""


class BertTF1Error(ValueError):
    """A user-facing input error: bad file, bad flag value, incompatible model or data."""


def located(path, message, line=None, field=None):
    """Formats `message` prefixed with `path[:line][ field NAME]`.

    >>> located("train.tsv", "expected 3 columns, found 2", line=7)
    'train.tsv:7: expected 3 columns, found 2'
    """
    where = str(path)
    if line is not None:
        where += ":%d" % line
    if field is not None:
        where += " field '%s'" % field
    return "%s: %s" % (where, message)
