"""Pre-training data: masked-LM + next-sentence instances written as TFRecords.

Same algorithm, input format, defaults and output features as google-research/bert's
create_pretraining_data.py (written here because importing that module defines absl flags):
  * input: plain text, one sentence per line, a blank line between documents;
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

Additions: clear errors (empty corpus, NSP impossible, over-long lines with file:line), a tqdm
progress bar, atomic output files (written to a temporary name, then renamed; local, gs://, s3://).

    >>> stats = create_pretraining_data("corpus.txt", "out.tfrecord", "vocab.txt")  # doctest: +SKIP
"""
import collections
import random

from bert_tf1.errors import BertTF1Error, located

# A line this many times longer than max_seq_length (in WordPieces) is almost surely not one
# sentence (a whole document on one line, binary junk): fail instead of silently truncating it.
MAX_LINE_LENGTH_FACTOR = 10

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

    Raises BertTF1Error when a pattern matches nothing.
    """
    import tensorflow as tf

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


def read_documents(input_files, tokenizer, max_seq_length=128, show_progress=False):
    """Tokenizes the corpus: a list of documents, each a list of sentences (lists of WordPieces).

    Args:
      input_files: list of paths (local, gs://, s3://), UTF-8, one sentence per line, a blank
        line between documents.
      tokenizer: bert.tokenization.FullTokenizer.
      max_seq_length: a line longer than MAX_LINE_LENGTH_FACTOR times this (in WordPieces)
        raises BertTF1Error naming file:line.

    Returns:
      list of documents (empty documents dropped).
    """
    import tensorflow as tf

    from bert import tokenization

    max_line_tokens = MAX_LINE_LENGTH_FACTOR * max_seq_length
    documents = [[]]
    for input_file in input_files:
        with tf.io.gfile.GFile(input_file, "rb") as handle:
            data = handle.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BertTF1Error(located(input_file, "invalid UTF-8 (%s)" % error.reason,
                                       line=data[:error.start].count(b"\n") + 1))
        lines = text.split("\n")
        iterator = enumerate(lines, 1)
        if show_progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, total=len(lines), desc="tokenize %s" % input_file,
                            unit="line")
        for number, line in iterator:
            line = tokenization.convert_to_unicode(line).strip()
            if not line:
                documents.append([])
                continue
            tokens = tokenizer.tokenize(line)
            if len(tokens) > max_line_tokens:
                raise BertTF1Error(located(
                    input_file, "line has %d WordPieces, more than %d x max_seq_length (%d): "
                    "the input must hold one sentence per line, with a blank line between "
                    "documents" % (len(tokens), MAX_LINE_LENGTH_FACTOR, max_line_tokens),
                    line=number))
            if tokens:
                documents[-1].append(tokens)
        documents.append([])  # a new file starts a new document
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
        import tensorflow as tf

        # Google's code accepts this too; its "random" next sentences then come from the same
        # document, which makes next-sentence prediction noisy.
        tf.compat.v1.logging.warning(
            "%s: only one document; random next sentences will come from the same document "
            "(separate documents by a blank line)", where)


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
    documents = [document for document in documents if document]
    rng.shuffle(documents)
    instances = []
    steps = range(dupe_factor)
    if show_progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="instances", unit="pass")
    for _ in steps:
        for document_index in range(len(documents)):
            instances.extend(create_instances_from_document(
                documents, document_index, max_seq_length, short_seq_prob, masked_lm_prob,
                max_predictions_per_seq, vocab_words, rng, do_whole_word_mask))
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


def _tf_example(features):
    import tensorflow as tf

    feature = collections.OrderedDict()
    for name, values in features.items():
        if name == "masked_lm_weights":
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def write_instances(instances, tokenizer, max_seq_length, max_predictions_per_seq, output_files,
                    show_progress=False):
    """Writes the instances round-robin over `output_files` (each written atomically).

    Returns:
      number of instances written.
    """
    import tensorflow as tf

    from bert_tf1 import atomic_io

    temporaries = [atomic_io.temporary_sibling(path) for path in output_files]
    writers = [tf.io.TFRecordWriter(path) for path in temporaries]
    try:
        iterator = enumerate(instances)
        if show_progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, total=len(instances), desc="write", unit="instance")
        for index, instance in iterator:
            features = instance_to_features(instance, tokenizer, max_seq_length,
                                            max_predictions_per_seq)
            writers[index % len(writers)].write(_tf_example(features).SerializeToString())
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
    return len(instances)


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
                            masked_lm_prob=0.15, short_seq_prob=0.1, show_progress=False):
    """Google's create_pretraining_data.py as a function (same arguments and defaults).

    Args:
      input_file: comma-separated paths or globs (or a list of them).
      output_file: comma-separated TFRecord paths (or a list); instances go round-robin.
      vocab_file: WordPiece vocabulary.
      The rest: see the module docstring.

    Returns:
      dict with input_files, output_files, num_documents, num_instances.

    Raises:
      BertTF1Error: no input, empty corpus, NSP impossible, over-long line, bad arguments.
    """
    from bert import tokenization

    from bert_tf1 import bert_dir, compat

    compat.setup_tf1()
    _check_args(max_seq_length, max_predictions_per_seq, dupe_factor, masked_lm_prob,
                short_seq_prob)
    input_files = expand_input_files(input_file)
    output_files = ([p.strip() for p in output_file.split(",") if p.strip()]
                    if isinstance(output_file, str) else list(output_file))
    if not output_files:
        raise BertTF1Error("--output_file: no file given")
    bert_dir.count_vocab_lines(vocab_file)  # a clear error for a missing / non-UTF-8 vocab
    tokenizer = tokenization.FullTokenizer(vocab_file=vocab_file, do_lower_case=do_lower_case)
    documents = read_documents(input_files, tokenizer, max_seq_length, show_progress)
    check_documents(documents, input_files)
    rng = random.Random(random_seed)
    instances = create_training_instances(
        documents, list(tokenizer.vocab.keys()), max_seq_length, dupe_factor, short_seq_prob,
        masked_lm_prob, max_predictions_per_seq, rng, do_whole_word_mask, show_progress)
    count = write_instances(instances, tokenizer, max_seq_length, max_predictions_per_seq,
                            output_files, show_progress)
    return {"input_files": input_files, "output_files": output_files,
            "num_documents": len(documents), "num_instances": count}
