"""Pre-training data: masked-LM + next-sentence instances written as TFRecords.

Same algorithm, input format, defaults and output features as google-research/bert's
create_pretraining_data.py (written here because importing that module defines absl flags):
  * input: plain text, one sentence per line, a blank line between documents; each input file
    also starts a new document (see "Input files" below: the one place where we differ);
  * each document is cut into chunks of about max_seq_length tokens (shorter ones with
    probability short_seq_prob); each chunk is split into A and B, where B is the real
    continuation or, half the time, text from a random other document (next_sentence_labels
    0 = "is next", 1 = "random");
  * masked_lm_prob of the WordPieces (at most max_predictions_per_seq) are predicted: 80% become
    [MASK], 10% stay, 10% become a random vocabulary token;
  * the corpus is processed dupe_factor times with different masks.
Features: input_ids, input_mask, segment_ids (int64 [max_seq_length]), masked_lm_positions,
masked_lm_ids (int64 [max_predictions_per_seq]), masked_lm_weights (float
[max_predictions_per_seq]), next_sentence_labels (int64 [1]).

Additions: clear errors (empty corpus, NSP impossible, over-long lines with file:line), tqdm
progress bars, atomic output files (written to a temporary name, then renamed; local, gs://, s3://),
and two speed-ups that leave the output unchanged:
  * tokenizer="auto" tokenizes with HuggingFace tokenizers where its WordPieces are bert's
    (bert_tf1.modeling.tokenization; other lines go to bert's FullTokenizer);
  * num_workers > 1 forks worker processes for the two stages that draw no random numbers:
    tokenizing lines (in chunks, in input order) and serializing instances to tf.train.Example
    bytes. Everything that consumes the rng -- the document shuffle, chunking, A/B split, random
    next sentences, masking, the final shuffle -- stays in the parent, in Google's order, so the
    TFRecords are byte-for-byte the same for every num_workers and tokenizer. Serialization
    overlaps instance creation: batches go to the workers as they are made, and the final
    shuffle is applied to the serialized records (shuffle's swaps depend only on the list
    length, so they land in the order Google's shuffle of the instances gives).
    On a few-MB corpus with dupe_factor=10 the serial instance creation is the largest stage
    (half of it is the rng itself: random.shuffle of the mask candidates), so the speed-up is
    bounded by it; see benchmarks/pretraining_data_speed.py.
Input files: the records are the same as Google's script writes for the same flags when there
is one input file, or when every input file but the last ends with a blank line, and the files
come in the same order. Two differences, both on purpose:
  * Google's reader concatenates the files' lines, so a file whose last line is a sentence (no
    blank line after it) continues its last document with the next file's first one: two
    unrelated texts become one document, and next-sentence pairs cross between them. Here a new
    file always starts a new document (read_documents).
  * Google's script takes a glob's matches in the order the file system lists them (tf.gfile.Glob
    does not sort: it differs between file systems and copies of the same data); here each
    pattern's matches are sorted (expand_input_files). Comma-separated names keep their order.
Records are serialized with sorted map keys (protobuf's deterministic serialization): the C++
protobuf's map order changes from process to process, which made two runs of Google's script
(and of this module before) write the same Examples in different bytes.

Workers are forked (spawned where fork does not exist) after TensorFlow was imported: safe here
because a worker only runs Python, protobuf and tokenizers code, never a TF op. A forked child
holds only the forking thread, so TF's thread pools and locks could only hang a child that
called into TF.

    >>> stats = create_pretraining_data("corpus.txt", "out.tfrecord", "vocab.txt")  # doctest: +SKIP
"""
import collections
import contextlib
import random
import time

import tensorflow as tf
from absl import flags
from bert import tokenization
from tensorflow.core.example import example_pb2
from tqdm import tqdm

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error, located
from bert_tf1.modeling import bert_dir
from bert_tf1.modeling import tokenization as fast_tokenization
from bert_tf1.runtime import atomic_io
from bert_tf1.runtime import workers as workers_lib
from bert_tf1.runtime.workers import resolve_num_workers  # noqa: F401 (re-exported)

