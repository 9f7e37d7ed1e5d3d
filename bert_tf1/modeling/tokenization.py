"""Fast WordPiece tokenization (HuggingFace `tokenizers`) giving bert.tokenization's exact output.

FastFullTokenizer has FullTokenizer's interface (tokenize, convert_tokens_to_ids,
convert_ids_to_tokens, vocab, inv_vocab) and returns the same WordPieces, hence the same ids. It
chains tokenizers' BertNormalizer, BertPreTokenizer and WordPiece, built from:
  * the vocabulary FullTokenizer itself loaded (so duplicate or blank lines in vocab.txt give
    the same ids: bert keeps a token's first line, tokenizers' own loader its last);
  * bert's unk token and max_input_chars_per_word: 200 in bert-tensorflow 1.0.4 (tokenizers'
    default is 100, which would turn 101-200 character words into [UNK]);
  * no special tokens: "[CLS]" or "[MASK]" written in the text is split at its brackets, as bert
    splits it (BertWordPieceTokenizer would keep it whole).

ASCII text never reaches tokenizers. For it bert's basic tokenization is: lower-case (when
do_lower_case), delete ASCII control characters, split at whitespace, split each piece into runs
of letters and digits and single punctuation characters (bert counts every other printable ASCII
character as punctuation). FastFullTokenizer does that with str methods and one regex, finds
each word's WordPieces with bert's greedy longest-match-first search over FullTokenizer's vocab,
and caches them per piece and per word: the same algorithm, 5-12x cheaper than tokenizers (cold
to warm caches), which spends most of its time keeping character alignments nothing here reads.

Where the two still differ, the line goes to FullTokenizer itself. Every code point was compared
("a" + c + "b", both casings) with tokenizers 0.13.3 against Python 3.7 (Unicode 11.0), then
200,000 random strings of the remaining characters; the differences are:
  * private-use characters (U+E000-U+F8FF, planes 15 and 16): bert keeps them (a word holding
    one usually becomes [UNK]), tokenizers deletes them;
  * 618 characters on which tokenizers' Unicode tables (older) and Python's disagree: marks and
    punctuation added in Unicode 10 and 11 (bert strips or splits them, tokenizers keeps them in
    the word), two format characters, uppercase letters Python 3.7 does not know but Rust
    lower-cases, and CJK Extension E U+2B820-U+2B91F (tokenizers' CJK range starts at U+2B920);
  * with do_lower_case, capital sigma: Python's str.lower() makes a word-final Σ a final ς,
    tokenizers always makes it σ;
  * lone surrogates, which tokenizers cannot take at all.
A line holding none of these is tokenized by tokenizers; the check is one regex search (skipped
for ASCII lines). The table is exact for VERIFIED_VERSIONS only: with another Python (Unicode
tables) or tokenizers version, choose_tokenizer("auto") uses FullTokenizer and "fast" raises.
`scripts/list_tokenizer_differences.py` prints the differing characters of the current
environment, to check a new version. Also never fast: --preserve_unused_tokens=true (bert then
keeps [unusedN] whole) and a vocabulary without the unk token (tokenizers fails on unknown words
where bert writes [UNK]).

    >>> tokenizer = choose_tokenizer("auto", "vocab.txt", do_lower_case=True)  # doctest: +SKIP
    >>> tokenizer.tokenize("Héllo, 世界!")  # doctest: +SKIP
    ['hello', ',', '世', '界', '!']
"""
import collections
import re
import unicodedata

import tensorflow as tf
from absl import flags
from bert import tokenization
from tokenizers import models, normalizers, pre_tokenizers

from bert_tf1.classifier import features
from bert_tf1.errors import BertTF1Error

TOKENIZER_CHOICES = ("auto", "fast", "python")

# The environment DIFFERING_RANGES was derived in (Python 3.7.16, tokenizers 0.13.3).
VERIFIED_VERSIONS = {"unicodedata": "11.0.0", "tokenizers": "0.13.3"}

