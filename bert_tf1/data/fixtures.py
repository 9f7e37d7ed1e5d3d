"""Tiny synthetic datasets in each registered task's on-disk layout.

For tests and smoke runs (no dataset can be downloaded on CI): `write_fixture("cola", tmp)`
writes CoLA-shaped train.tsv/dev.tsv/test.tsv and returns the data_dir to pass to
load_examples. Every registered task must have a writer here (a common test checks it).
Texts carry a label word ("good"/"bad", ...) so a model can learn them in a smoke run.
"""
import email.mime.multipart
import email.mime.text
import io
import json
import os
import tarfile

from bert_tf1.data.tasks import get_task
from bert_tf1.errors import BertTF1Error

_WORDS = ["the film", "a story", "this plot", "the cast", "our trip", "the meal", "that song",
          "my order"]


def sentence(index, label, second=False):
    """A short synthetic sentence whose last word depends on `label`."""
    subject = _WORDS[(index * 3 + (5 if second else 0)) % len(_WORDS)]
    verb = "felt" if second else "was"
    return "%s %d %s %s" % (subject.capitalize(), index, verb, _label_word(label))


def _label_word(label):
    words = {"0": "bad", "1": "good", "contradiction": "false", "entailment": "true",
             "neutral": "unclear", "not_entailment": "unrelated", "ham": "meeting",
             "spam": "prize", "civil": "thanks", "uncivil": "idiotic", "negative": "bad",
             "positive": "good"}
    return words.get(str(label), "fine")


def _cycle(labels, per_label):
    return [labels[i % len(labels)] for i in range(per_label * len(labels))]


def _write(path, text, binary=False):
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    with open(path, "wb") as handle:
        handle.write(text if binary else text.encode("utf-8"))


def _table(path, header, rows, delimiter="\t"):
    lines = ([delimiter.join(header)] if header else []) + [delimiter.join(map(str, row))
                                                            for row in rows]
    _write(path, "\n".join(lines) + "\n")


def _glue_pair(directory, per_label, labels, layout, test_layout, files=None):
    """Writes GLUE-style pair TSVs; layouts are (header, row_fn(index, label, a, b))."""
    files = files or {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    for split, name in sorted(files.items()):
        header, row = test_layout if split.startswith("test") else layout
        rows = [row(i, label, sentence(i, label), sentence(i, label, True))
                for i, label in enumerate(_cycle(labels, per_label))]
        _table(os.path.join(directory, name), header, rows)


def _cola(d, n):
    for split in ("train", "dev"):
        _table(os.path.join(d, split + ".tsv"), None,
               [["gj04", label, "" if label == "1" else "*", sentence(i, label)]
                for i, label in enumerate(_cycle(["0", "1"], n))])
    _table(os.path.join(d, "test.tsv"), ["index", "sentence"],
           [[i, sentence(i, "x")] for i in range(2 * n)])


def _mrpc(d, n):
    names = ["#1 ID", "#2 ID", "#1 String", "#2 String"]
    _glue_pair(d, n, ["0", "1"],
               (["Quality"] + names, lambda i, label, a, b: [label, i, i + 1, a, b]),
               (["index"] + names, lambda i, label, a, b: [i, i, i + 1, a, b]))


_MNLI_HEAD = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
              "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
              "sentence2"]


def _mnli(d, n):
    def row(extra):
        return lambda i, label, a, b: [i, i, "%dn" % i, "fiction", "( %s )" % a, "( %s )" % b,
                                       "(ROOT)", "(ROOT)", a, b] + [label] * extra

    files = {"train": "train.tsv", "dev": "dev_matched.tsv", "dev_mm": "dev_mismatched.tsv",
             "test": "test_matched.tsv", "test_mm": "test_mismatched.tsv"}
    for split, name in files.items():
        if split == "train":
            layout = (_MNLI_HEAD + ["label1", "gold_label"], row(2))
        else:  # dev files carry five annotator labels before gold_label
            layout = (_MNLI_HEAD + ["label%d" % k for k in range(1, 6)] + ["gold_label"], row(6))
        _glue_pair(d, n, get_task("mnli").labels, layout, (_MNLI_HEAD, row(0)),
                   files={split: name})


def _xnli(d, n):
    labels = get_task("xnli").labels
    _table(os.path.join(d, "XNLI-MT-1.0", "multinli", "multinli.train.en.tsv"),
           ["premise", "hypo", "label"],
           [[sentence(i, label), sentence(i, label, True),
             "contradictory" if label == "contradiction" else label]
            for i, label in enumerate(_cycle(labels, n))])
    header = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse",
              "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "promptID",
              "pairID", "genre", "label1", "label2", "label3", "label4", "label5",
              "sentence1_tokenized", "sentence2_tokenized", "match"]
    for split in ("dev", "test"):
        rows = []
        for i, label in enumerate(_cycle(labels, n)):
            for language in ("de", "en"):  # other languages must be filtered out
                a, b = sentence(i, label), sentence(i, label, True)
                if language == "de":
                    a, b = "Der Satz %d" % i, "Ein Satz %d" % i
                rows.append([language, label, "-", "-", "-", "-", a, b, i, i, "slate"]
                            + [label] * 5 + [a, b, "True"])
        _table(os.path.join(d, "XNLI-1.0", "xnli.%s.tsv" % split), header, rows)


