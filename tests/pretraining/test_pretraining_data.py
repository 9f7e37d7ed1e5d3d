"""create_pretraining_data: Google's output for a seed, masking statistics, errors, the CLI, and the
same bytes for every tokenizer and number of workers."""
import os
import random
import sys

import pytest
import tensorflow as tf
from bert import tokenization
from support import run_python

from bert_tf1.errors import BertTF1Error
from bert_tf1.pretraining import data as pretraining_data

WORDS = ("the movie was good and the actor was great but the plot was bad while every scene "
         "felt long").split()


def write_corpus(path, num_documents=30, seed=0):
    rng = random.Random(seed)
    documents = []
    for _ in range(num_documents):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + " ."
                     for _ in range(rng.randint(2, 6))]
        documents.append("\n".join(sentences))
    with open(path, "w") as handle:
        handle.write("\n\n".join(documents) + "\n")
    return path


def read_records(path):
    return [tf.train.Example.FromString(record)
            for record in tf.compat.v1.io.tf_record_iterator(path)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(str(tmp_path_factory.mktemp("corpus") / "corpus.txt"))


def test_same_seed_same_records_as_googles_script(tiny_bert_dir, corpus, tmp_path):
    vocab = os.path.join(tiny_bert_dir, "vocab.txt")
    ours = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
    stats = pretraining_data.create_pretraining_data(
        corpus, ",".join(ours), vocab, max_seq_length=48, max_predictions_per_seq=7,
        dupe_factor=2, random_seed=7)
    assert stats["num_documents"] == 30 and stats["num_instances"] > 40
    again = str(tmp_path / "again.tfrecord")
    pretraining_data.create_pretraining_data(corpus, again, vocab, max_seq_length=48,
                                             max_predictions_per_seq=7, dupe_factor=2,
                                             random_seed=7)
    other = str(tmp_path / "other.tfrecord")
    pretraining_data.create_pretraining_data(corpus, other, vocab, max_seq_length=48,
                                             max_predictions_per_seq=7, dupe_factor=2,
                                             random_seed=8)
    records = read_records(ours[0]) + read_records(ours[1])
    interleaved = [records[i // 2 + (i % 2) * len(read_records(ours[0]))]
                   for i in range(len(records))]
    assert read_records(again) == interleaved
    assert read_records(other) != interleaved
    # google-research/bert's own script, same flags: the same records in the same files.
    google = [str(tmp_path / "ga.tfrecord"), str(tmp_path / "gb.tfrecord")]
    run_python(["-m", "bert.create_pretraining_data", "--input_file=" + corpus,
                "--output_file=" + ",".join(google), "--vocab_file=" + vocab,
                "--max_seq_length=48", "--max_predictions_per_seq=7", "--dupe_factor=2",
                "--random_seed=7"])
    for mine, theirs in zip(ours, google):
        assert read_records(mine) == read_records(theirs)
    feature = read_records(ours[0])[0].features.feature
    assert sorted(feature) == sorted(["input_ids", "input_mask", "segment_ids",
                                      "masked_lm_positions", "masked_lm_ids",
                                      "masked_lm_weights", "next_sentence_labels"])
    assert len(feature["input_ids"].int64_list.value) == 48
    assert len(feature["masked_lm_positions"].int64_list.value) == 7
    assert not [name for name in os.listdir(str(tmp_path)) if ".tmp-" in name]


def _documents(num_documents, seed):
    rng = random.Random(seed)
    vocab = ["w%d" % i for i in range(50)]
    return [[[rng.choice(vocab) for _ in range(rng.randint(5, 15))]
             for _ in range(rng.randint(2, 8))] for _ in range(num_documents)], vocab


def test_masking_statistics():
    documents, vocab = _documents(200, seed=1)
    vocab_words = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"] + vocab + ["x%d" % i for i in range(950)]
    # No short sequences and a high cap, so every sequence predicts round(15% of its length).
    instances = pretraining_data.create_training_instances(
        documents, vocab_words, max_seq_length=64, dupe_factor=3, short_seq_prob=0.0,
        masked_lm_prob=0.15, max_predictions_per_seq=40, rng=random.Random(3))
    total = sum(len(instance.tokens) for instance in instances)
    masked = sum(len(instance.masked_lm_positions) for instance in instances)
    assert total > 20000
    # Deterministic (seeded documents and rng; no hash-order dependence: the same values in two
    # processes): 49,707 tokens, 7,573 predicted, 0.1524 of the tokens (limit 0.15 +- 0.005).
    assert abs(masked / float(total) - 0.15) < 0.005, masked / float(total)
    as_mask = kept = replaced = 0
    for instance in instances:
        assert instance.masked_lm_positions == sorted(instance.masked_lm_positions)
        for position, label in zip(instance.masked_lm_positions, instance.masked_lm_labels):
            assert label not in ("[CLS]", "[SEP]")
            token = instance.tokens[position]
            if token == "[MASK]":
                as_mask += 1
            elif token == label:
                kept += 1
            else:
                replaced += 1
    # 7,573 predictions: 3 standard deviations of a 10% share are ~0.010, of 80% ~0.014; this
    # seeded run (deterministic, above) gives 0.8087 [MASK], 0.0967 kept, 0.0947 replaced.
    assert abs(as_mask / float(masked) - 0.8) < 0.025
    assert abs(kept / float(masked) - 0.1) < 0.02
    assert abs(replaced / float(masked) - 0.1) < 0.02
    # Next-sentence labels: about half random (this seeded run: 0.594).
    random_share = sum(i.is_random_next for i in instances) / float(len(instances))
    assert 0.35 < random_share < 0.65


def test_prediction_cap_and_whole_word_mask():
    tokens = ["[CLS]"] + ["un", "##believ", "##able", "film"] * 10 + ["[SEP]"]
    rng = random.Random(0)
    for _ in range(50):
        output, positions, labels = pretraining_data.create_masked_lm_predictions(
            tokens, 0.15, 4, ["a", "b"], rng, do_whole_word_mask=True)
        assert 1 <= len(positions) <= 4
        for position in positions:
            # A masked "##" piece comes with the rest of its word.
            if tokens[position].startswith("##"):
                assert position - 1 in positions


def test_empty_corpus(tiny_bert_dir, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n  \n")
    with pytest.raises(BertTF1Error, match="corpus is empty"):
        pretraining_data.create_pretraining_data(
            str(path), str(tmp_path / "out.tfrecord"), os.path.join(tiny_bert_dir, "vocab.txt"))
    assert not os.path.exists(str(tmp_path / "out.tfrecord"))


def test_one_sentence_documents(tiny_bert_dir, tmp_path):
    path = tmp_path / "single.txt"
    path.write_text("the movie was good .\n\nthe plot was bad .\n\nthe actor was great .\n")
    with pytest.raises(BertTF1Error, match="next-sentence prediction is impossible"):
        pretraining_data.create_pretraining_data(
            str(path), str(tmp_path / "out.tfrecord"), os.path.join(tiny_bert_dir, "vocab.txt"))


def test_overlong_line_names_file_and_line(tiny_bert_dir, tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("a short one .\nanother .\n\n" + "word " * 200 + "\n")
    with pytest.raises(BertTF1Error) as error:
        pretraining_data.create_pretraining_data(
            str(path), str(tmp_path / "out.tfrecord"), os.path.join(tiny_bert_dir, "vocab.txt"),
            max_seq_length=16)
    assert "%s:4:" % path in str(error.value) and "one sentence per line" in str(error.value)


def test_input_glob_without_match(tiny_bert_dir, tmp_path):
    with pytest.raises(BertTF1Error, match="no file matches"):
        pretraining_data.create_pretraining_data(
            str(tmp_path / "nothing*.txt"), str(tmp_path / "out.tfrecord"),
            os.path.join(tiny_bert_dir, "vocab.txt"))


MIXED = ["naïve café résumé", "日本語 中文 text", "ΟΔΟΣ final sigma", "private \ue000 use",
         "emoji 😀 and\x00control", "x" * 250]


def write_mixed_corpus(directory, num_files=3, seed=1):
    """Several files of English plus lines tokenizers and bert split differently (Σ, private use)
    or that only the fast path handles (accents, CJK); the last file ends without a blank line."""
    rng = random.Random(seed)
    paths = []
    for index in range(num_files):
        documents = []
        for _ in range(12):
            sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10))) + " ."
                         for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.5:
                sentences.insert(rng.randint(0, len(sentences)), rng.choice(MIXED))
            documents.append("\n".join(sentences))
        path = os.path.join(str(directory), "part-%d.txt" % index)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n\n".join(documents) + ("\n" if index == num_files - 1 else "\n\n"))
        paths.append(path)
    return paths


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_same_bytes_for_every_tokenizer_and_worker_count(tiny_bert_dir, tmp_path, monkeypatch):
    # Small tasks, so two workers share many of them and results come back interleaved.
    monkeypatch.setattr(pretraining_data, "LINES_PER_TASK", 7)
    monkeypatch.setattr(pretraining_data, "INSTANCES_PER_TASK", 5)
    vocab = os.path.join(tiny_bert_dir, "vocab.txt")
    inputs = write_mixed_corpus(tmp_path)
    outputs = {}
    for tokenizer, workers in [("python", 1), ("fast", 1), ("fast", 2), ("python", 2)]:
        names = [str(tmp_path / ("%s-%d-%s.tfrecord" % (tokenizer, workers, part)))
                 for part in "ab"]
        stats = pretraining_data.create_pretraining_data(
            ",".join(inputs), names, vocab, max_seq_length=32, max_predictions_per_seq=5,
            dupe_factor=2, random_seed=3, tokenizer=tokenizer, num_workers=workers)
        assert (stats["tokenizer"], stats["num_workers"]) == (tokenizer, workers)
        assert sorted(stats["seconds"]) == ["instances", "tokenize", "write"]
        outputs[tokenizer, workers] = [read_bytes(name) for name in names]
    assert stats["num_instances"] > 100
    reference = outputs["python", 1]
    for key, produced in outputs.items():
        assert produced == reference, key
    # The same records as serializing create_training_instances' list in one process.
    tokenizer = tokenization.FullTokenizer(vocab)
    instances = pretraining_data.create_training_instances(
        pretraining_data.read_documents(inputs, tokenizer, 32), list(tokenizer.vocab),
        max_seq_length=32, max_predictions_per_seq=5, dupe_factor=2, rng=random.Random(3))
    serial = pretraining_data.serialize_instances(instances, tokenizer, 32, 5)
    names = [str(tmp_path / ("python-1-%s.tfrecord" % part)) for part in "ab"]
    assert [list(tf.compat.v1.io.tf_record_iterator(name)) for name in names] == \
        [serial[0::2], serial[1::2]]


def test_parallel_errors_name_file_and_line(tiny_bert_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(pretraining_data, "LINES_PER_TASK", 2)
    first = tmp_path / "first.txt"
    first.write_text("a short one .\nanother .\n\nthird line .\nfourth .\n")
    second = tmp_path / "second.txt"
    second.write_text("fine .\nalso fine .\n\n" + "word " * 200 + "\n")
    with pytest.raises(BertTF1Error) as error:
        pretraining_data.create_pretraining_data(
            "%s,%s" % (first, second), str(tmp_path / "out.tfrecord"),
            os.path.join(tiny_bert_dir, "vocab.txt"), max_seq_length=16, num_workers=2)
    assert "%s:4:" % second in str(error.value)
    with pytest.raises(BertTF1Error, match="--num_workers -1: must be 0"):
        pretraining_data.create_pretraining_data(
            str(first), str(tmp_path / "out.tfrecord"),
            os.path.join(tiny_bert_dir, "vocab.txt"), num_workers=-1)
    assert pretraining_data.resolve_num_workers(0) == os.cpu_count()


def test_fast_tokenizer_missing_is_a_clear_error(tiny_bert_dir, corpus, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # makes `import tokenizers` fail
    with pytest.raises(BertTF1Error, match="--tokenizer=fast: the HuggingFace `tokenizers`"):
        pretraining_data.create_pretraining_data(
            corpus, str(tmp_path / "out.tfrecord"), os.path.join(tiny_bert_dir, "vocab.txt"),
            tokenizer="fast")
    stats = pretraining_data.create_pretraining_data(
        corpus, str(tmp_path / "out.tfrecord"), os.path.join(tiny_bert_dir, "vocab.txt"),
        dupe_factor=1, tokenizer="auto")
    assert stats["tokenizer"] == "python"


def test_cli_google_flags_and_errors(tiny_bert_dir, corpus, tmp_path):
    vocab = os.path.join(tiny_bert_dir, "vocab.txt")
    out = str(tmp_path / "cli.tfrecord")
    result = run_python(["create_pretraining_data.py", "--input_file=" + corpus,
                         "--output_file=" + out, "--vocab_file=" + vocab,
                         "--do_lower_case=True", "--max_seq_length=32",
                         "--max_predictions_per_seq=5", "--masked_lm_prob=0.15",
                         "--random_seed=12345", "--dupe_factor=1", "--short_seq_prob=0.1",
                         "--do_whole_word_mask=False", "--tokenizer=fast", "--num_workers=2"])
    assert "instances" in result.stdout and "(fast tokenizer, 2 workers)" in result.stdout
    assert len(read_records(out)) > 10
    # Another process, tokenizer and worker count: the same bytes (map keys are sorted).
    here = str(tmp_path / "here.tfrecord")
    pretraining_data.create_pretraining_data(corpus, here, vocab, max_seq_length=32,
                                             max_predictions_per_seq=5, dupe_factor=1,
                                             tokenizer="python", num_workers=1)
    assert read_bytes(out) == read_bytes(here)
    single = tmp_path / "single.txt"
    single.write_text("one .\n\ntwo .\n")
    failed = run_python(["create_pretraining_data.py", "--input_file=" + str(single),
                         "--output_file=" + str(tmp_path / "x.tfrecord"),
                         "--vocab_file=" + vocab], check=False)
    assert failed.returncode == 2
    assert "next-sentence prediction is impossible" in failed.stderr
    assert "Traceback" not in failed.stderr
    # Google's --preserve_unused_tokens (bert.tokenization's flag) is accepted; the fast path
    # cannot honour it, so asking for it is an error and not a silent difference.
    refused = run_python(["create_pretraining_data.py", "--input_file=" + corpus,
                          "--output_file=" + str(tmp_path / "y.tfrecord"), "--vocab_file=" + vocab,
                          "--preserve_unused_tokens=true", "--tokenizer=fast"], check=False)
    assert refused.returncode == 2
    assert "--tokenizer=fast cannot give bert's tokens: --preserve_unused_tokens" in \
        refused.stderr
    assert "Traceback" not in refused.stderr


def test_each_input_file_starts_a_new_document_unlike_googles(tiny_bert_dir, tmp_path):
    """Pins the one intended difference from Google's script: its reader concatenates the input
    files, so a file that does not end with a blank line continues its last document into the
    next file's first one; ours starts a new document at every file."""
    vocab = os.path.join(tiny_bert_dir, "vocab.txt")
    first = tmp_path / "first.txt"  # two documents, no blank line after the last sentence
    first.write_text("the movie was good .\nthe actor was great .\n\n"
                     "the plot was bad .\nevery scene felt long .\nthe end was sad .\n")
    second = tmp_path / "second.txt"
    second.write_text("we went home .\nthe night was long .\nthe show was fun .\n\n"
                      "my friend said so .\nit was a good film .\n")
    joined = tmp_path / "joined.txt"  # what Google's reader sees: one stream of lines
    joined.write_text(first.read_text() + second.read_text())
    ended = tmp_path / "first_ended.txt"  # the first file ending with a blank line
    ended.write_text(first.read_text() + "\n")
    tokenizer = tokenization.FullTokenizer(vocab)
    documents = pretraining_data.read_documents([str(first), str(second)], tokenizer)
    assert [len(document) for document in documents] == [2, 3, 3, 2]
    assert [len(document) for document in pretraining_data.read_documents(
        [str(joined)], tokenizer)] == [2, 6, 2]

    flags = dict(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=2, random_seed=5)

    def ours(inputs, name):
        path = str(tmp_path / name)
        stats = pretraining_data.create_pretraining_data(",".join(map(str, inputs)), path, vocab,
                                                         **flags)
        return stats["num_documents"], read_records(path)

    def googles(inputs, name):
        path = str(tmp_path / name)
        run_python(["-m", "bert.create_pretraining_data",
                    "--input_file=" + ",".join(map(str, inputs)), "--output_file=" + path,
                    "--vocab_file=" + vocab] + ["--%s=%s" % item for item in sorted(flags.items())])
        return read_records(path)

    separate_count, separate = ours([first, second], "ours.tfrecord")
    joined_count, joined_records = ours([joined], "ours_joined.tfrecord")
    assert (separate_count, joined_count) == (4, 3)
    # Google's script on the two files = ours on their concatenation (its first file's last
    # document swallowed the second file's first), and != ours on the two files.
    google_two = googles([first, second], "google.tfrecord")
    assert google_two == joined_records
    assert google_two != separate
    # With a blank line at the end of the first file both agree, and ours did not change.
    assert googles([ended, second], "google_ended.tfrecord") == separate
    assert ours([ended, second], "ours_ended.tfrecord")[1] == separate
    # A first file without even a final newline: still a document break (Google's: joined).
    unterminated = tmp_path / "first_unterminated.txt"
    unterminated.write_text(first.read_text().rstrip("\n"))
    assert ours([unterminated, second], "ours_unterminated.tfrecord") == (4, separate)
