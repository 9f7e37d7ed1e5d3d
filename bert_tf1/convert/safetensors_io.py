"""Reads and writes the safetensors format with numpy alone (no `safetensors`/torch package here).

The format (https://huggingface.co/docs/safetensors): an unsigned 64-bit little-endian header
length N, N bytes of UTF-8 JSON, then the tensor bytes. The JSON maps each tensor name to
{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets relative to the byte after
the header, little-endian, C order) and may hold "__metadata__": {str: str}. Tensors must cover
the data buffer exactly, without overlap.

Supported dtypes: F32, F16, BF16 (read as float32, since numpy has no bfloat16), I64, I32. Every
malformed header raises BertTF1Error naming the file, so a truncated download fails with a message
rather than garbage weights.
"""
import json
import struct

import numpy as np

from bert_tf1.errors import BertTF1Error

METADATA_KEY = "__metadata__"
# safetensors dtype -> numpy dtype of the stored bytes (BF16 is read as raw uint16).
_STORED = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4"}
_FROM_NUMPY = {"float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32"}
# A header larger than this is corrupt, not a model (the reference implementation caps at 100 MB).
MAX_HEADER_BYTES = 100 * 1024 * 1024


def _fail(path, message):
    raise BertTF1Error("%s: not a valid safetensors file: %s" % (path, message))


def read_header(path):
    """Reads and validates the header of a safetensors file without loading tensor data.

    Args:
      path: local file (HuggingFace model directories are local downloads).

    Returns:
      (entries, metadata, data_start): entries is {name: {"dtype", "shape", "data_offsets"}},
      metadata the "__metadata__" dict (or {}), data_start the file offset of the data buffer.

    Raises:
      BertTF1Error naming `path` when the header is truncated, not JSON, or inconsistent.
    """
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        file_size = handle.tell()
        handle.seek(0)
        if file_size < 8:
            _fail(path, "file is %d bytes, shorter than the 8-byte header length" % file_size)
        (header_size,) = struct.unpack("<Q", handle.read(8))
        if header_size > min(MAX_HEADER_BYTES, file_size - 8):
            _fail(path, "header length %d does not fit in a file of %d bytes (truncated or not "
                  "safetensors)" % (header_size, file_size))
        raw = handle.read(header_size)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        _fail(path, "header is not UTF-8 JSON (%s)" % error)
    if not isinstance(header, dict):
        _fail(path, "header must be a JSON object, found %s" % type(header).__name__)
    metadata = header.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        _fail(path, "%s must map strings to strings" % METADATA_KEY)
    data_size = file_size - 8 - header_size
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            _fail(path, "tensor %r: expected keys dtype, shape, data_offsets, found %r"
                  % (name, entry))
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _STORED:
            _fail(path, "tensor %r: dtype %r is not supported (supported: %s)"
                  % (name, dtype, ", ".join(sorted(_STORED))))
        if not (isinstance(shape, list) and all(_is_count(d) for d in shape)):
            _fail(path, "tensor %r: shape must be a list of non-negative integers, found %r"
                  % (name, shape))
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
                and offsets[0] <= offsets[1] <= data_size):
            _fail(path, "tensor %r: data_offsets %r outside the %d-byte data buffer"
                  % (name, offsets, data_size))
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(_STORED[dtype]).itemsize
        if offsets[1] - offsets[0] != expected:
            _fail(path, "tensor %r: %s %s needs %d bytes, data_offsets %r hold %d"
                  % (name, dtype, shape, expected, offsets, offsets[1] - offsets[0]))
        spans.append((offsets[0], offsets[1], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            _fail(path, "tensor %r starts at byte %d of the data buffer, expected %d (tensors "
                  "must cover the buffer without gaps or overlap)" % (name, begin, position))
        position = end
    if position != data_size:
        _fail(path, "tensors cover %d bytes but the data buffer has %d" % (position, data_size))
    return header, metadata, 8 + header_size


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load_file(path):
    """Loads every tensor of a safetensors file.

    F16 stays float16; BF16 becomes float32 (exactly: bfloat16 is float32's upper 16 bits).

    >>> tensors, metadata = load_file("model.safetensors")   # doctest: +SKIP
    >>> tensors["embeddings.word_embeddings.weight"].shape    # doctest: +SKIP
    (30522, 384)

    Returns:
      (tensors, metadata): {name: numpy array of the stored shape}, {str: str}.
    """
    entries, metadata, data_start = read_header(path)
    with open(path, "rb") as handle:
        handle.seek(data_start)
        data = handle.read()
    tensors = {}
    for name, entry in entries.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data, dtype=_STORED[entry["dtype"]], count=(end - begin) // np.dtype(
            _STORED[entry["dtype"]]).itemsize, offset=begin)
        if entry["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array.reshape(entry["shape"]).astype(array.dtype.newbyteorder("="))
    return tensors, metadata


def save_file(tensors, path, metadata=None, float_dtype=None):
    """Writes numpy arrays as a safetensors file (tensors in sorted name order, like HF's writer).

    Args:
      tensors: {name: numpy array} of float32, float16, int64 or int32.
      path: local file to write.
      metadata: optional {str: str} stored as "__metadata__" (HF writes {"format": "pt"}).
      float_dtype: None keeps each array's dtype; "F32", "F16" or "BF16" stores every floating
        array in that dtype (BF16 truncates float32 to its upper 16 bits, round-to-nearest-even).

    Raises:
      BertTF1Error on an unsupported dtype or a bad metadata value.
    """
    header = {}
    chunks = []
    position = 0
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise BertTF1Error("%s: safetensors metadata must map strings to strings" % path)
        header[METADATA_KEY] = dict(metadata)
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        if float_dtype is not None and array.dtype.kind == "f":
            dtype = float_dtype
        else:
            dtype = _FROM_NUMPY.get(array.dtype.name)
        if dtype not in _STORED:
            raise BertTF1Error("%s: tensor %r has dtype %s; safetensors_io writes %s"
                               % (path, name, array.dtype, ", ".join(sorted(_STORED))))
        if dtype == "BF16":
            bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
            rounded = bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))
            raw = (rounded >> 16).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(array, dtype=_STORED[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": [int(d) for d in array.shape],
                        "data_offsets": [position, position + len(raw)]}
        chunks.append(raw)
        position += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad the header with spaces to an 8-byte boundary, as the reference writer does.
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        for raw in chunks:
            handle.write(raw)
