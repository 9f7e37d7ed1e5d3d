"""The generic loader: a TaskSpec plus a data_dir and a split give InputExamples.

This replaces google-research/bert's per-task DataProcessor classes: finding the split's file,
reading it (bert_tf1.data.readers) and turning records into checked examples is the same code
for every task; only the spec differs.
"""
import collections
import logging
import math
import os

from bert_tf1.data import fileio, readers
from bert_tf1.data.examples import InputExample
from bert_tf1.data.tasks import SPLITS, TaskSpec, get_task
from bert_tf1.errors import BertTF1Error, located

_LOG = logging.getLogger(__name__)
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")
_EXTENSION_KINDS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}
# Zero-width characters str.strip() keeps (they are not whitespace to Python) but WordPiece
# drops: a text of only these becomes [CLS] [SEP], i.e. as empty as a whitespace-only text.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

# One example before its label is checked against the label list; record and label_column
# name the label's place in error messages.
Row = collections.namedtuple("Row", ["record", "guid", "text_a", "text_b", "label",
                                     "label_column"])


def load_examples(task, data_dir, split, **options):
    """Reads one split of a task as a list of InputExample.

    Args:
      task: a registered task name (see bert_tf1.data.task_names()) or a TaskSpec.
      data_dir: the folder (or, for some tasks, the single file or archive) holding the data.
      split: "train", "dev" or "test".
      **options: per-run settings, see TaskSpec.with_options (e.g. text_a="review",
        labels=["neg", "pos"], language="de" for xnli, filter={"source": "imdb"}).

    Returns:
      list of InputExample with guid "<split>-<n>" (or "<split>-<id>" for tasks with an id
      column), label a label name (str), a float for regression tasks, or None for unlabelled
      test splits.

    Raises:
      BertTF1Error: naming the file, line and field of the first problem found.

    >>> examples = load_examples("cola", "glue_data/CoLA", "dev")  # doctest: +SKIP
    >>> examples[0].guid, examples[0].label                         # doctest: +SKIP
    ('dev-0', '1')
    """
    spec = _configured(task, options)
    rows = read_rows(spec, data_dir, split)
    if spec.labels is None:
        spec = spec.replace(labels=_infer_labels(
            rows if split == "train" else _train_rows(spec, data_dir), spec))
    return [InputExample(row.guid, row.text_a, row.text_b, _checked_label(row, spec))
            for row in rows]


def resolve_task(task, data_dir=None, **options):
    """The TaskSpec that `load_examples` would use, labels inferred from train if not given.

    Save `resolve_task(...).to_json_string()` with a run so the label order (which fixes the
    meaning of each output unit) is recorded.
    """
    spec = _configured(task, options)
    if spec.labels is None and data_dir is not None:
        spec = spec.replace(labels=_infer_labels(_train_rows(spec, data_dir), spec))
    return spec


def has_split(task, data_dir, split, **options):
    """Whether a run should read `split` from data_dir (rather than carve it from train).

    True for a split the task declares, unless the split is optional (spec.optional_splits, e.g.
    the dev/ folder of spam, civil and the generic tasks) and data_dir does not hold it. A
    declared, non-optional split counts as present even when its file is missing, so reading it
    raises the usual "no file for split" error instead of a dev split being carved silently.

    >>> has_split("spam", "spam_flat_folder", "dev")  # doctest: +SKIP
    False
    """
    spec = _configured(task, options)
    if split not in spec.files:
        return False
    if split not in (spec.optional_splits or ()):
        return True
    try:
        locate(spec.for_split(split), data_dir, split)
    except BertTF1Error:
        return False
    return True


def split_source(task, data_dir, split, **options):
    """'<split> split of <file or folder>' for error messages about a split's examples
    (data_dir alone when the split's file cannot be located).

    >>> split_source("csv", "my_data", "train")  # doctest: +SKIP
    'train split of my_data/train.csv'
    """
    spec = _configured(task, options)
    if split not in spec.splits:  # e.g. quora's dev split, carved from train
        return "%s split carved from the train split of %s" % (split, data_dir)
    try:
        path, _ = locate(spec.for_split(split), data_dir, split)
    except BertTF1Error:
        path = data_dir
    return "%s split of %s" % (split, path)


