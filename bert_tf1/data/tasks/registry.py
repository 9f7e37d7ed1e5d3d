"""Task specs and the task registry.

A `TaskSpec` is a small, JSON-serialisable description of one dataset's files and columns
(like google-research/bert's BertConfig for models). One generic loader reads any spec
(bert_tf1.data.loading), so adding a task is one `register_task` call, not a processor class.
Built-in tasks live in bert_tf1.data.tasks.glue and bert_tf1.data.tasks.corpora.
"""
import copy
import json
import re
import textwrap

from bert_tf1.data.fileio import DEFAULT_ENCODING, check_encoding
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
    ("encoding", DEFAULT_ENCODING),  # text encoding of the files (strict; e-mails: their own)
    # Splits that may be absent from data_dir: a run then carves them from train (see
    # has_split). Only "dev" makes sense: a flat spam/ + ham/ folder is a train split alone.
    ("optional_splits", None),
)
FIELDS = tuple(name for name, _ in _DEFAULTS)
# Fields a user may override per run (load_examples(..., **options)).
OPTION_FIELDS = ("text_a", "text_b", "label", "guid", "labels", "header", "delimiter", "quoting",
                 "label_map", "label_range", "class_dirs", "email", "skip_empty", "skip_malformed",
                 "encoding")
FILE_OPTIONS = {"train_file": "train", "dev_file": "dev", "test_file": "test"}
_BOOL_FIELDS = ("header", "skip_empty", "skip_malformed")


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
        if isinstance(self.optional_splits, tuple):
            self.optional_splits = list(self.optional_splits)
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
                split = FILE_OPTIONS[key]
                values["files"] = dict(values["files"], **{split: [value]})
                # A file the user names must exist: never silently carve a dev split instead.
                values["optional_splits"] = [name for name in values["optional_splits"] or ()
                                             if name != split] or None
            elif key == "filter":
                values["filters"] = _filters_from_dict(value)
            elif key in params:
                params[key] = value
            else:
                raise BertTF1Error("unknown option '%s' for task '%s'; accepted options: %s"
                                   % (key, self.name, ", ".join(accepted_options(self))))
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
        values["optional_splits"] = [split] if split in (self.optional_splits or ()) else None
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
    try:
        check_encoding(spec.encoding)
    except BertTF1Error as error:
        fail(str(error))
    if spec.quoting not in ("none", "minimal"):
        fail("quoting must be 'none' or 'minimal', found %r" % (spec.quoting,))
    if spec.email not in (False, True, "auto") or spec.email in (0, 1) and \
            not isinstance(spec.email, bool):
        fail("email must be False, True or 'auto', found %r" % (spec.email,))
    for field in _BOOL_FIELDS:
        # A string such as "false" is truthy: reject it rather than read it as True.
        if not isinstance(getattr(spec, field), bool):
            fail("%s must be True or False, found %r" % (field, getattr(spec, field)))
    optional = spec.optional_splits
    if optional is not None and not (isinstance(optional, list) and all(
            split in spec.files and split != "train" for split in optional)):
        fail("optional_splits must be a list of splits other than 'train' that have files, "
             "found %r" % (optional,))
    for item in spec.filters or []:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], list)):
            fail("filters must be [[column, [values]], ...], found %r" % (item,))


# ---- options given as text (command lines) ------------------------------------------------------

# How parse_option reads each option's text. Params (e.g. xnli's language) take the type of
# their default value.
OPTION_TYPES = {
    "text_a": "column", "text_b": "column", "label": "column", "guid": "column",
    "labels": "labels", "header": "bool", "delimiter": "delimiter", "quoting": "text",
    "label_map": "mapping", "label_range": "range", "class_dirs": "class_dirs",
    "email": "email", "skip_empty": "bool", "skip_malformed": "bool", "encoding": "text",
    "train_file": "text", "dev_file": "text", "test_file": "text", "filter": "filter",
}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
                    "space": " "}
