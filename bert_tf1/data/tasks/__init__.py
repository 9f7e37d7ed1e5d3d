"""Task registry: TaskSpec, register_task / get_task / find_task, option parsing.

The registry lives in registry.py; the built-in tasks are registered by glue.py (GLUE, XNLI and
Google's run_classifier tasks) and corpora.py (IMDB, SpamAssassin, civil comments, and the
generic csv/tsv/jsonl/folder formats), imported here so that `from bert_tf1.data import tasks`
always sees every built-in task. Both import registry.py only, never this package: no cycle.
"""
from bert_tf1.data.tasks import corpora, glue  # noqa: F401,E402 (registers the built-ins)
from bert_tf1.data.tasks.registry import (  # noqa: F401 (the package's public names)
    FIELDS,
    FILE_OPTIONS,
    FORMATS,
    OPTION_FIELDS,
    OPTION_TYPES,
    REGRESSION,
    SPLITS,
    TaskSpec,
    accepted_options,
    describe_task,
    find_task,
    get_task,
    option_type,
    parse_option,
    parse_option_pairs,
    register_task,
    task_names,
    tasks_help,
    tasks_markdown,
)