# A line this many times longer than max_seq_length (in WordPieces) is almost surely not one
# sentence (a whole document on one line, binary junk): fail instead of silently truncating it.
MAX_LINE_LENGTH_FACTOR = 10

# Work per task sent to a worker: large enough that pickling and scheduling cost little, small
# enough to balance two or more workers on a few-MB corpus. Any value gives the same output.
LINES_PER_TASK = 1000
INSTANCES_PER_TASK = 500

MaskedLmInstance = collections.namedtuple("MaskedLmInstance", ["index", "label"])


class TrainingInstance(object):
    """One pre-training example: tokens with masks and the next-sentence label."""

    def __init__(self, tokens, segment_ids, masked_lm_positions, masked_lm_labels,
                 is_random_next):
        self.tokens = tokens
        self.segment_ids = segment_ids
        self.is_random_next = is_random_next
        self.masked_lm_positions = masked_lm_positions
        self.masked_lm_labels = masked_lm_labels

    def __repr__(self):
        return "TrainingInstance(tokens=%s, is_random_next=%s, masked_lm_positions=%s)" % (
            " ".join(self.tokens), self.is_random_next, self.masked_lm_positions)


def expand_input_files(input_file):
    """Files named by --input_file: a comma-separated list of paths or glob patterns.

    Patterns keep their order; each pattern's matches are sorted, because tf.io.gfile.glob
    returns them in the file system's listing order (Google's script uses that order as is, so
    its output for a multi-file glob depends on the file system).

    Raises BertTF1Error when a pattern matches nothing.
    """

    patterns = [p.strip() for p in input_file.split(",") if p.strip()] \
        if isinstance(input_file, str) else list(input_file)
    if not patterns:
        raise BertTF1Error("--input_file: no file given")
    files = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise BertTF1Error("--input_file %s: no file matches" % pattern)
        files.extend(matched)
    return files


def read_corpus(input_files):
    """Each file's lines: a list of (path, list of str), decoded as strict UTF-8.

    Raises:
      BertTF1Error: invalid UTF-8, naming file:line.
    """

    corpus = []
    for input_file in input_files:
        with tf.io.gfile.GFile(input_file, "rb") as handle:
            data = handle.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BertTF1Error(located(input_file, "invalid UTF-8 (%s)" % error.reason,
                                       line=data[:error.start].count(b"\n") + 1))
        corpus.append((input_file, text.split("\n")))
    return corpus


def line_tasks(corpus, lines_per_task=None):
    """The corpus cut into tasks (file index, first line number, lines), in input order.

    Lines are tokenized one by one, so where the cuts fall does not change any token.
    """
    lines_per_task = lines_per_task or LINES_PER_TASK
    return [(file_index, start + 1, lines[start:start + lines_per_task])
            for file_index, (_, lines) in enumerate(corpus)
            for start in range(0, len(lines), lines_per_task)]


def tokenize_lines(tokenizer, lines):
    """WordPieces of each line: None for a blank line (a document break), else a list."""

    tokenized = []
    for line in lines:
        line = tokenization.convert_to_unicode(line).strip()
        tokenized.append(tokenizer.tokenize(line) if line else None)
    return tokenized


