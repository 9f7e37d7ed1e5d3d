"""The body text of raw e-mail messages (RFC 822 / MIME: SpamAssassin, Enron).

Headers are dropped: Received/From/X-Mailer lines identify spam almost perfectly and would turn a
text-classification task into header matching. Quoted-printable and base64 are undone by the
stdlib `email` parser. Unlike the other formats, charsets are tolerated, not enforced: 2002-era
mail mislabels or omits its charset, so each part falls back to latin-1, which never fails.
"""
import email
import html.parser
import re

_HEADER_NAMES = (rb"return-path|received|from|to|cc|subject|date|message-id|mime-version|"
                 rb"content-type|delivered-to|reply-to|x-[a-z0-9-]+")
_FIRST_LINE = re.compile(rb"(From |(" + _HEADER_NAMES + rb"):)", re.IGNORECASE)


def looks_like_email(raw):
    """True when `raw` (bytes) starts like a message: an mbox "From " line or a known header.

    >>> looks_like_email(b"Subject: hello\\n\\nbody"), looks_like_email(b"Thanks a lot.")
    (True, False)
    """
    return bool(_FIRST_LINE.match(raw.lstrip(b"\r\n")))


def message_text(raw):
    """Returns the body text of the raw message `raw` (bytes), without headers.

    Keeps every inline text/plain part (attachments and nested forwarded messages' headers are
    skipped); a message whose text/plain parts are all blank falls back to its text/html parts
    with tags removed, since almost half of SpamAssassin's spam is HTML only. Parts are joined
    with newlines; leading and trailing whitespace is stripped. May return "" (image-only spam);
    the loader reports empty texts.

    >>> message_text(b"Subject: hi\\nContent-Transfer-Encoding: quoted-printable\\n\\ncaf=E9 ok")
    'café ok'
    """
    message = email.message_from_bytes(raw)
    plain, rich = [], []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = _content_type(part)
        if content_type == "text/html":
            rich.append(html_to_text(_payload_text(part)))
        elif content_type == "text/plain" or content_type.startswith("multipart/"):
            # A multipart type on a leaf means its boundary was broken: the raw body is the text.
            plain.append(_payload_text(part))
    plain = [text.strip() for text in plain if text.strip()]
    return "\n".join(plain or [text.strip() for text in rich if text.strip()])


def _content_type(part):
    """The part's type, tolerating headers like "text/plain charset=us-ascii" (no semicolon)."""
    return part.get_content_type().split()[0].rstrip(";")


def _payload_text(part):
    """Decodes a part's transfer encoding, then its charset: UTF-8, declared, else latin-1."""
    data = part.get_payload(decode=True) or b""
    # UTF-8 first: valid UTF-8 is almost never accidental, and the declared charset is often wrong
    # (npm's copy of SpamAssassin read every message as UTF-8 into JSON but kept the old headers).
    for charset in ("utf-8", part.get_content_charset()):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


class _TextExtractor(html.parser.HTMLParser):
    """Collects the visible text of an HTML document (script and style dropped)."""

    _BLOCKS = {"p", "br", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "title"}

    def __init__(self):
        super(_TextExtractor, self).__init__(convert_charrefs=True)
        self.chunks = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append(data)


def html_to_text(markup):
    """Visible text of `markup`, one line per block element, runs of spaces collapsed.

    >>> html_to_text("<p>Buy <b>now</b>&amp;save</p><style>p {}</style>")
    'Buy now&save'
    """
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return "\n".join(line for line in lines if line)
