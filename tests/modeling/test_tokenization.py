"""fast_tokenization: HuggingFace tokenizers gives FullTokenizer's exact WordPieces and ids, falls
back to it where the two differ, and is chosen (or refused) with clear errors."""
import random
import sys

import pytest
from bert import tokenization

from bert_tf1.convert import tiny_bert
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import tokenization as fast_tokenization

# Characters outside ASCII the vocabularies below know, so that non-ASCII text gives real
# WordPieces and not only [UNK].
EXTRA_UNCASED = ["cafe", "naive", "resume", "uber", "strasse", "straße", "istanbul", "angstrom",
                 "οδος", "σας", "日", "本", "語", "中", "文", "한국어", "##e", "##é", "é", "ı",
                 "❤", "😀", "👍", "$", "∑", "ｂ", "ﬁ", "##ﬁ"]
EXTRA_CASED = ["Café", "café", "naïve", "Über", "Straße", "STRASSE", "İstanbul", "Ångström",
               "ΟΔΟΣ", "Σ", "ς", "日", "本", "語", "中", "文", "é", "##é", "É", "A", "The", "THE",
               "❤", "😀", "👍", "ＡＢＣ", "##A", "##B", "##C"] + ["##" + c for c in "ABCDEFGHIJ"]

CORPUS = [
    "The movie was GREAT!!! Really... (10/10) -- wouldn't you agree?",
    "naïve café résumé Über Ångström Straße STRASSE İstanbul ıi",
    "e\u0301 A\u030a combining accents, and precomposed é Å",
    "日本語のテキスト 中文字符 한국어 텍스트",
    "I ❤️ movies 😀🎉 👍🏽 family: 👨‍👩‍👧",
    "control\x00chars\x01here\x7fand\u200bzero\u200dwidth\ufeffbom\ufffdreplacement",
    "tab\there\u00a0nbsp\u3000ideographic\u2028line\u2029para\x0bvt\x0cff\x85nel\rcr",
    "", "   ", "\t\t", "\u3000",
    "a" * 199, "b" * 200, "c" * 201, "supercalifragilistic" * 12 + " end",
    "[CLS] [MASK] [SEP] [UNK] ##ing [unused0] <s> </s>",
    "ΟΔΟΣ ΣΑΣ Σ aΣb ΣΣ",  # final sigma: bert's path
    "private a\ue000b use \U000f0001", "new punctuation a\u2e43b and mark a\u08d3b",
    "CJK Extension E \U0002b820\U0002b821 and F \U0002ceb0",
    "مرحبا بالعالم שלום עולם नमस्ते दुनिया",
    "∑∫√ 1+1=2 $5.00 50% a_b c-d e'f g\"h {i} [j] <k> @l #m ^n `o ~p |q \\r",
    "ＡＢＣ１２３ fullwidth ｂ ﬁ ﬂ ligatures ½ ² ℃ Ⅻ",
    "MiXeD CaSe The THE the",
]


def write_vocab(path, extra):
    tokens = tiny_bert.tiny_vocab_tokens() + extra
    path.write_text("".join(token + "\n" for token in tokens), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module", params=[True, False], ids=["uncased", "cased"])
def tokenizers_pair(request, tmp_path_factory):
    """(FullTokenizer, FastFullTokenizer) over the same vocabulary and casing."""
    lower = request.param
    vocab = write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt",
                        EXTRA_UNCASED if lower else EXTRA_CASED)
    return (tokenization.FullTokenizer(vocab, do_lower_case=lower),
            fast_tokenization.FastFullTokenizer(vocab, do_lower_case=lower))


def test_same_wordpieces_and_ids_on_a_varied_corpus(tokenizers_pair):
    python, fast = tokenizers_pair
    known = 0
    for line in CORPUS + [line + "\n" for line in CORPUS]:
        expected = python.tokenize(line)
        assert fast.tokenize(line) == expected, repr(line)
        assert fast.convert_tokens_to_ids(expected) == python.convert_tokens_to_ids(expected)
        known += sum(token != "[UNK]" for token in expected)
    assert known > 150  # the corpus exercises real WordPieces, not only [UNK]
    assert fast.tokenize(b"caf\xc3\xa9 bytes") == python.tokenize(b"caf\xc3\xa9 bytes")
    assert python.tokenize("a" * 200) != ["[UNK]"]  # bert's limit is 200 characters, not 100
    assert fast.tokenize("a" * 201) == ["[UNK]"]