def _train_rows(spec, data_dir):
    try:
        return read_rows(spec, data_dir, "train")
    except BertTF1Error as err:
        raise BertTF1Error("labels were not given, so they are inferred from the train split: %s"
                           % err)


def _configured(task, options):
    spec = task if isinstance(task, TaskSpec) else get_task(task)
    return spec.with_options(**options) if options else spec


def _infer_labels(rows, spec):
    labels = sorted({row.label for row in rows if row.label is not None})
    if not labels:
        raise BertTF1Error("task '%s': cannot infer the label list, the train split has no "
                           "labels; pass labels=[...]" % spec.name)
    return labels


def _checked_label(row, spec):
    """The row's label, checked against spec.labels (a float for regression)."""
    if row.label is None:
        return None
    if not spec.is_regression and row.label in spec.labels:
        return row.label
    source, line = row.record.source, row.record.line
    field = readers.field_name(row.record, row.label_column)
    if spec.is_regression:
        try:
            value = float(row.label)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            raise BertTF1Error(located(source, "regression label must be a number, found %r"
                                       % row.label, line=line, field=field))
        low, high = spec.label_range or (-math.inf, math.inf)
        if not low <= value <= high:
            raise BertTF1Error(located(source, "score %s is outside the expected range "
                                       "[%s, %s]" % (row.label, low, high), line=line,
                                       field=field))
        return value
    raise BertTF1Error(located(source, "found label %r, expected one of %s"
                               % (row.label, spec.labels), line=line, field=field))


def is_blank(text):
    """True when `text` holds nothing but whitespace and zero-width characters.

    >>> is_blank(" \\u200b\\ufeff "), is_blank("a\\u200b")
    (True, False)
    """
    return not text.translate(_ZERO_WIDTH).strip()


def read_rows(spec, data_dir, split):
    """Finds and reads `split`, returning Rows whose texts are checked and labels are raw."""
    if split not in spec.files:
        hint = (" (make one with bert_tf1.data.sampling.stratified_split)"
                if split == "dev" else "")
        raise BertTF1Error("task '%s' has no '%s' split; it has: %s%s; splits are named %s"
                           % (spec.name, split, ", ".join(spec.splits), hint, "/".join(SPLITS)))
    view = spec.for_split(split)
    path, kind = locate(view, data_dir, split)
    skip = ()
    if kind == "folder" and path == str(data_dir):
        # data_dir itself is the train split (a flat layout): a dev/ or test/ folder beside the
        # class folders belongs to that split, not to train (and is no class of its own).
        skip = tuple(sorted({name.strip("/") for other in spec.splits if other != split
                             for name in spec.files[other] if name != "."}))
    rows, empty = [], 0
    for record in _records(view, path, kind, skip):
        if not _passes_filters(record, view.filters):
            continue
        texts = [_text(record, column) for column in (view.text_a, view.text_b)]
        if any(text is not None and is_blank(text) for text in texts):
            if view.skip_empty:
                empty += 1
                continue
            column = view.text_a if is_blank(texts[0]) else view.text_b
            raise BertTF1Error(located(record.source, "empty text (nothing but whitespace or "
                                       "zero-width characters); expected a non-empty string "
                                       "(or pass skip_empty=True to drop such examples)",
                                       line=record.line,
                                       field=readers.field_name(record, column)))
        guid = "%s-%s" % (split, len(rows) if view.guid is None else
                          _value(record, view.guid))
        rows.append(Row(record, guid, texts[0], texts[1], _raw_label(record, view, split),
                        view.label))
    if empty:
        _LOG.warning("%s: skipped %d examples with an empty text", path, empty)
    if not rows:
        raise BertTF1Error(located(path, "no examples found for split '%s' of task '%s'%s; "
                                   "the task expects: %s" % (
                                       split, spec.name, " after filters %s" % view.filters
                                       if view.filters else "", spec.description)))
    return rows


def _value(record, column):
    value = readers.get_field(record, column)
    if value is readers.MISSING:
        raise BertTF1Error(located(record.source, "missing; %s" % readers.available_fields(record),
                                   line=record.line, field=readers.field_name(record, column)))
    return value