_OPTION_FORMATS = {
    "column": "a column index (0, -1) or name",
    "bool": "a boolean (%s or %s)" % ("/".join(_TRUE), "/".join(_FALSE)),
    "email": "true, false or auto",
    "labels": "comma-separated label names, a JSON list or 'regression'",
    "delimiter": "one character, or tab / \\t / comma / semicolon / pipe / space",
    "mapping": "raw:name pairs separated by commas, or a JSON object",
    "range": "low,high (two numbers) or a JSON list",
    "class_dirs": "label:prefix|prefix pairs separated by commas, or a JSON object",
    "filter": "column:value|value",
    "int": "an integer", "float": "a number", "text": "a string",
}


def option_type(key, spec=None):
    """The parse_option type of option `key` for `spec` (None: not an option of `spec`)."""
    if key in OPTION_TYPES:
        return OPTION_TYPES[key]
    params = (spec.params or {}) if spec is not None else {}
    if key not in params:
        return None
    default = params[key]
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "text"


def accepted_options(spec):
    """Sorted names of the options TaskSpec.with_options accepts for `spec`."""
    return sorted(OPTION_FIELDS + tuple(FILE_OPTIONS) + ("filter",) + tuple(spec.params or ()))


def parse_option_pairs(pairs, spec=None, options=None):
    """--task_option KEY=VALUE pairs -> options, each value read by parse_option.

    Repeated filter=column:a|b pairs add up (one column each); any other repeated key keeps
    its last value, as repeated flags do.

    Args:
      pairs: iterable of "KEY=VALUE" strings.
      spec: the TaskSpec they are for (see parse_option), or None.
      options: dict to add to (e.g. options other flags gave); a new dict if None.

    Returns:
      the options dict.

    Raises:
      BertTF1Error naming the pair: "--task_option skip_empty=maybe: option 'skip_empty': ...".

    >>> parse_option_pairs(["skip_empty=false", "filter=source:imdb", "filter=2:x"])
    {'skip_empty': False, 'filter': {'source': ['imdb'], 2: ['x']}}
    """
    options = {} if options is None else options
    for pair in pairs or ():
        if "=" not in pair:
            raise BertTF1Error("--task_option %r: expected key=value" % pair)
        key, value = pair.split("=", 1)
        key = key.strip()
        try:
            parsed = parse_option(key, value, spec)
        except BertTF1Error as error:
            raise BertTF1Error("--task_option %s: %s" % (pair, error))
        if key == "filter":
            column, accepted = parsed
            options.setdefault("filter", {})[column] = accepted
        else:
            options[key] = parsed
    return options


def parse_option(key, text, spec=None):
    """Reads one option given as text (--task_option key=value) as the type the option has.

    Without this, every command-line value is a string and "skip_empty=false" (a non-empty
    string, so truthy) would turn skipping on.

    Args:
      key: option name, e.g. "skip_empty", "text_a", "label_range", or a param of `spec`.
      text: the value as typed.
      spec: the TaskSpec the option is for; needed for its params (e.g. xnli's language) and to
        reject unknown keys. Without it unknown keys keep their text for with_options to check.

    Returns:
      the value: bool, int/str column, list of labels, dict, [low, high] floats, str, or for
      "filter" a pair (column, [accepted values]).

    Raises:
      BertTF1Error: "option 'KEY': expected FORMAT, found 'TEXT'".

    >>> parse_option("skip_empty", "false"), parse_option("text_a", "3")
    (False, 3)
    >>> parse_option("label_range", "0,5"), parse_option("filter", "source:imdb|rt")
    ([0.0, 5.0], ('source', ['imdb', 'rt']))
    """
    kind = option_type(key, spec)
    if kind is None:
        if spec is None:
            return text
        raise BertTF1Error("unknown option '%s' for task '%s'; accepted options: %s"
                           % (key, spec.name, ", ".join(accepted_options(spec))))

    def fail():
        raise BertTF1Error("option '%s': expected %s, found %r" % (key, _OPTION_FORMATS[kind],
                                                                  text))

    stripped = text.strip()
    lowered = stripped.lower()
    if kind == "text":
        return text
    if kind in ("bool", "email"):
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        if kind == "email" and lowered == "auto":
            return "auto"
        fail()
    if kind == "int":
        try:
            return int(stripped)
        except ValueError:
            fail()
    if kind == "float":
        try:
            return float(stripped)
        except ValueError:
            fail()
    if kind == "column":
        if not stripped:
            fail()
        if lowered in _NONE and key != "text_a":
            return None  # e.g. text_b=none makes a pair task's spec single-sentence
        return _column_value(stripped)
    if kind == "delimiter":
        value = _DELIMITER_NAMES.get(lowered, text)
        if len(value) != 1:
            fail()
        return value
    if stripped.startswith(("[", "{")):
        value = _json_option(stripped, fail)
    else:
        value = None
    if kind == "labels":
        if lowered == REGRESSION:
            return REGRESSION
        if value is None:
            value = [label.strip() for label in stripped.split(",")]
        if not (isinstance(value, list) and value and all(
                isinstance(label, str) and label for label in value)):
            fail()
        return value
    if kind == "range":
        if value is None:
            value = stripped.split(",")
        try:
            low, high = [float(bound) for bound in value]
        except (TypeError, ValueError):
            fail()
        if low > high:
            fail()
        return [low, high]
    if kind == "filter":
        column, sep, accepted = stripped.partition(":")
        if not sep or not column:
            fail()
        return _column_value(column), accepted.split("|")
    # mapping ({raw: name}) and class_dirs ({label: [prefixes]})
    if value is None:
        value = {}
        for pair in stripped.split(","):
            name, sep, target = pair.partition(":")
            if not sep or not name.strip():
                fail()
            target = target.strip()
            value[name.strip()] = target.split("|") if kind == "class_dirs" else target
    if not isinstance(value, dict):
        fail()
    if kind == "class_dirs":
        value = {label: [prefixes] if isinstance(prefixes, str) else prefixes
                 for label, prefixes in value.items()}
        if not all(isinstance(p, list) and all(isinstance(x, str) and x for x in p)
                   for p in value.values()):
            fail()
    elif not all(isinstance(target, str) for target in value.values()):
        fail()
    return value