def test_same_wordpieces_on_random_strings(tokenizers_pair):
    python, fast = tokenizers_pair
    rng = random.Random(0)
    pools = [range(32, 127), range(0xA0, 0x250), range(0x300, 0x370), range(0x370, 0x530),
             range(0x4E00, 0x4E40), range(0xAC00, 0xAC20), range(0x1F300, 0x1F700),
             range(0x2000, 0x2070), range(0xE000, 0xE010), range(0x2E40, 0x2E50),
             [0, 9, 10, 11, 12, 13, 0x85, 0x2028, 0x3000, 0xFFFD, 0x200D, 0xFE0F, 0x3A3]]
    for _ in range(2000):
        text = "".join(chr(rng.choice(rng.choice(pools))) + (" " if rng.random() < 0.2 else "")
                       for _ in range(rng.randint(1, 25)))
        assert fast.tokenize(text) == python.tokenize(text), repr(text)


def test_ascii_text_is_tokenized_in_python_exactly(tokenizers_pair, monkeypatch):
    """ASCII text (any of the 128 code points: controls, tabs, punctuation, over-long and
    unknown words) never reaches tokenizers and gives FullTokenizer's WordPieces, also from
    the caches on a second pass and after the caches were emptied."""
    python, _ = tokenizers_pair
    fast = fast_tokenization.FastFullTokenizer(None, python_tokenizer=python)  # empty caches
    monkeypatch.setattr(fast_tokenization, "WORD_CACHE_LIMIT", 50)
    rng = random.Random(1)
    words = [t for t in python.vocab if t.isascii() and not t.startswith("[")] + [
        "x" * 201, "zzqqj", "The", "DOG'S", "e-mail", "3.14"]
    texts = []
    for _ in range(300):
        parts = [rng.choice(words) if rng.random() < 0.7 else chr(rng.randrange(128))
                 for _ in range(rng.randint(0, 30))]
        texts.append("".join(part + rng.choice(["", " ", " ", "\t", "\r\n", "\x00", "\x0b"])
                             for part in parts))
    for text in texts + texts:
        assert fast.tokenize(text) == python.tokenize(text), repr(text)
    assert fast._hf_tokenizer is None  # built only for non-ASCII text
    assert len(fast._pieces) <= 51 and len(fast._words) <= 51


def test_wordpiece_search_is_berts(tokenizers_pair):
    """The bounded search (never longer than the longest vocabulary token) finds bert's
    WordPieces: known words, ##-continuations, unknown and over-long words."""
    python, fast = tokenizers_pair
    rng = random.Random(2)
    pieces = [t.replace("##", "") for t in python.vocab if t.isascii() and t.isalnum()]
    for _ in range(3000):
        word = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.2:
            word += rng.choice("qxz")
        assert fast._wordpiece(word) == tuple(python.wordpiece_tokenizer.tokenize(word)), word
    assert fast._wordpiece("a" * 201) == ("[UNK]",)


def test_non_ascii_text_is_tokenized_per_space_separated_piece(tokenizers_pair):
    python, fast = tokenizers_pair
    text = "The café  was naïve,\tÜber-good! 日本語 ΟΔΟΣ x\u00a0y a\u200bb"
    assert fast.tokenize(text) == python.tokenize(text)
    assert fast.tokenize(text + " " + text) == python.tokenize(text) * 2
    assert "café" in fast._pieces and "The" in fast._pieces  # cached per piece, as written


@pytest.mark.parametrize("text", ["ΟΔΟΣ", "a\ue000b", "a\u2e43b", "a\u08d3b",
                                  "a\U0002b820b", "\u2c2f"])
def test_characters_that_differ_go_to_bert(tmp_path, text):
    """tokenizers alone gets these wrong; the wrapper sends their lines to FullTokenizer."""
    # U+2C2F is a capital Python 3.7 does not know (so keeps) and Rust lower-cases to U+2C5F.
    vocab = write_vocab(tmp_path / "vocab.txt", ["οδος", "οδοσ", "\u2c2f", "\u2c5f"])
    python = tokenization.FullTokenizer(vocab, do_lower_case=True)
    fast = fast_tokenization.FastFullTokenizer(vocab, do_lower_case=True)
    raw = fast.hf_tokenizer.encode(text, add_special_tokens=False).tokens
    assert raw != python.tokenize(text)
    assert fast.needs_python(text)
    assert fast.tokenize(text) == python.tokenize(text)
    assert not fast.needs_python("οδος cafe")