# Code points tokenized differently in either casing (see the module docstring); inclusive.
DIFFERING_RANGES = (
    (0x07FD, 0x07FD), (0x08D3, 0x08E2), (0x09FD, 0x09FE), (0x0A76, 0x0A76), (0x0AFA, 0x0AFF),
    (0x0C04, 0x0C04), (0x0C84, 0x0C84), (0x0D00, 0x0D00), (0x0D3B, 0x0D3C), (0x1885, 0x1886),
    (0x1DF6, 0x1DF9), (0x1DFB, 0x1DFB), (0x2C2F, 0x2C2F), (0x2E43, 0x2E4E), (0xA7BA, 0xA7BA),
    (0xA7BC, 0xA7BC), (0xA7BE, 0xA7BE), (0xA7C0, 0xA7C0), (0xA7C2, 0xA7C2), (0xA7C4, 0xA7C7),
    (0xA7C9, 0xA7C9), (0xA7D0, 0xA7D0), (0xA7D6, 0xA7D6), (0xA7D8, 0xA7D8), (0xA7F5, 0xA7F5),
    (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0x10570, 0x1057A), (0x1057C, 0x1058A),
    (0x1058C, 0x10592), (0x10594, 0x10595), (0x10D24, 0x10D27), (0x10F46, 0x10F50),
    (0x10F55, 0x10F59), (0x110CD, 0x110CD), (0x111C9, 0x111C9), (0x1123E, 0x1123E),
    (0x1133B, 0x1133B), (0x11438, 0x1143F), (0x11442, 0x11444), (0x11446, 0x11446),
    (0x1144B, 0x1144F), (0x1145B, 0x1145B), (0x1145D, 0x1145E), (0x11660, 0x1166C),
    (0x1182F, 0x11837), (0x11839, 0x1183B), (0x11A01, 0x11A0A), (0x11A33, 0x11A38),
    (0x11A3B, 0x11A47), (0x11A51, 0x11A56), (0x11A59, 0x11A5B), (0x11A8A, 0x11A96),
    (0x11A98, 0x11A9C), (0x11A9E, 0x11AA2), (0x11C30, 0x11C36), (0x11C38, 0x11C3D),
    (0x11C3F, 0x11C3F), (0x11C41, 0x11C45), (0x11C70, 0x11C71), (0x11C92, 0x11CA7),
    (0x11CAA, 0x11CB0), (0x11CB2, 0x11CB3), (0x11CB5, 0x11CB6), (0x11D31, 0x11D36),
    (0x11D3A, 0x11D3A), (0x11D3C, 0x11D3D), (0x11D3F, 0x11D45), (0x11D47, 0x11D47),
    (0x11D90, 0x11D91), (0x11D95, 0x11D95), (0x11D97, 0x11D97), (0x11EF3, 0x11EF4),
    (0x11EF7, 0x11EF8), (0x16E97, 0x16E9A), (0x1E000, 0x1E006), (0x1E008, 0x1E018),
    (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A), (0x1E944, 0x1E94A),
    (0x1E95E, 0x1E95F), (0x2B820, 0x2B91F),
)
PRIVATE_USE_RANGES = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))
SURROGATE_RANGE = (0xD800, 0xDFFF)
CAPITAL_SIGMA = 0x03A3


def load_vocab(vocab_file):
    """bert.tokenization.load_vocab's vocabulary (an OrderedDict token -> id), read at once.

    bert reads the file a line at a time through tf.gfile (0.15-0.19 s for 30,522 lines, paid
    at every run start and by every feature conversion); one read and a split give the same
    dict in a few ms: GFile's readline splits at "\n" and drops every "\r" (also inside a
    line), each line is strip()ped, a token keeps the id of its first line, ids count distinct
    tokens, and a file not valid UTF-8 raises UnicodeDecodeError as GFile's text mode does.
    """
    with tf.io.gfile.GFile(vocab_file, "rb") as reader:
        text = reader.read().decode("utf-8").replace("\r", "")
    lines = text.split("\n")
    if lines[-1] == "":  # after the last "\n" (or an empty file): readline's end of file
        lines.pop()
    vocab = collections.OrderedDict()
    for line in lines:
        token = line.strip()
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab


def full_tokenizer(vocab_file, do_lower_case=True):
    """bert.tokenization.FullTokenizer(vocab_file, do_lower_case), its vocabulary read by
    load_vocab: the same object state (tests compare every attribute with bert's), built as
    bert-tensorflow 1.0.4's __init__ builds it."""
    vocab = load_vocab(vocab_file)
    tokenizer = tokenization.FullTokenizer.__new__(tokenization.FullTokenizer)
    tokenizer.vocab = vocab
    tokenizer.inv_vocab = {index: token for token, index in vocab.items()}
    tokenizer.basic_tokenizer = tokenization.BasicTokenizer(do_lower_case=do_lower_case,
                                                            vocab=vocab)
    tokenizer.wordpiece_tokenizer = tokenization.WordpieceTokenizer(vocab=vocab)
    return tokenizer