def read_documents(input_files, tokenizer, max_seq_length=128, show_progress=False, pool=None):
    """Tokenizes the corpus: a list of documents, each a list of sentences (lists of WordPieces).

    A blank line ends a document, and so does the end of each file. Google's
    create_training_instances reads the files as one stream of lines instead: there, a file not
    ending in a blank line continues its last document into the next file's first document. On
    one file, or files that each end with a blank line, both give the same documents.

    Args:
      input_files: list of paths (local, gs://, s3://), UTF-8, one sentence per line, a blank
        line between documents.
      tokenizer: bert.tokenization.FullTokenizer or fast_tokenization.FastFullTokenizer.
      max_seq_length: a line longer than MAX_LINE_LENGTH_FACTOR times this (in WordPieces)
        raises BertTF1Error naming file:line.
      pool: a worker_pool() to tokenize chunks of lines in parallel, or None (this process).

    Returns:
      list of documents (empty documents dropped).
    """
    max_line_tokens = MAX_LINE_LENGTH_FACTOR * max_seq_length
    corpus = read_corpus(input_files)
    tasks = line_tasks(corpus)
    if pool is None:
        results = (tokenize_lines(tokenizer, lines) for _, _, lines in tasks)
    else:
        results = pool.imap(_worker_tokenize_lines, [lines for _, _, lines in tasks])
    progress = None
    if show_progress:

        progress = tqdm(total=sum(len(lines) for _, lines in corpus), desc="tokenize",
                        unit="line")
    documents = [[]]
    try:
        for (file_index, first_line, lines), tokenized in zip(tasks, results):
            if first_line == 1:
                # A new file starts a new document. Google's reader does not (it appends the
                # lines of all files to one list), which glues the last document of a file
                # without a final blank line to the first of the next file. (split("\n") of a
                # file ending in a newline already gives a last empty line, which ends the
                # document too; this break covers a file without a final newline.)
                documents.append([])
            for number, tokens in enumerate(tokenized, first_line):
                if tokens is None:
                    documents.append([])
                    continue
                if len(tokens) > max_line_tokens:
                    raise BertTF1Error(located(
                        corpus[file_index][0], "line has %d WordPieces, more than %d x "
                        "max_seq_length (%d): the input must hold one sentence per line, with "
                        "a blank line between documents" % (
                            len(tokens), MAX_LINE_LENGTH_FACTOR, max_line_tokens), line=number))
                if tokens:
                    documents[-1].append(tokens)
            if progress is not None:
                progress.update(len(lines))
    finally:
        if progress is not None:
            progress.close()
    return [document for document in documents if document]


def check_documents(documents, input_files):
    """Raises BertTF1Error when the corpus cannot give MLM + NSP training data."""
    where = ", ".join(input_files[:3]) + (" ..." if len(input_files) > 3 else "")
    if not documents:
        raise BertTF1Error("%s: the corpus is empty (expected one sentence per line, a blank "
                           "line between documents)" % where)
    if not any(len(document) >= 2 for document in documents):
        raise BertTF1Error(
            "%s: every document has a single sentence (%d documents), so next-sentence "
            "prediction is impossible: put each sentence on its own line and separate documents "
            "by a blank line" % (where, len(documents)))
    if len(documents) < 2:

        # Google's code accepts this too; its "random" next sentences then come from the same
        # document, which makes next-sentence prediction noisy.
        tf.compat.v1.logging.warning(
            "%s: only one document; random next sentences will come from the same document "
            "(separate documents by a blank line)", where)


def generate_instances(documents, vocab_words, max_seq_length=128, dupe_factor=10,
                       short_seq_prob=0.1, masked_lm_prob=0.15, max_predictions_per_seq=20,
                       rng=None, do_whole_word_mask=False, show_progress=False):
    """Google's instance generation, before its final shuffle: yields TrainingInstances.

    Shuffles the documents with `rng`, then makes dupe_factor passes over them; the rng is
    consumed exactly as Google's create_training_instances consumes it up to its final
    rng.shuffle(instances).
    """
    rng = rng or random.Random(12345)
    documents = [document for document in documents if document]
    rng.shuffle(documents)
    steps = range(dupe_factor)
    if show_progress:

        steps = tqdm(steps, desc="instances", unit="pass")
    for _ in steps:
        for document_index in range(len(documents)):
            for instance in create_instances_from_document(
                    documents, document_index, max_seq_length, short_seq_prob, masked_lm_prob,
                    max_predictions_per_seq, vocab_words, rng, do_whole_word_mask):
                yield instance