def _column_value(text):
    """'3' / '-1' -> 3 / -1 (an index), anything else -> the name itself.

    >>> [_column_value(text) for text in ("3", "-1", "--1", "²", "text")]
    [3, -1, '--1', '²', 'text']
    """
    # ASCII digits only: str.isdigit() accepts '²', which int() then rejects.
    return int(text) if re.match(r"^-?[0-9]+$", text) else text


def _json_option(text, fail):
    try:
        return json.loads(text)
    except ValueError:
        fail()


# ---- registry ---------------------------------------------------------------------------------

_REGISTRY = {}
_ALIASES = {}
_EXAMPLES = {}


def register_task(spec, aliases=(), overwrite=False, example=None):
    """Adds `spec` to the registry under spec.name (lower case) and optional `aliases`.

    example: an optional few-line file layout shown by describe_task (--list_tasks).

    >>> register_task(TaskSpec(name="my-reviews", format="csv", header=True, text_a="text",
    ...                        label="stars", files={"train": ["reviews.csv"]}))  # doctest: +SKIP
    """
    if not isinstance(spec, TaskSpec):
        raise BertTF1Error("register_task: expected a TaskSpec, found %r" % (spec,))
    name = spec.name.lower()
    if not overwrite and (name in _REGISTRY or name in _ALIASES):
        raise BertTF1Error("task '%s' is already registered" % name)
    _REGISTRY[name] = spec
    if example:
        _EXAMPLES[name] = example.strip("\n")
    for alias in aliases:
        _ALIASES[alias.lower()] = name


def task_names():
    """Sorted names of every registered task (aliases not included)."""
    return sorted(_REGISTRY)


def get_task(name):
    """Returns the registered TaskSpec for `name` (case-insensitive; aliases accepted).

    >>> get_task("CoLA").splits
    ['train', 'dev', 'test']
    """
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise BertTF1Error("unknown task '%s'; known tasks: %s" % (name, ", ".join(task_names())))
    return _REGISTRY[key].replace()


def find_task(name):
    """get_task(name), or None for no name or an unknown one (reported, with the known tasks,
    when the task is loaded): what option parsing needs before that point."""
    if not name:
        return None
    try:
        return get_task(name)
    except BertTF1Error:
        return None