def _text(record, column):
    if column is None:
        return None
    value = _value(record, column)
    if not isinstance(value, str):
        raise BertTF1Error(located(record.source, "expected text, found %r" % (value,),
                                   line=record.line, field=readers.field_name(record, column)))
    return value


def _raw_label(record, view, split):
    """The label after label_map, or None for unlabelled records."""
    if view.label is None:
        return None
    value = readers.get_field(record, view.label)
    if split == "test" and (value is None or (
            value is readers.MISSING and isinstance(view.label, str))):
        return None  # a test file without the label column (or JSON null) is unlabelled
    if value is None or value is readers.MISSING:
        raise BertTF1Error(located(record.source, "missing label; %s"
                                   % readers.available_fields(record), line=record.line,
                                   field=readers.field_name(record, view.label)))
    raw = value.strip() if isinstance(value, str) else str(value)
    return (view.label_map or {}).get(raw, raw)


def _passes_filters(record, filters):
    for column, accepted in filters or ():
        if str(_value(record, column)) not in [str(value) for value in accepted]:
            return False
    return True


def locate(view, data_dir, split):
    """Returns (path, kind) of `split`'s data for the per-split spec `view`.

    kind is "tsv", "csv", "jsonl", "folder" or "tar". data_dir may be a folder, or a single
    file: an archive serves every split of a task with tar_root, another file the train split.
    """
    data_dir = str(data_dir)
    if not fileio.exists(data_dir):
        raise BertTF1Error("data_dir '%s' does not exist; task '%s' expects: %s"
                           % (data_dir, view.name, view.description))
    if not fileio.isdir(data_dir):
        kind = _kind_of(data_dir, view)
        if kind == "tar" or split == "train":
            return data_dir, kind
        raise BertTF1Error("data_dir '%s' is a single file, read as the train split only; split "
                           "'%s' of task '%s' needs a folder holding one of: %s"
                           % (data_dir, split, view.name, ", ".join(view.files[split])))
    candidates = view.files[split]
    for name in candidates:
        path = name if os.path.isabs(name) or fileio.is_remote(name) else (
            data_dir if name == "." else fileio.join(data_dir, name))
        if fileio.exists(path):
            return path, _kind_of(path, view)
    hint = ""
    if split in (view.optional_splits or ()):
        hint = (" (this split is optional: run_classifier carves it from train with "
                "--dev_fraction; in Python use bert_tf1.data.stratified_split)")
    raise BertTF1Error("%s: no file for split '%s' of task '%s': looked for %s%s; the task "
                       "expects: %s" % (data_dir, split, view.name, ", ".join(candidates), hint,
                                        view.description))


def _kind_of(path, view):
    """How to read `path`: by its type for format "auto", else checked against the format."""
    if fileio.isdir(path):
        kind = "folder"
    elif path.lower().endswith(_TAR_SUFFIXES):
        kind = "tar" if view.tar_root else None
    elif view.format == "auto":
        kind = _EXTENSION_KINDS.get(os.path.splitext(path)[1].lower())
    else:
        kind = None if view.format == "folder" else view.format
    if kind is None or (view.format != "auto" and kind != view.format and
                        not (kind == "tar" and view.format == "folder")):
        expected = "a folder" if view.format == "folder" else "a %s file" % view.format
        if view.format == "auto":
            expected = "a folder, a tar archive or a .csv/.tsv/.jsonl file"
        raise BertTF1Error(located(path, "cannot read this for task '%s'; expected %s"
                                   % (view.name, expected)))
    return kind


def _records(view, path, kind, skip=()):
    if kind in ("tsv", "csv"):
        delimiter = view.delimiter or ("\t" if kind == "tsv" else ",")
        return readers.read_delimited(path, delimiter=delimiter, quoting=view.quoting,
                                      header=view.header, skip_malformed=view.skip_malformed,
                                      encoding=view.encoding)
    if kind == "jsonl":
        return readers.read_jsonl(path, view.encoding)
    if kind == "tar":
        return readers.read_tar_classes(path, view.tar_root, view.class_dirs, view.email,
                                        view.encoding)
    return readers.read_class_folders(path, view.class_dirs, view.email, skip, view.encoding)