def python_only_pattern(do_lower_case):
    """A compiled regex matching any character the fast path would tokenize differently.

    >>> [bool(python_only_pattern(lower).search("ΟΔΟΣ")) for lower in (True, False)]
    [True, False]
    """
    ranges = list(DIFFERING_RANGES) + list(PRIVATE_USE_RANGES) + [SURROGATE_RANGE]
    if do_lower_case:
        ranges.append((CAPITAL_SIGMA, CAPITAL_SIGMA))
    return re.compile("[%s]" % "".join(
        "%s-%s" % (re.escape(chr(low)), re.escape(chr(high))) for low, high in sorted(ranges)))


# bert's _clean_text deletes these ASCII characters (category Cc, except \t \n \r, which
# become spaces); a deleted one joins its neighbours into one word.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# bert's words in cleaned ASCII text: runs of letters and digits, and each other printable
# character alone (all of them are punctuation to bert's _is_punctuation); whitespace
# separates words and is dropped.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+|[!-/:-@\[-`{-~]")
# Pieces and words whose WordPieces are kept; the cache is emptied when it grows past this.
WORD_CACHE_LIMIT = 1 << 18  # ~60 MB at most per cache


def import_tokenizers():
    """The `tokenizers` module, or BertTF1Error saying how to get it."""
    try:
        import tokenizers  # optional: only --tokenizer=fast needs it
    except ImportError as error:
        raise BertTF1Error("--tokenizer=fast: the HuggingFace `tokenizers` package does not "
                           "import (%s); install tokenizers==0.13.3 or use --tokenizer=python "
                           "(or auto)" % error)
    return tokenizers


def unverified_versions():
    """'name found (verified V)' for each library whose version DIFFERING_RANGES was not built
    with; empty when the table applies."""
    found = {"unicodedata": unicodedata.unidata_version,
             "tokenizers": getattr(import_tokenizers(), "__version__", "unknown")}
    return ["%s %s (verified %s)" % (name, found[name], VERIFIED_VERSIONS[name])
            for name in sorted(VERIFIED_VERSIONS) if found[name] != VERIFIED_VERSIONS[name]]


def preserves_unused_tokens():
    """The value of bert.tokenization's absl flag --preserve_unused_tokens (False if unparsed).

    bert.tokenization reads this global flag at call time; it is read here only to know whether
    the fast path (which never preserves [unusedN] tokens) still matches.
    """

    try:
        return bool(tokenization.FLAGS.preserve_unused_tokens)
    except (flags.UnparsedFlagAccessError, AttributeError):
        return False


def fast_path_problem(python_tokenizer):
    """Why FastFullTokenizer could not reproduce `python_tokenizer`, or None when it can.

    Args:
      python_tokenizer: the bert.tokenization.FullTokenizer to reproduce.

    Raises:
      BertTF1Error: `tokenizers` does not import.
    """
    mismatched = unverified_versions()
    if mismatched:
        return ("its table of characters that tokenize differently was verified for other "
                "versions: %s" % ", ".join(mismatched))
    if preserves_unused_tokens():
        return "--preserve_unused_tokens=true keeps [unusedN] tokens whole in bert's tokenizer"
    unk_token = python_tokenizer.wordpiece_tokenizer.unk_token
    if unk_token not in python_tokenizer.vocab:
        return "the vocabulary has no %s token" % unk_token
    return None


def bert_normalizer_and_pre_tokenizer(do_lower_case):
    """tokenizers' counterparts of bert's BasicTokenizer, as the fast path and the check of
    differing characters (differing_characters) both use them."""
    import_tokenizers()

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=do_lower_case,
        lowercase=do_lower_case)
    return normalizer, pre_tokenizers.BertPreTokenizer()


def hf_tokenizer(vocab, do_lower_case, unk_token="[UNK]", max_input_chars_per_word=200):
    """tokenizers.Tokenizer doing bert's basic + WordPiece tokenization, without special tokens.

    Args:
      vocab: dict token -> id (FullTokenizer.vocab).
      do_lower_case: lower-case and strip accents (bert strips accents only when lower-casing).
    """
    tokenizers = import_tokenizers()

    tokenizer = tokenizers.Tokenizer(models.WordPiece(
        vocab=dict(vocab), unk_token=unk_token,
        max_input_chars_per_word=max_input_chars_per_word))
    tokenizer.normalizer, tokenizer.pre_tokenizer = bert_normalizer_and_pre_tokenizer(
        do_lower_case)
    return tokenizer


