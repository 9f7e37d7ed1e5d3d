"""Task specs and the task registry.

A `TaskSpec` is a small, JSON-serialisable description of one dataset's files and columns
(like google-research/bert's BertConfig for models). One generic loader reads any spec
(bert_tf1.data.loading), so adding a task is one `register_task` call, not a processor class.
Built-in tasks live in bert_tf1.data.glue and bert_tf1.data.corpora.
"""
import copy
import json

from bert_tf1.errors import BertTF1Error

SPLITS = ("train", "dev", "test")
FORMATS = ("tsv", "csv", "jsonl", "folder", "auto")
REGRESSION = "regression"

# Field name -> default. Columns (text_a, text_b, label, guid) are 0-based indices (negative
# counts from the end) or column names (CSV/TSV with a header, JSONL keys).
_DEFAULTS = (
    ("name", None),
    ("format", None),  # one of FORMATS; "auto" picks tar / folder / csv / tsv from the path found
    ("description", ""),  # what the task is and which files it expects
    ("files", None),  # {split: [candidate paths relative to data_dir, first found wins]}
    ("text_a", None),
    ("text_b", None),  # None for single-sentence tasks
    ("label", None),  # None: unlabelled (e.g. GLUE test splits)
    ("guid", None),  # id column: guids read "<split>-<id>"; None: "<split>-<n>"
    ("labels", None),  # list of label names, "regression", or None: inferred from train
    ("header", False),
    ("delimiter", None),  # default "\t" for tsv, "," for csv
    ("quoting", "minimal"),  # "none": quotes are text (GLUE TSV); "minimal": CSV quoting
    ("label_map", None),  # {raw value: label name}, applied before checking the label list
    ("label_range", None),  # [low, high] for regression labels
    ("filters", None),  # [[column, [accepted values]], ...]: other rows are skipped
    ("class_dirs", None),  # folders: {label: [folder name prefixes]}; None: folder name = label
    ("email", False),  # folders: False, True (raw e-mails, headers stripped) or "auto"
    ("tar_root", None),  # member folder holding the class folders in a tar, e.g. "aclImdb/{split}"
    ("params", None),  # {name: default} substituted as {name} in files, filters and tar_root
    ("split_options", None),  # {split: {field: value}} for splits laid out differently
    ("skip_empty", False),  # drop examples with an empty text instead of raising
    ("skip_malformed", False),  # drop rows with a wrong column count instead of raising
)
FIELDS = tuple(name for name, _ in _DEFAULTS)
# Fields a user may override per run (load_examples(..., **options)).
OPTION_FIELDS = ("text_a", "text_b", "label", "guid", "labels", "header", "delimiter", "quoting",
                 "label_map", "label_range", "class_dirs", "email", "skip_empty", "skip_malformed")
FILE_OPTIONS = {"train_file": "train", "dev_file": "dev", "test_file": "test"}


