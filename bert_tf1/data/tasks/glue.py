"""GLUE and XNLI tasks, with google-research/bert's column choices.

Files are the GLUE distribution's TSVs (download_glue_data.py layout, one folder per task given
as data_dir), read with csv.QUOTE_NONE like bert's `_read_tsv`. Column indices are 0-based.
GLUE test splits are unlabelled: their examples have label None and guid "test-<index>".
"""
from bert_tf1.data.tasks.registry import REGRESSION, TaskSpec, register_task

NLI_LABELS = ["contradiction", "entailment", "neutral"]
_GLUE_FILES = {"train": ["train.tsv"], "dev": ["dev.tsv"], "test": ["test.tsv"]}


def _glue(name, description, aliases=(), **fields):
    values = dict(format="tsv", quoting="none", header=True, files=_GLUE_FILES)
    values.update(fields)
    register_task(TaskSpec(name=name, description=description, **values), aliases=aliases,
                  overwrite=True)


_glue("cola", "GLUE CoLA (acceptability, labels 0/1). train.tsv, dev.tsv: no header; columns "
      "source, label, original mark, sentence. test.tsv: header index, sentence.",
      header=False, text_a=3, label=1, labels=["0", "1"],
      split_options={"test": {"header": True, "text_a": 1, "label": None, "guid": 0}})

_glue("mrpc", "GLUE MRPC (paraphrase, labels 0/1). train.tsv, dev.tsv, test.tsv with header "
      "Quality (test: index), #1 ID, #2 ID, #1 String, #2 String.",
      text_a=3, text_b=4, label=0, labels=["0", "1"],
      split_options={"test": {"label": None, "guid": 0}})

_MNLI = dict(text_a=8, text_b=9, label=-1, guid=0, labels=NLI_LABELS)
_glue("mnli", "GLUE MultiNLI, matched. train.tsv, dev_matched.tsv, test_matched.tsv with header; "
      "sentence1 column 8, sentence2 column 9, gold_label last (test: unlabelled).",
      files={"train": ["train.tsv"], "dev": ["dev_matched.tsv"], "test": ["test_matched.tsv"]},
      split_options={"test": {"label": None}}, **_MNLI)

_glue("mnli-mm", "GLUE MultiNLI, mismatched. train.tsv, dev_mismatched.tsv, test_mismatched.tsv "
      "(same columns as mnli).", aliases=("mnli_mismatched",),
      files={"train": ["train.tsv"], "dev": ["dev_mismatched.tsv"],
             "test": ["test_mismatched.tsv"]},
      split_options={"test": {"label": None}}, **_MNLI)

_glue("xnli", "XNLI as bert's XnliProcessor reads it, one language (option language, default "
      "'en'). train: XNLI-MT-1.0/multinli/multinli.train.<language>.tsv (premise, hypo, label; "
      "'contradictory' read as contradiction). dev/test: XNLI-1.0/xnli.dev.tsv and "
      "xnli.test.tsv, rows of that language (column 0), gold_label column 1, sentences 6 and 7.",
      params={"language": "en"},
      files={"train": ["XNLI-MT-1.0/multinli/multinli.train.{language}.tsv",
                       "multinli.train.{language}.tsv"],
             "dev": ["XNLI-1.0/xnli.dev.tsv", "xnli.dev.tsv"],
             "test": ["XNLI-1.0/xnli.test.tsv", "xnli.test.tsv"]},
      text_a=6, text_b=7, label=1, labels=NLI_LABELS, filters=[[0, ["{language}"]]],
      label_map={"contradictory": "contradiction"},
      split_options={"train": {"text_a": 0, "text_b": 1, "label": 2, "filters": None}})

_glue("sst2", "GLUE SST-2 (sentiment, labels 0/1). train.tsv, dev.tsv: header sentence, label. "
      "test.tsv: header index, sentence.", aliases=("sst-2",),
      text_a=0, label=1, labels=["0", "1"],
      split_options={"test": {"text_a": 1, "label": None, "guid": 0}})

_glue("qqp", "GLUE QQP (duplicate questions, labels 0/1). train.tsv, dev.tsv: header id, qid1, "
      "qid2, question1, question2, is_duplicate. test.tsv: id, question1, question2.",
      text_a=3, text_b=4, label=5, guid=0, labels=["0", "1"],
      split_options={"test": {"text_a": 1, "text_b": 2, "label": None}})

_PAIR_ENTAILMENT = dict(text_a=1, text_b=2, label=3, guid=0,
                        labels=["entailment", "not_entailment"],
                        split_options={"test": {"label": None}})
_glue("qnli", "GLUE QNLI. train.tsv, dev.tsv: header index, question, sentence, label "
      "(entailment/not_entailment). test.tsv: no label column.", **_PAIR_ENTAILMENT)

_glue("rte", "GLUE RTE. train.tsv, dev.tsv: header index, sentence1, sentence2, label "
      "(entailment/not_entailment). test.tsv: no label column.", **_PAIR_ENTAILMENT)

_glue("sts-b", "GLUE STS-B (similarity regression, score in [0, 5]). train.tsv, dev.tsv: header "
      "with sentence1 column 7, sentence2 column 8, score column 9. test.tsv: no score.",
      aliases=("stsb", "sts_b"), text_a=7, text_b=8, label=9, guid=0, labels=REGRESSION,
      label_range=[0.0, 5.0], split_options={"test": {"label": None}})