def create_training_instances(documents, vocab_words, max_seq_length=128, dupe_factor=10,
                              short_seq_prob=0.1, masked_lm_prob=0.15,
                              max_predictions_per_seq=20, rng=None, do_whole_word_mask=False,
                              show_progress=False):
    """Google's instance generation over tokenized `documents` (see read_documents).

    Args:
      documents: list of documents, each a list of sentences, each a list of WordPieces.
      vocab_words: list of vocabulary tokens (random replacements are drawn from it).
      rng: random.Random (default: random.Random(12345)); consumed exactly as Google's code
        consumes it, so a seed gives the same instances every time.

    Returns:
      list of TrainingInstance, shuffled.
    """
    rng = rng or random.Random(12345)
    instances = list(generate_instances(
        documents, vocab_words, max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob,
        max_predictions_per_seq, rng, do_whole_word_mask, show_progress))
    rng.shuffle(instances)
    return instances


def create_instances_from_document(all_documents, document_index, max_seq_length, short_seq_prob,
                                   masked_lm_prob, max_predictions_per_seq, vocab_words, rng,
                                   do_whole_word_mask=False):
    """The TrainingInstances of one document (Google's algorithm, step for step)."""
    document = all_documents[document_index]
    max_num_tokens = max_seq_length - 3  # [CLS], [SEP], [SEP]
    # Mostly fill the sequence; sometimes use shorter ones to lessen the pre-training /
    # fine-tuning mismatch (fine-tuning sequences are often short).
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    instances = []
    current_chunk = []
    current_length = 0
    i = 0
    while i < len(document):
        segment = document[i]
        current_chunk.append(segment)
        current_length += len(segment)
        if i == len(document) - 1 or current_length >= target_seq_length:
            if current_chunk:
                a_end = 1
                if len(current_chunk) >= 2:
                    a_end = rng.randint(1, len(current_chunk) - 1)
                tokens_a = []
                for j in range(a_end):
                    tokens_a.extend(current_chunk[j])

                tokens_b = []
                is_random_next = False
                if len(current_chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    target_b_length = target_seq_length - len(tokens_a)
                    # Ten tries at another document; a big corpus never needs more.
                    for _ in range(10):
                        random_document_index = rng.randint(0, len(all_documents) - 1)
                        if random_document_index != document_index:
                            break
                    random_document = all_documents[random_document_index]
                    random_start = rng.randint(0, len(random_document) - 1)
                    for j in range(random_start, len(random_document)):
                        tokens_b.extend(random_document[j])
                        if len(tokens_b) >= target_b_length:
                            break
                    # The unused segments go back so they are not wasted.
                    num_unused_segments = len(current_chunk) - a_end
                    i -= num_unused_segments
                else:
                    for j in range(a_end, len(current_chunk)):
                        tokens_b.extend(current_chunk[j])
                truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
                if not tokens_a or not tokens_b:
                    raise BertTF1Error("internal error: empty segment A or B")

                tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
                segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
                tokens, masked_lm_positions, masked_lm_labels = create_masked_lm_predictions(
                    tokens, masked_lm_prob, max_predictions_per_seq, vocab_words, rng,
                    do_whole_word_mask)
                instances.append(TrainingInstance(tokens, segment_ids, masked_lm_positions,
                                                  masked_lm_labels, is_random_next))
            current_chunk = []
            current_length = 0
        i += 1
    return instances


def create_masked_lm_predictions(tokens, masked_lm_prob, max_predictions_per_seq, vocab_words,
                                 rng, do_whole_word_mask=False):
    """Chooses the positions to predict and corrupts them (80% [MASK], 10% same, 10% random).

    Returns:
      (output tokens, sorted masked positions, original tokens at those positions).
    """
    cand_indexes = []
    for i, token in enumerate(tokens):
        if token == "[CLS]" or token == "[SEP]":
            continue
        # Whole word masking: a "##" piece joins the previous word's candidate.
        if do_whole_word_mask and cand_indexes and token.startswith("##"):
            cand_indexes[-1].append(i)
        else:
            cand_indexes.append([i])
    rng.shuffle(cand_indexes)
    output_tokens = list(tokens)
    num_to_predict = min(max_predictions_per_seq,
                         max(1, int(round(len(tokens) * masked_lm_prob))))
    masked_lms = []
    covered_indexes = set()
    for index_set in cand_indexes:
        if len(masked_lms) >= num_to_predict:
            break
        # A whole word that would overshoot the budget is skipped.
        if len(masked_lms) + len(index_set) > num_to_predict:
            continue
        if any(index in covered_indexes for index in index_set):
            continue
        for index in index_set:
            covered_indexes.add(index)
            if rng.random() < 0.8:
                masked_token = "[MASK]"
            elif rng.random() < 0.5:
                masked_token = tokens[index]
            else:
                masked_token = vocab_words[rng.randint(0, len(vocab_words) - 1)]
            output_tokens[index] = masked_token
            masked_lms.append(MaskedLmInstance(index=index, label=tokens[index]))
    masked_lms.sort(key=lambda x: x.index)
    return (output_tokens, [p.index for p in masked_lms], [p.label for p in masked_lms])


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Truncates a pair in place to at most max_num_tokens, from the front or back at random."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del trunc_tokens[0]
        else:
            trunc_tokens.pop()


def instance_to_features(instance, tokenizer, max_seq_length, max_predictions_per_seq):
    """The feature lists Google writes for one instance (padded to the fixed lengths)."""
    input_ids = tokenizer.convert_tokens_to_ids(instance.tokens)
    input_mask = [1] * len(input_ids)
    segment_ids = list(instance.segment_ids)
    if len(input_ids) > max_seq_length:
        raise BertTF1Error("internal error: instance longer than max_seq_length")
    padding = max_seq_length - len(input_ids)
    input_ids += [0] * padding
    input_mask += [0] * padding
    segment_ids += [0] * padding
    masked_lm_positions = list(instance.masked_lm_positions)
    masked_lm_ids = tokenizer.convert_tokens_to_ids(instance.masked_lm_labels)
    masked_lm_weights = [1.0] * len(masked_lm_ids)
    padding = max_predictions_per_seq - len(masked_lm_positions)
    masked_lm_positions += [0] * padding
    masked_lm_ids += [0] * padding
    masked_lm_weights += [0.0] * padding
    return collections.OrderedDict([
        ("input_ids", input_ids), ("input_mask", input_mask), ("segment_ids", segment_ids),
        ("masked_lm_positions", masked_lm_positions), ("masked_lm_ids", masked_lm_ids),
        ("masked_lm_weights", masked_lm_weights),
        ("next_sentence_labels", [1 if instance.is_random_next else 0])])


def example_bytes(features):
    """One serialized tf.train.Example of `features` (instance_to_features' dict).

    deterministic=True sorts the feature map by name: the C++ protobuf orders map entries
    differently in every process, so without it the bytes of one Example change from run to run
    and from worker to worker. (Filling the message in place is also ~2x faster than building
    tf.train.Feature objects.)
    """

    example = example_pb2.Example()
    feature = example.features.feature
    for name, values in features.items():
        if name == "masked_lm_weights":
            feature[name].float_list.value.extend(values)
        else:
            feature[name].int64_list.value.extend(values)
    return example.SerializeToString(deterministic=True)


def serialize_instances(instances, tokenizer, max_seq_length, max_predictions_per_seq):
    """The TFRecord payloads (bytes) of `instances`, in order."""
    return [example_bytes(instance_to_features(instance, tokenizer, max_seq_length,
                                               max_predictions_per_seq))
            for instance in instances]


def create_training_records(documents, tokenizer, max_seq_length=128, dupe_factor=10,
                            short_seq_prob=0.1, masked_lm_prob=0.15, max_predictions_per_seq=20,
                            rng=None, do_whole_word_mask=False, show_progress=False, pool=None):
    """create_training_instances + serialize_instances, with serialization in `pool`.

    Returns the same records, in the same order, as serializing create_training_instances'
    list: instances are serialized in generation order (by the workers while the parent makes
    the next ones), then shuffled with that rng as Google shuffles the instances.

    Args:
      tokenizer: gives vocab (random replacement words) and convert_tokens_to_ids.
      pool: a worker_pool() or None (serialize in this process).
      The rest: see create_training_instances.

    Returns:
      list of bytes (serialized tf.train.Example), in output order.
    """
    rng = rng or random.Random(12345)
    parts = []

    def submit(batch):
        if pool is None:
            parts.append(serialize_instances(batch, tokenizer, max_seq_length,
                                             max_predictions_per_seq))
        else:
            parts.append(pool.apply_async(_worker_serialize_instances,
                                          (batch, max_seq_length, max_predictions_per_seq)))

    batch = []
    for instance in generate_instances(
            documents, list(tokenizer.vocab.keys()), max_seq_length, dupe_factor,
            short_seq_prob, masked_lm_prob, max_predictions_per_seq, rng, do_whole_word_mask,
            show_progress):
        batch.append(instance)
        if len(batch) >= INSTANCES_PER_TASK:
            submit(batch)
            batch = []
    submit(batch)
    records = [record for part in parts
               for record in (part if pool is None else part.get())]
    rng.shuffle(records)
    return records


def write_records(records, output_files, show_progress=False):
    """Writes serialized Examples round-robin over `output_files` (each written atomically).

    Returns:
      number of records written.
    """

    temporaries = [atomic_io.temporary_sibling(path) for path in output_files]
    writers = [tf.io.TFRecordWriter(path) for path in temporaries]
    try:
        iterator = enumerate(records)
        if show_progress:

            iterator = tqdm(iterator, total=len(records), desc="write", unit="instance")
        for index, record in iterator:
            writers[index % len(writers)].write(record)
        for writer in writers:
            writer.close()
        writers = []
        for temporary, path in zip(temporaries, output_files):
            tf.io.gfile.rename(temporary, path, overwrite=True)
    finally:
        for writer in writers:
            writer.close()
        for temporary in temporaries:
            if tf.io.gfile.exists(temporary):
                tf.io.gfile.remove(temporary)
    return len(records)


def write_instances(instances, tokenizer, max_seq_length, max_predictions_per_seq, output_files,
                    show_progress=False):
    """Writes the instances round-robin over `output_files` (each written atomically).

    Returns:
      number of instances written.
    """
    return write_records(serialize_instances(instances, tokenizer, max_seq_length,
                                             max_predictions_per_seq),
                         output_files, show_progress)


# The tokenizer of a worker process, set once by _init_worker (not passed with every task).
_WORKER_TOKENIZER = None


def _init_worker(tokenizer, preserve_unused_tokens):
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer

    # A spawned worker has unparsed absl flags, which bert.tokenization reads at call time; a
    # forked one inherits the parent's (the value included).
    if not flags.FLAGS.is_parsed():
        compat.mark_absl_flags_parsed()
        flags.FLAGS.preserve_unused_tokens = preserve_unused_tokens


def _worker_tokenize_lines(lines):
    return tokenize_lines(_WORKER_TOKENIZER, lines)


def _worker_serialize_instances(instances, max_seq_length, max_predictions_per_seq):
    return serialize_instances(instances, _WORKER_TOKENIZER, max_seq_length,
                               max_predictions_per_seq)


@contextlib.contextmanager
def worker_pool(num_workers, tokenizer):
    """Yields a multiprocessing pool of `num_workers` processes holding `tokenizer`, or None
    for one worker (everything then runs in this process); see runtime.workers.forked_pool.
    """
    with workers_lib.forked_pool(num_workers, _init_worker,
                                 (tokenizer, fast_tokenization.preserves_unused_tokens())) as pool:
        yield pool


def _check_args(max_seq_length, max_predictions_per_seq, dupe_factor, masked_lm_prob,
                short_seq_prob):
    if max_seq_length < 5:
        raise BertTF1Error("--max_seq_length %d: must be at least 5 ([CLS] A [SEP] B [SEP])"
                           % max_seq_length)
    if max_predictions_per_seq < 1:
        raise BertTF1Error("--max_predictions_per_seq %d: must be at least 1"
                           % max_predictions_per_seq)
    if dupe_factor < 1:
        raise BertTF1Error("--dupe_factor %d: must be at least 1" % dupe_factor)
    if not 0.0 < masked_lm_prob <= 1.0:
        raise BertTF1Error("--masked_lm_prob %r: must be in (0, 1]" % masked_lm_prob)
    if not 0.0 <= short_seq_prob <= 1.0:
        raise BertTF1Error("--short_seq_prob %r: must be in [0, 1]" % short_seq_prob)


def create_pretraining_data(input_file, output_file, vocab_file, do_lower_case=True,
                            do_whole_word_mask=False, max_seq_length=128,
                            max_predictions_per_seq=20, random_seed=12345, dupe_factor=10,
                            masked_lm_prob=0.15, short_seq_prob=0.1, show_progress=False,
                            tokenizer="auto", num_workers=1):
    """Google's create_pretraining_data.py as a function (same arguments and defaults).

    The records equal Google's for one input file, or for files that each (but the last) end
    with a blank line: here every file starts a new document, and a glob's matches are sorted
    (module docstring, "Input files").

    Args:
      input_file: comma-separated paths or globs (or a list of them).
      output_file: comma-separated TFRecord paths (or a list); instances go round-robin.
      vocab_file: WordPiece vocabulary.
      tokenizer: "auto" (HuggingFace tokenizers where it matches bert, else bert's),
        "fast" (BertTF1Error when it cannot match) or "python" (bert's FullTokenizer).
      num_workers: processes for tokenizing and serializing; 1 = this process only, 0 = one
        per CPU. The records are the same for every value.
      The rest: see the module docstring.

    Returns:
      dict with input_files, output_files, num_documents, num_instances, tokenizer ("fast" or
      "python"), num_workers, seconds (wall time of "tokenize", "instances" -- creation and
      serialization -- and "write").

    Raises:
      BertTF1Error: no input, empty corpus, NSP impossible, over-long line, bad arguments.
    """

    compat.setup_tf1()
    _check_args(max_seq_length, max_predictions_per_seq, dupe_factor, masked_lm_prob,
                short_seq_prob)
    workers = workers_lib.resolve_num_workers(num_workers)
    input_files = expand_input_files(input_file)
    output_files = ([p.strip() for p in output_file.split(",") if p.strip()]
                    if isinstance(output_file, str) else list(output_file))
    if not output_files:
        raise BertTF1Error("--output_file: no file given")
    bert_dir.count_vocab_lines(vocab_file)  # a clear error for a missing / non-UTF-8 vocab
    chosen = fast_tokenization.choose_tokenizer(tokenizer, vocab_file, do_lower_case)
    seconds = collections.OrderedDict()
    with worker_pool(workers, chosen) as pool:
        started = time.time()
        documents = read_documents(input_files, chosen, max_seq_length, show_progress, pool)
        check_documents(documents, input_files)
        seconds["tokenize"] = time.time() - started
        started = time.time()
        records = create_training_records(
            documents, chosen, max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob,
            max_predictions_per_seq, random.Random(random_seed), do_whole_word_mask,
            show_progress, pool)
        seconds["instances"] = time.time() - started
    started = time.time()
    count = write_records(records, output_files, show_progress)
    seconds["write"] = time.time() - started
    return {"input_files": input_files, "output_files": output_files,
            "num_documents": len(documents), "num_instances": count,
            "tokenizer": fast_tokenization.tokenizer_name(chosen), "num_workers": workers,
            "seconds": seconds}