class FastFullTokenizer(object):
    """bert.tokenization.FullTokenizer's WordPieces from HuggingFace tokenizers.

    Lines holding a character the two tokenize differently go to FullTokenizer (see the module
    docstring), so tokenize() always equals FullTokenizer.tokenize().

    Args:
      vocab_file: WordPiece vocabulary (local, gs://, s3://).
      do_lower_case: as FullTokenizer's.
      python_tokenizer: an already loaded FullTokenizer of that vocab and casing (then
        vocab_file and do_lower_case are ignored).

    Raises:
      BertTF1Error: `tokenizers` missing, or the fast path cannot match here (fast_path_problem).
    """

    # Its tokens are FullTokenizer's for every text, so a text cut at a space gives the first
    # (or last) tokens of the whole text (features.tokenize_truncated relies on it).
    splits_at_whitespace = True

    def __init__(self, vocab_file, do_lower_case=True, python_tokenizer=None):
        if python_tokenizer is None:
            python_tokenizer = full_tokenizer(vocab_file, do_lower_case)
        do_lower_case = python_tokenizer.basic_tokenizer.do_lower_case
        self.python_tokenizer = python_tokenizer
        problem = fast_path_problem(self.python_tokenizer)
        if problem:
            raise BertTF1Error("--tokenizer=fast cannot give bert's tokens: %s; use "
                               "--tokenizer=python (or auto)" % problem)
        self.vocab = self.python_tokenizer.vocab
        self.inv_vocab = self.python_tokenizer.inv_vocab
        self._hf_tokenizer = None  # built on first use: ASCII text never needs it (~30 ms)
        self._python_only = python_only_pattern(do_lower_case)
        self._do_lower_case = do_lower_case
        # text without " " -> its WordPieces (a tuple); the words of _piece_wordpieces apart.
        self._pieces, self._words = {}, {}
        self._longest_token = max(map(len, self.vocab), default=0)

    @property
    def hf_tokenizer(self):
        """The tokenizers.Tokenizer doing bert's tokenization (hf_tokenizer of the vocab)."""
        if self._hf_tokenizer is None:
            wordpiece = self.python_tokenizer.wordpiece_tokenizer
            self._hf_tokenizer = hf_tokenizer(self.vocab, self._do_lower_case,
                                              wordpiece.unk_token,
                                              wordpiece.max_input_chars_per_word)
        return self._hf_tokenizer

    def needs_python(self, text):
        """True when `text` holds a character the fast path would tokenize differently."""
        # str.isascii is Python 3.7+, like every environment the table was verified in.
        return not text.isascii() and self._python_only.search(text) is not None

    def tokenize(self, text):
        """WordPieces of `text` (str or UTF-8 bytes), exactly FullTokenizer.tokenize's.

        bert's tokens of a text are the concatenation of the tokens of its pieces between
        spaces (cleaning, CJK spacing, casing and punctuation splitting act on single
        characters or within whitespace-free words), so pieces are tokenized once and cached:
        ASCII ones here (_ascii_tokenize), others by tokenizers or, for the characters where
        it differs, by FullTokenizer."""
        text = tokenization.convert_to_unicode(text)
        for cache in (self._pieces, self._words):
            if len(cache) > WORD_CACHE_LIMIT:
                cache.clear()
        if text.isascii():
            return self._ascii_tokenize(text)
        cache = self._pieces
        tokens = []
        for piece in text.split(" "):
            if piece:
                found = cache.get(piece)
                if found is None:
                    found = cache[piece] = tuple(self._ascii_tokenize(piece) if piece.isascii()
                                                 else self._other_tokenize(piece))
                tokens += found
        return tokens

    def _other_tokenize(self, text):
        if self.needs_python(text):
            return self.python_tokenizer.tokenize(text)
        # encode(), not encode_batch(): one thread per process, so parallelism is num_workers
        # alone and forked workers never inherit a used rayon pool (tokenizers then warns).
        return self.hf_tokenizer.encode(text, add_special_tokens=False).tokens

    def _ascii_tokenize(self, text):
        """FullTokenizer.tokenize(text) for ASCII text: lower-case, delete control characters,
        split at whitespace as bert does, then each piece's cached WordPieces."""
        if self._do_lower_case:
            text = text.lower()
        if _ASCII_CONTROL.search(text):  # bert deletes them (joining their neighbours)
            text = _ASCII_CONTROL.sub("", text)
        cache = self._pieces
        get = cache.get
        tokens = []
        for piece in text.split():  # no control character left: splits at " \t\n\r" only
            found = get(piece)
            if found is None:
                found = cache[piece] = self._piece_wordpieces(piece)
            tokens += found
        return tokens

    def _piece_wordpieces(self, piece):
        """WordPieces of a cleaned ASCII piece without whitespace: bert's WordpieceTokenizer
        on each of its words (_ASCII_WORD), each word's cached."""
        cache = self._words
        pieces = []
        for word in _ASCII_WORD.findall(piece):
            found = cache.get(word)
            if found is None:
                found = cache[word] = self._wordpiece(word)
            pieces += found
        return tuple(pieces)

    def _wordpiece(self, word):
        """bert's WordpieceTokenizer.tokenize(word) for one word: greedy longest match first,
        the same search, but it never tries a substring longer than the vocabulary's longest
        token (no such substring can match) and slices instead of joining characters."""
        wordpiece = self.python_tokenizer.wordpiece_tokenizer
        if len(word) > wordpiece.max_input_chars_per_word:
            return (wordpiece.unk_token,)
        vocab, pieces, start = wordpiece.vocab, [], 0
        while start < len(word):
            end = min(len(word), start + self._longest_token)
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            else:  # nothing matched: the whole word is unknown
                return (wordpiece.unk_token,)
            pieces.append(piece)
            start = end
        return tuple(pieces)

    def convert_tokens_to_ids(self, tokens):
        """FullTokenizer's ids (vocab[token] for each token, KeyError for an unknown one),
        looked up in C rather than a Python loop."""
        return list(map(self.vocab.__getitem__, tokens))

    def fingerprint(self):
        """The wrapped FullTokenizer's fingerprint: the ids are the same, so TFRecords cached
        with either tokenizer stay valid for the other (features.tokenizer_fingerprint)."""

        return features.tokenizer_fingerprint(self.python_tokenizer)

    def convert_ids_to_tokens(self, ids):
        return self.python_tokenizer.convert_ids_to_tokens(ids)