def test_table_of_differing_characters_is_complete_and_necessary():
    """Every BMP character outside the table tokenizes the same; every one inside differs.

    (The supplementary planes were checked the same way, see `python -m
    bert_tf1.modeling.tokenization`; the BMP alone keeps this test at a few seconds.)
    """
    if fast_tokenization.unverified_versions():
        pytest.skip("table verified for %s" % fast_tokenization.VERIFIED_VERSIONS)
    outside = fast_tokenization.python_only_pattern(True)
    bmp = [cp for cp in range(0x10000) if not outside.match(chr(cp))]
    for lower in (True, False):
        assert fast_tokenization.differing_characters(lower, bmp, block_size=2048) == []
    inside = [cp for low, high in fast_tokenization.DIFFERING_RANGES
              for cp in range(low, high + 1)]
    differing = (set(fast_tokenization.differing_characters(True, inside))
                 | set(fast_tokenization.differing_characters(False, inside)))
    assert differing == set(inside)
    assert fast_tokenization.differing_characters(True, [0xE000, 0x10FFFD]) == [0xE000, 0x10FFFD]


def test_duplicate_and_blank_vocab_lines_keep_berts_ids(tmp_path):
    tokens = tiny_bert.tiny_vocab_tokens()
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(tokens[:40] + ["the", "  ", tokens[5]] + tokens[40:]) + "\n")
    python = tokenization.FullTokenizer(str(vocab))
    fast = fast_tokenization.FastFullTokenizer(str(vocab))
    line = "the movie ! 42 the end"
    assert fast.tokenize(line) == python.tokenize(line)
    ids = python.convert_tokens_to_ids(python.tokenize(line))
    assert fast.convert_tokens_to_ids(fast.tokenize(line)) == ids
    assert [fast.hf_tokenizer.token_to_id(t) for t in python.tokenize(line)] == ids


def _state(tokenizer):
    """Every attribute of a FullTokenizer and of its two inner tokenizers."""
    return {name: (vars(value) if name.endswith("_tokenizer") else value)
            for name, value in vars(tokenizer).items()}


# Lines GFile's readline and bert's strip() treat specially: "\r" anywhere (GFile drops it),
# blank and whitespace-only lines, Unicode spaces, separators str.splitlines() would split at
# (\x0b, \x1c, \x85, \u2028) but readline does not, duplicates, no final newline.
AWKWARD_VOCAB_TEXT = ("[PAD]\r\n[UNK]\nb\rc\n\n  d  \ne\u00a0\nf\x0bg\nh\x1ci\nj\x85k\nl\u2028m\n"
                      "\r\n[UNK]\n\u3000\nthe\n##s\nthe\nlast")


@pytest.mark.parametrize("text", [AWKWARD_VOCAB_TEXT, AWKWARD_VOCAB_TEXT + "\n",
                                  AWKWARD_VOCAB_TEXT + "\r", "", "\n", "only"],
                         ids=["awkward", "final-newline", "final-cr", "empty", "newline", "one"])
def test_load_vocab_equals_berts(tmp_path, text):
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(text.encode("utf-8"))
    expected = tokenization.load_vocab(str(vocab))
    assert list(fast_tokenization.load_vocab(str(vocab)).items()) == list(expected.items())
    for lower in (True, False):
        ours = fast_tokenization.full_tokenizer(str(vocab), do_lower_case=lower)
        assert type(ours) is tokenization.FullTokenizer
        assert _state(ours) == _state(tokenization.FullTokenizer(str(vocab), lower))


def test_full_tokenizer_equals_berts_on_a_real_sized_vocab(tmp_path):
    tokens = tiny_bert.tiny_vocab_tokens() + ["tok%d" % i for i in range(30000)]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    ours = fast_tokenization.full_tokenizer(str(vocab))
    theirs = tokenization.FullTokenizer(str(vocab))
    assert _state(ours) == _state(theirs)
    line = "the tok123 movie tok29999 ! unknownword"
    assert ours.convert_tokens_to_ids(ours.tokenize(line)) == \
        theirs.convert_tokens_to_ids(theirs.tokenize(line))


