"""Data layer: examples, readers and the task registry (no TensorFlow imports here).

    >>> from bert_tf1.data import load_examples, stratified_split
    >>> train = load_examples("imdb", "aclImdb_v1.tar.gz", "train")   # doctest: +SKIP
    >>> train, dev = stratified_split(train, dev_size=2500, seed=0)    # doctest: +SKIP

Modules: examples (InputExample), tasks/ (TaskSpec, the registry, the built-in tasks in glue and
corpora), loading (load_examples), readers and email_text (file formats), fileio (local and gs:// / s3://
paths), sampling (subsets, dev splits), fixtures (tiny datasets for tests).
"""
from bert_tf1.data.examples import InputExample, PaddingInputExample  # noqa: F401
from bert_tf1.data.fileio import open_text  # noqa: F401
from bert_tf1.data.loading import (  # noqa: F401
    has_split,
    load_examples,
    resolve_task,
    split_source,
)
from bert_tf1.data.sampling import sample_examples, stratified_split  # noqa: F401
from bert_tf1.data.tasks import TaskSpec, get_task, register_task, task_names  # noqa: F401