def _columns_text(view):
    """'text_a=3, text_b=4, label=0, header row' for one split's view of a spec."""
    columns = ["%s=%s" % (field, getattr(view, field)) for field in ("text_a", "text_b", "label",
                                                                      "guid")
               if getattr(view, field) is not None]
    if view.format in ("csv", "tsv") or view.header:
        columns.append("header row" if view.header else "no header row")
    return ", ".join(columns)


def _labels_text(spec):
    if spec.is_regression:
        return "regression (a number%s)" % (
            " in [%g, %g]" % tuple(spec.label_range) if spec.label_range else "")
    if spec.labels is None:
        return "inferred: the sorted label values of the train split (or --label_list)"
    return ", ".join(spec.labels)


def describe_task(spec, width=96):
    """A few lines on `spec` for `run_classifier_hub.py --list_tasks` and docs/tasks.md: the
    name (and aliases), the format, the files each split is read from with its columns (a split
    read differently, e.g. an unlabelled GLUE test.tsv, says so), the labels, an example layout
    when one is registered, and the description wrapped to `width` columns.

    >>> print(describe_task(get_task("csv")).splitlines()[0])  # doctest: +SKIP
    csv  [csv]
    """
    aliases = sorted(alias for alias, name in _ALIASES.items() if name == spec.name.lower())
    lines = ["%s%s  [%s]" % (spec.name, " (also %s)" % ", ".join(aliases) if aliases else "",
                             spec.format)]
    default_columns = _columns_text(spec)
    for split in SPLITS:
        candidates = (spec.files or {}).get(split)
        if not candidates:
            continue
        notes = []
        if split in (spec.optional_splits or ()):
            notes.append("optional: carved from train when absent")
        view = spec.for_split(split)
        if _columns_text(view) != default_columns:
            notes.append("columns: " + _columns_text(view))
        if split != "train" and view.label is None:
            notes.append("unlabelled")
        elif split == "test" and isinstance(view.label, str) and view.format != "folder":
            notes.append("may omit the label column: then unlabelled")
        lines.append("    %-5s %s%s" % (split, " or ".join(candidates),
                                         " (%s)" % "; ".join(notes) if notes else ""))
    if default_columns:
        lines.append("    columns: %s" % default_columns)
    lines.append("    labels: %s" % _labels_text(spec))
    example = _EXAMPLES.get(spec.name.lower())
    if example:
        lines.append("    example:")
        lines.extend("      " + line for line in example.splitlines())
    if spec.description:
        lines.extend(textwrap.wrap(spec.description, width=width, initial_indent="    ",
                                   subsequent_indent="    "))
    return "\n".join(lines)


# Generic formats come first in the listing: they are what a user's own data uses.
GENERIC_TASKS = ("csv", "tsv", "jsonl", "folder")


def tasks_help():
    """The text `run_classifier_hub.py --list_tasks` prints: every registered task, the generic
    formats first, each block from describe_task (one source for the flag and docs/tasks.md)."""
    generic = [name for name in GENERIC_TASKS if name in _REGISTRY]
    others = [name for name in task_names() if name not in generic]
    blocks = ["Generic formats (your own data; --task_name=csv|tsv|jsonl|folder):"]
    blocks += [describe_task(get_task(name)) for name in generic]
    blocks.append("Registered datasets:")
    blocks += [describe_task(get_task(name)) for name in others]
    return "\n\n".join(blocks) + "\n"


def tasks_markdown():
    """docs/tasks.md: tasks_help() inside a short page (a test keeps the file equal to this)."""
    return ("# Tasks and their file layouts\n\n"
            "Generated from the task registry (`bert_tf1/data/tasks/`) by "
            "`bert_tf1.data.tasks.tasks_markdown()`; `run_classifier_hub.py --list_tasks` prints "
            "the same text. Do not edit by hand: regenerate with\n\n"
            "    python -c \"from bert_tf1.data import tasks; "
            "print(tasks.tasks_markdown(), end='')\" > docs/tasks.md\n\n"
            "Columns are 0-based indices or header names / JSON keys; every option can be changed "
            "per run with `--text_a_column`, `--text_b_column`, `--label_column`, "
            "`--label_list`, `--header`, `--train_file`/`--dev_file`/`--test_file`, "
            "`--encoding` or `--task_option key=value`.\n\n"
            "```text\n" + tasks_help() + "```\n")