def test_load_vocab_of_invalid_utf8_raises_as_berts_does(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(b"[UNK]\ncaf\xe9\n")
    with pytest.raises(UnicodeDecodeError):
        tokenization.load_vocab(str(vocab))
    with pytest.raises(UnicodeDecodeError):
        fast_tokenization.load_vocab(str(vocab))


@pytest.fixture
def vocab_file(tmp_path):
    return write_vocab(tmp_path / "vocab.txt", [])


def test_choose_tokenizer(vocab_file):
    assert isinstance(fast_tokenization.choose_tokenizer("auto", vocab_file),
                      fast_tokenization.FastFullTokenizer)
    assert isinstance(fast_tokenization.choose_tokenizer("fast", vocab_file, False),
                      fast_tokenization.FastFullTokenizer)
    python = fast_tokenization.choose_tokenizer("python", vocab_file)
    assert type(python) is tokenization.FullTokenizer
    assert fast_tokenization.tokenizer_name(python) == "python"
    with pytest.raises(BertTF1Error, match="--tokenizer 'quick': expected one of auto, fast"):
        fast_tokenization.choose_tokenizer("quick", vocab_file)


def test_fast_without_tokenizers_is_a_clear_error(vocab_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # makes `import tokenizers` fail
    with pytest.raises(BertTF1Error, match="--tokenizer=fast: the HuggingFace `tokenizers` "
                                           "package does not import"):
        fast_tokenization.choose_tokenizer("fast", vocab_file)
    assert type(fast_tokenization.choose_tokenizer("auto", vocab_file)) is \
        tokenization.FullTokenizer


def test_fast_refused_where_it_cannot_match(vocab_file, tmp_path, monkeypatch):
    monkeypatch.setitem(fast_tokenization.VERIFIED_VERSIONS, "tokenizers", "0.0.1")
    with pytest.raises(BertTF1Error, match=r"verified for other versions: tokenizers 0\.13\.3 "
                                           r"\(verified 0\.0\.1\)"):
        fast_tokenization.choose_tokenizer("fast", vocab_file)
    assert fast_tokenization.tokenizer_name(
        fast_tokenization.choose_tokenizer("auto", vocab_file)) == "python"
    monkeypatch.undo()

    monkeypatch.setattr(tokenization.FLAGS, "preserve_unused_tokens", True)
    with pytest.raises(BertTF1Error, match="preserve_unused_tokens"):
        fast_tokenization.choose_tokenizer("fast", vocab_file)
    assert fast_tokenization.tokenizer_name(
        fast_tokenization.choose_tokenizer("auto", vocab_file)) == "python"
    monkeypatch.undo()

    no_unk = tmp_path / "no_unk.txt"
    no_unk.write_text("".join(t + "\n" for t in tiny_bert.tiny_vocab_tokens() if t != "[UNK]"))
    with pytest.raises(BertTF1Error, match=r"the vocabulary has no \[UNK\] token"):
        fast_tokenization.choose_tokenizer("fast", str(no_unk))


def test_classifier_feature_conversion_is_the_same_with_either_tokenizer(tiny_hub_module,
                                                                         tmp_path):
    from bert_tf1.classifier import features
    from bert_tf1.classifier.pipeline import ClassifierRunSettings, make_tokenizer
    from bert_tf1.data import fixtures, load_examples

    def tokenizer(kind):
        return make_tokenizer(ClassifierRunSettings(bert_hub_module_handle=tiny_hub_module,
                                                    tokenizer=kind))

    fast, python = tokenizer("fast"), tokenizer("python")
    assert isinstance(fast, fast_tokenization.FastFullTokenizer)
    assert isinstance(tokenizer("auto"), fast_tokenization.FastFullTokenizer)
    assert isinstance(python, tokenization.FullTokenizer)
    # Same ids, hence cached TFRecords made with one are current for the other.
    assert features.tokenizer_fingerprint(fast) == features.tokenizer_fingerprint(python)
    data_dir = fixtures.write_fixture("mrpc", str(tmp_path / "mrpc"))
    examples = load_examples("mrpc", data_dir, "train")
    examples += [type(examples[0])("x-%d" % i, text, None, "1")
                 for i, text in enumerate(CORPUS) if text.strip()]
    converted = [[vars(feature) for feature in features.convert_examples_to_features(
        examples, ["0", "1"], 48, chosen, truncation="head+tail:8", show_progress=False)]
        for chosen in (fast, python)]
    assert converted[0] == converted[1]
    with pytest.raises(BertTF1Error, match="--tokenizer 'slow': expected one of"):
        tokenizer("slow")