def _sst2(d, n):
    _glue_pair(d, n, ["0", "1"], (["sentence", "label"], lambda i, label, a, b: [a, label]),
               (["index", "sentence"], lambda i, label, a, b: [i, a]))


def _qqp(d, n):
    _glue_pair(d, n, ["0", "1"],
               (["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
                lambda i, label, a, b: [i, 2 * i, 2 * i + 1, a + "?", b + "?", label]),
               (["id", "question1", "question2"], lambda i, label, a, b: [i, a + "?", b + "?"]))


def _entailment(d, n, first, second):
    _glue_pair(d, n, ["entailment", "not_entailment"],
               (["index", first, second, "label"], lambda i, label, a, b: [i, a, b, label]),
               (["index", first, second], lambda i, label, a, b: [i, a, b]))


def _stsb(d, n):
    head = ["index", "genre", "filename", "year", "old_index", "source1", "source2",
            "sentence1", "sentence2"]
    scores = ["0.000", "1.500", "3.200", "5.000"]
    _glue_pair(d, n, scores, (head + ["score"], lambda i, label, a, b: [
        i, "main-captions", "MSRvid", "2012test", i, "none", "none", a, b, label]),
        (head, lambda i, label, a, b: [i, "main-news", "headlines", "2015", i, "none", "none",
                                       a, b]))


def _review_files(n):
    """{(split, folder, file name): text} in the aclImdb layout."""
    files = {}
    for split in ("train", "test"):
        for i, label in enumerate(_cycle(["0", "1"], n)):
            folder = "pos" if label == "1" else "neg"
            text = sentence(i, label) + ".<br /><br />Rated %d." % (8 if label == "1" else 2)
            files[(split, folder, "%d_%d.txt" % (i, 8 if label == "1" else 2))] = text
    files[("train", "unsup", "0_0.txt")] = "Unlabelled review, ignored."
    return files


def _imdb(d, n, variant="folder"):
    files = _review_files(n)
    if variant == "folder":
        for (split, folder, name), text in files.items():
            _write(os.path.join(d, "aclImdb", split, folder, name), text)
        _write(os.path.join(d, "aclImdb", "train", "urls_pos.txt"), "http://example.com\n")
    elif variant == "tar":
        _write_tar(os.path.join(d, "aclImdb_v1.tar.gz"), {
            "aclImdb/%s/%s/%s" % key: text for key, text in files.items()})
    elif variant == "csv":
        for split in ("train", "test"):
            rows = ['"%s",%s,imdb' % (text.replace('"', '""'), "1" if folder == "pos" else "0")
                    for (s, folder, _), text in sorted(files.items())
                    if s == split and folder != "unsup"]
            rows.append('"A short rotten tomatoes line, ""quoted"".",1,rotten_tomatoes')
            _write(os.path.join(d, split + ".csv"), "text,label,source\n" + "\n".join(rows) + "\n")
    else:
        raise BertTF1Error("imdb fixture variant must be folder, tar or csv, found %r" % variant)


def _write_tar(path, members):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def raw_email(body, subject="Hello", multipart=False, charset="utf-8"):
    """Bytes of an RFC 822 message with routing headers; multipart adds an HTML alternative."""
    if multipart:
        message = email.mime.multipart.MIMEMultipart("alternative")
        message.attach(email.mime.text.MIMEText(body, "plain", charset))
        message.attach(email.mime.text.MIMEText("<p>%s</p>" % body, "html", charset))
    else:
        message = email.mime.text.MIMEText(body, "plain", charset)
    message["From"] = "sender@example.com"
    message["To"] = "you@example.org"
    message["Subject"] = subject
    return (b"From sender@example.com  Thu Aug 22 13:17:22 2002\n"
            b"Received: from mail.example.com by mx.example.org\n" + message.as_bytes())


_LAYOUTS = ("split", "flat")


def _split_dirs(d, layout):
    """[(split, folder)]: train/, dev/, test/ under d, or d itself as the only (train) split.

    "flat" is how SpamAssassin / Enron downloads and the civil-email notebook's data look: the
    class folders directly in data_dir, no dev or test split (a run carves dev from train).
    """
    if layout == "split":
        return [(split, os.path.join(d, split)) for split in ("train", "dev", "test")]
    if layout == "flat":
        return [("train", d)]
    raise BertTF1Error("fixture layout must be one of %s, found %r" % (", ".join(_LAYOUTS),
                                                                      layout))


def _spam(d, n, layout="split"):
    folders = {"ham": ["easy_ham", "hard_ham"], "spam": ["spam", "spam_2"]}
    for split, root in _split_dirs(d, layout):
        for i, label in enumerate(_cycle(["ham", "spam"], n)):
            folder = os.path.join(root, folders[label][i // 2 % 2])
            # utf-8 parts go out base64-encoded, latin-1 ones quoted-printable.
            accent, charset = {0: (" Costs 10\u20ac.", "utf-8"),
                               2: (" Caf\u00e9.", "latin-1")}.get(i % 4, ("", "utf-8"))
            raw = raw_email(sentence(i, label) + accent, multipart=i % 3 == 0, charset=charset)
            _write(os.path.join(folder, "%05d.%x" % (i, 7919 * i)), raw, binary=True)
        _write(os.path.join(root, "spam", "cmds"), "mv 00001.abc 00001\n")


def _quora(d, n):
    rows = [[str(1000 + i), sentence(i, label) + "?", label]
            for i, label in enumerate(_cycle(["0", "1"], n))]
    _table(os.path.join(d, "train.csv"), ["qid", "question_text", "target"], rows, ",")
    _table(os.path.join(d, "test.csv"), ["qid", "question_text"],
           [row[:2] for row in rows], ",")


def _civil(d, n, layout="split"):
    for split, root in _split_dirs(d, layout):
        for i, label in enumerate(_cycle(["civil", "uncivil"], n)):
            text = sentence(i, label)
            if i % 2:
                _write(os.path.join(root, label, "%d.eml" % i), raw_email(text), binary=True)
            else:
                _write(os.path.join(root, label, "%d.txt" % i), text + "\n")


def _generic(d, n, kind, layout="split"):
    """csv/tsv/jsonl files or class folders; layout "flat": train only (no dev, no test file;
    folders: the class folders directly in d)."""
    labels = ["negative", "positive"]
    splits = ("train", "dev", "test") if layout == "split" else ("train",)
    _split_dirs(d, layout)  # checks the layout name
    for split in splits:
        items = [(sentence(i, label), label) for i, label in enumerate(_cycle(labels, n))]
        if kind == "csv":
            _table(os.path.join(d, split + ".csv"), ["text", "label"],
                   [['"%s, indeed"' % text, label] for text, label in items], ",")
        elif kind == "tsv":
            _table(os.path.join(d, split + ".tsv"), ["text", "label"], items)
        elif kind == "jsonl":
            _write(os.path.join(d, split + ".jsonl"), "".join(
                json.dumps({"text": text, "label": label}) + "\n" for text, label in items))
        else:
            root = d if layout == "flat" else os.path.join(d, split)
            for i, (text, label) in enumerate(items):
                _write(os.path.join(root, label, "%03d.txt" % i), text)


_WRITERS = {
    "cola": _cola, "mrpc": _mrpc, "mnli": _mnli, "mnli-mm": _mnli, "xnli": _xnli,
    "sst2": _sst2, "qqp": _qqp, "sts-b": _stsb,
    "qnli": lambda d, n: _entailment(d, n, "question", "sentence"),
    "rte": lambda d, n: _entailment(d, n, "sentence1", "sentence2"),
    "imdb": _imdb, "spam": _spam, "quora": _quora, "civil": _civil,
    "csv": lambda d, n, **v: _generic(d, n, "csv", **v),
    "tsv": lambda d, n, **v: _generic(d, n, "tsv", **v),
    "jsonl": lambda d, n, **v: _generic(d, n, "jsonl", **v),
    "folder": lambda d, n, **v: _generic(d, n, "folder", **v),
}


def fixture_names():
    """Task names that have a fixture writer."""
    return sorted(_WRITERS)


def write_fixture(task_name, directory, per_label=4, **variant):
    """Writes a tiny dataset for `task_name` under `directory` and returns its data_dir.

    Args:
      task_name: a registered task name.
      directory: an existing or new folder.
      per_label: examples per label in each split (test splits get as many rows).
      **variant: imdb: variant="folder" (aclImdb tree, default), "tar" or "csv".
        spam, civil, folder, csv, tsv, jsonl: layout="split" (train, dev and test; default) or
        "flat" (the train split alone: class folders directly in data_dir, or train.csv only),
        the layout for which a run carves dev from train.
    """
    name = get_task(task_name).name
    if name not in _WRITERS:
        raise BertTF1Error("no fixture for task '%s'; add a writer in bert_tf1/data/fixtures.py"
                           % name)
    directory = str(directory)
    _WRITERS[name](directory, per_label, **variant)
    return directory