def choose_tokenizer(kind, vocab_file, do_lower_case=True):
    """The tokenizer for --tokenizer=kind.

    Args:
      kind: "python" (bert.tokenization.FullTokenizer), "fast" (FastFullTokenizer, or
        BertTF1Error when it cannot match bert here) or "auto" (fast when it can, else python).

    Returns:
      FullTokenizer or FastFullTokenizer (same tokens and ids either way).
    """

    _check_kind(kind)  # before the vocabulary is read
    return wrap_tokenizer(kind, full_tokenizer(vocab_file, do_lower_case))


def _check_kind(kind):
    if kind not in TOKENIZER_CHOICES:
        raise BertTF1Error("--tokenizer %r: expected one of %s" % (kind, ", ".join(
            TOKENIZER_CHOICES)))


def wrap_tokenizer(kind, python_tokenizer):
    """choose_tokenizer for an already loaded FullTokenizer (e.g. a hub module's).

    Returns:
      python_tokenizer itself ("python", or "auto" where the fast path cannot match it), or a
      FastFullTokenizer wrapping it.

    Raises:
      BertTF1Error: unknown kind, or "fast" where the fast path cannot match.
    """

    _check_kind(kind)
    if kind == "python":
        return python_tokenizer
    if kind == "fast":
        return FastFullTokenizer(None, python_tokenizer=python_tokenizer)
    try:
        problem = fast_path_problem(python_tokenizer)
    except BertTF1Error:
        problem = "the `tokenizers` package does not import"
    if problem:
        tf.compat.v1.logging.info("--tokenizer=auto: using bert's Python tokenizer: %s", problem)
        return python_tokenizer
    return FastFullTokenizer(None, python_tokenizer=python_tokenizer)


def tokenizer_name(tokenizer):
    """'fast' or 'python'."""
    return "fast" if isinstance(tokenizer, FastFullTokenizer) else "python"


def differing_characters(do_lower_case, codepoints, block_size=512):
    """Code points whose "a" + c + "b" bert's BasicTokenizer and tokenizers split differently.

    Compares whole blocks first and single characters only inside a differing block, so a few
    hundred thousand code points take seconds. WordPiece itself is the same algorithm on both
    sides, so equal words give equal WordPieces.

    Args:
      codepoints: iterable of ints (surrogates are skipped: tokenizers cannot take them).

    Returns:
      sorted list of ints.
    """

    python = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
    normalizer, pre_tokenizer = bert_normalizer_and_pre_tokenizer(do_lower_case)

    def same(chars):
        text = " ".join("a%sb" % char for char in chars)
        words = [word for word, _ in pre_tokenizer.pre_tokenize_str(
            normalizer.normalize_str(text))]
        return python.tokenize(text) == words

    low, high = SURROGATE_RANGE
    chars = [chr(cp) for cp in codepoints if not low <= cp <= high]
    found = []
    for start in range(0, len(chars), block_size):
        block = chars[start:start + block_size]
        if not same(block):
            found.extend(ord(char) for char in block if not same([char]))
    return sorted(found)