class TaskSpec(object):
    """Where a task's examples are and how to read them. See `_DEFAULTS` for the fields.

    >>> spec = TaskSpec(name="reviews", format="csv", header=True, text_a="text", label="label",
    ...                 labels=["neg", "pos"], files={"train": ["train.csv"]})
    >>> TaskSpec.from_json_string(spec.to_json_string()) == spec
    True
    """

    def __init__(self, **fields):
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise BertTF1Error("task spec: unknown field(s) %s; expected some of %s"
                               % (unknown, list(FIELDS)))
        for name, default in _DEFAULTS:
            setattr(self, name, copy.deepcopy(fields.get(name, default)))
        if isinstance(self.labels, tuple):
            self.labels = list(self.labels)
        if isinstance(self.files, dict):
            self.files = {split: [paths] if isinstance(paths, str) else list(paths)
                          for split, paths in self.files.items()}
        _validate(self)

    @property
    def splits(self):
        """The splits this task has, in train/dev/test order."""
        return [split for split in SPLITS if split in self.files]

    @property
    def is_regression(self):
        return self.labels == REGRESSION

    def to_dict(self):
        return {name: copy.deepcopy(getattr(self, name)) for name in FIELDS}

    @classmethod
    def from_dict(cls, values):
        return cls(**values)

    def to_json_string(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json_string(cls, text):
        return cls.from_dict(json.loads(text))

    def replace(self, **changes):
        """A copy with `changes` applied."""
        values = self.to_dict()
        values.update(changes)
        return TaskSpec(**values)

    def with_options(self, **options):
        """A copy configured by user options; they win over the spec's per-split options.

        Accepted: the fields in OPTION_FIELDS, train_file/dev_file/test_file (a path relative to
        data_dir, or absolute), filter ({column: value or [values]}) and the spec's params
        (e.g. language for xnli).
        """
        values = self.to_dict()
        params = dict(self.params or {})
        split_options = copy.deepcopy(self.split_options or {})
        for key, value in sorted(options.items()):
            if key in OPTION_FIELDS:
                values[key] = value
                for overrides in split_options.values():
                    overrides.pop(key, None)
            elif key in FILE_OPTIONS:
                values["files"] = dict(values["files"], **{FILE_OPTIONS[key]: [value]})
            elif key == "filter":
                values["filters"] = _filters_from_dict(value)
            elif key in params:
                params[key] = value
            else:
                raise BertTF1Error("unknown option '%s' for task '%s'; accepted options: %s"
                                   % (key, self.name, ", ".join(
                                       sorted(OPTION_FIELDS + tuple(FILE_OPTIONS) + ("filter",)
                                              + tuple(params)))))
        values.update(params=params or None, split_options=split_options or None)
        return TaskSpec(**values)

    def for_split(self, split):
        """The spec as it applies to `split`: per-split options merged, {params} substituted."""
        values = self.to_dict()
        values.update((self.split_options or {}).get(split, {}))
        subs = dict(self.params or {}, split=split)
        values["files"] = {split: [_substitute(path, subs) for path in self.files[split]]}
        if values["filters"]:
            values["filters"] = [[column, [_substitute(value, subs) for value in accepted]]
                                 for column, accepted in values["filters"]]
        if values["tar_root"]:
            values["tar_root"] = _substitute(values["tar_root"], subs)
        values["split_options"] = None
        return TaskSpec(**values)

    def __eq__(self, other):
        return isinstance(other, TaskSpec) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "TaskSpec(name=%r, format=%r, splits=%r)" % (self.name, self.format, self.splits)


def _substitute(value, subs):
    """Replaces {name} for each known name only: other braces in user paths stay as they are."""
    if isinstance(value, str):
        for name, replacement in subs.items():
            value = value.replace("{%s}" % name, str(replacement))
    return value


def _filters_from_dict(filters):
    if not isinstance(filters, dict):
        raise BertTF1Error("option filter: expected {column: value or [values]}, found %r"
                           % (filters,))
    return [[column, list(accepted) if isinstance(accepted, (list, tuple)) else [accepted]]
            for column, accepted in sorted(filters.items(), key=lambda item: str(item[0]))]


def _validate(spec):
    """Raises BertTF1Error naming the first inconsistent field of `spec`."""
    def fail(message):
        raise BertTF1Error("task spec '%s': %s" % (spec.name, message))

    if not spec.name or not isinstance(spec.name, str):
        fail("name must be a non-empty string")
    if spec.format not in FORMATS:
        fail("format %r is not one of %s" % (spec.format, list(FORMATS)))
    if not isinstance(spec.files, dict) or not spec.files:
        fail("files must map splits %s to candidate file names" % (list(SPLITS),))
    for split, paths in spec.files.items():
        if split not in SPLITS or not paths or not all(isinstance(p, str) for p in paths):
            fail("files[%r] must be a non-empty list of paths, with split one of %s"
                 % (split, list(SPLITS)))
    for split in spec.split_options or {}:
        if split not in spec.files:
            fail("split_options names split %r, which has no files" % split)
    if spec.text_a is None:
        fail("text_a (the text column) is required")
    for field in ("text_a", "text_b", "label", "guid"):
        column = getattr(spec, field)
        if not (column is None or isinstance(column, (int, str))) or isinstance(column, bool):
            fail("%s must be a column index, a column name or None, found %r" % (field, column))
    labels = spec.labels
    if not (labels is None or labels == REGRESSION or (
            isinstance(labels, list) and labels and len(set(labels)) == len(labels)
            and all(isinstance(label, str) for label in labels))):
        fail("labels must be a list of distinct strings, %r or None (inferred), found %r"
             % (REGRESSION, labels))
    if spec.quoting not in ("none", "minimal"):
        fail("quoting must be 'none' or 'minimal', found %r" % (spec.quoting,))
    if spec.email not in (False, True, "auto"):
        fail("email must be False, True or 'auto', found %r" % (spec.email,))
    for item in spec.filters or []:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], list)):
            fail("filters must be [[column, [values]], ...], found %r" % (item,))


# ---- registry ---------------------------------------------------------------------------------

_REGISTRY = {}
_ALIASES = {}
_BUILTINS_LOADED = [False]


def _load_builtins():
    # Imported here, not at the top: the built-in task modules import this one to register.
    if not _BUILTINS_LOADED[0]:
        _BUILTINS_LOADED[0] = True
        from bert_tf1.data import corpora, glue  # noqa: F401 pylint: disable=C0415


def register_task(spec, aliases=(), overwrite=False):
    """Adds `spec` to the registry under spec.name (lower case) and optional `aliases`.

    >>> register_task(TaskSpec(name="my-reviews", format="csv", header=True, text_a="text",
    ...                        label="stars", files={"train": ["reviews.csv"]}))  # doctest: +SKIP
    """
    if not isinstance(spec, TaskSpec):
        raise BertTF1Error("register_task: expected a TaskSpec, found %r" % (spec,))
    name = spec.name.lower()
    if not overwrite and (name in _REGISTRY or name in _ALIASES):
        raise BertTF1Error("task '%s' is already registered" % name)
    _REGISTRY[name] = spec
    for alias in aliases:
        _ALIASES[alias.lower()] = name


def task_names():
    """Sorted names of every registered task (aliases not included)."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_task(name):
    """Returns the registered TaskSpec for `name` (case-insensitive; aliases accepted).

    >>> get_task("CoLA").splits
    ['train', 'dev', 'test']
    """
    _load_builtins()
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise BertTF1Error("unknown task '%s'; known tasks: %s" % (name, ", ".join(task_names())))
    return _REGISTRY[key].replace()
