"""Reads a PyTorch state dict (`torch.save`, e.g. HF's pytorch_model.bin) with numpy alone.

torch is not in this project's Python 3.7 lock, and `torch.load` unpickles arbitrary objects
(a pickle can run any function it names), so this module reads the two formats torch writes with
a restricted unpickler that knows only the handful of globals a state dict needs:

  zip (torch >= 1.6, the default since): a zip archive `<name>/data.pkl` + `<name>/data/<key>`
    (+ `<name>/byteorder`, "little" or "big"; absent before torch 2.1 and then little-endian).
    data.pkl pickles the dict; each tensor is
      torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                                      backward_hooks[, metadata])
    and each storage is a persistent id ("storage", torch.<Type>Storage, key, location, numel)
    whose raw bytes are the record data/<key> (numel elements, C order).
  legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`): one file of consecutive
    pickles: the magic number 0x1950a86a20f9469cfc6c, protocol 1001, a sys_info dict, the object
    (persistent ids ("storage", type, root_key, location, numel, view_metadata)), the sorted list
    of storage keys, then per key an int64 element count and that many elements. HF uploads
    saved before mid-2020 (torch 1.5 and older) are of this kind.

A tensor is storage[offset + sum(i_k * stride_k)] for index (i_0, ...) < size, so views
(slices of a fused qkv tensor, transposes, tied weights sharing one storage) read back exactly.
Every global other than those listed in `_ALLOWED_GLOBALS`, every unknown persistent id and every
tensor reaching outside its storage raises BertTF1Error naming the file (and the tensor); no
pickled code is ever executed. The tar format of torch <= 0.3 and TorchScript archives are
refused with what to do instead.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from bert_tf1.errors import BertTF1Error

# torch.<Name>Storage -> numpy dtype of the stored elements (BFloat16 is read as raw uint16 and
# widened: numpy has no bfloat16). Byte order is applied separately.
STORAGE_DTYPES = {"FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2",
                  "BFloat16Storage": "u2", "LongStorage": "i8", "IntStorage": "i4",
                  "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
                  "BoolStorage": "?"}
LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
LEGACY_PROTOCOL_VERSION = 1001
# A tensor may hold at most this many times the elements of its storage (see tensor_from_storage).
MAX_EXPANSION = 1024
RESAVE_HINT = ("re-save it with torch >= 1.6 where torch is installed: "
               "`torch.save(torch.load(OLD, map_location='cpu'), NEW)`, or as safetensors: "
               "`safetensors.torch.save_file({k: v.contiguous() for k, v in "
               "torch.load(OLD).items()}, 'model.safetensors')`")


class _PickleTampering(Exception):
    """A pickle tried to change an object find_class handed it (BUILD on a global)."""


class _Sealed(object):
    """Refuses pickle's BUILD opcode, which would otherwise set attributes on the object (a
    hostile file could rename a storage type or change a function's defaults, and so change how
    the next tensors -- or the next file -- are read)."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _PickleTampering(type(self).__name__)


class _StorageType(_Sealed):
    """Stands for torch.<name>Storage: only its name (hence dtype) matters here."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Global(_Sealed):
    """A callable allowed global, wrapped so that BUILD cannot reach the function itself."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)


# What a persistent id resolves to: which bytes (key, plus an element offset/count for legacy
# storage views) and how to read them.
_Storage = collections.namedtuple("_Storage", "key type_name numel view_offset view_numel")
# What _rebuild_tensor_v2 returns: materialised later, when the tensor's name is known, so errors
# can name it. A namedtuple (a tuple) cannot be given attributes by a pickle BUILD opcode.
_TensorRef = collections.namedtuple("_TensorRef", "storage offset size stride")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    # requires_grad, hooks and metadata are training-time state: irrelevant to the weights.
    del requires_grad, backward_hooks, metadata
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    # torch 0.4-1.x's pre-v2 form, still found in old legacy files.
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    # torch.save(model.state_dict()) stores detached tensors, but saving parameters directly
    # (a dict of nn.Parameter) wraps each tensor in this call.
    del requires_grad, backward_hooks, state
    return data


# Factories: find_class hands every lookup a new object, so nothing one file does to what it
# was given can outlive that lookup.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): lambda: _Global(collections.OrderedDict),
    ("torch._utils", "_rebuild_tensor_v2"): lambda: _Global(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor"): lambda: _Global(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): lambda: _Global(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): lambda: _Global(_rebuild_parameter),
}
_ALLOWED_GLOBALS.update({("torch", name): (lambda name=name: _StorageType(name))
                         for name in STORAGE_DTYPES})


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict; any other global is refused before it can be called."""

    def __init__(self, stream, path, record, legacy):
        super(_RestrictedUnpickler, self).__init__(stream)
        self.path, self.record, self.legacy = path, record, legacy
        self.storages = {}

    def find_class(self, module, name):
        try:
            factory = _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            factory = None
        if factory is not None:
            return factory()
        hint = ""
        if str(module).startswith(("torch", "numpy")):
            hint = (" (not a plain state dict of dense tensors: save `{name: tensor.contiguous()}`"
                    " or model.state_dict() instead)")
        raise BertTF1Error("%s: refusing to unpickle %s: the global %s.%s is not one a PyTorch "
                           "state dict needs, and unpickling it could run arbitrary code%s"
                           % (self.path, self.record, module, name, hint))

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise BertTF1Error("%s: %s holds an unknown persistent id %r"
                               % (self.path, self.record, pid))
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind == "module":
            raise BertTF1Error("%s holds a pickled nn.Module, not a state dict; load it where "
                               "torch and its code are installed and save model.state_dict()"
                               % self.path)
        expected = 6 if self.legacy else 5
        if kind != "storage" or len(pid) != expected:
            raise BertTF1Error("%s: %s holds an unknown persistent id %r (expected ('storage', "
                               "type, key, location, numel%s))" % (
                                   self.path, self.record, pid,
                                   ", view" if self.legacy else ""))
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise BertTF1Error("%s: %s: storage %r has type %r, not a torch.*Storage class"
                               % (self.path, self.record, key, storage_type))
        if not isinstance(key, str) or not _is_count(numel):
            raise BertTF1Error("%s: %s: malformed storage id %r" % (self.path, self.record, pid))
        view_offset, view_numel = 0, numel
        if self.legacy and pid[5] is not None:
            # Pre-1.0 storage views: (view_key, element offset, element count) into the root.
            view = pid[5]
            if not (isinstance(view, tuple) and len(view) == 3 and _is_count(view[1])
                    and _is_count(view[2]) and view[1] + view[2] <= numel):
                raise BertTF1Error("%s: storage %r has a malformed view %r (root has %d elements)"
                                   % (self.path, key, view, numel))
            view_offset, view_numel = view[1], view[2]
        previous = self.storages.get(key)
        if previous is not None and (previous.type_name, previous.numel) != (
                storage_type.name, numel):
            raise BertTF1Error("%s: storage %r is used as %s[%d] and as %s[%d]" % (
                self.path, key, previous.type_name, previous.numel, storage_type.name, numel))
        self.storages[key] = _Storage(key, storage_type.name, numel, 0, numel)
        return _Storage(key, storage_type.name, numel, view_offset, view_numel)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unpickle(stream, path, record, legacy=False):
    """Runs the restricted unpickler over the next pickle in `stream` (a binary file object);
    returns (object, {key: _Storage})."""
    start = stream.tell()
    unpickler = _RestrictedUnpickler(stream, path, record, legacy)
    try:
        value = unpickler.load()
    except BertTF1Error:
        raise
    except _PickleTampering as error:
        raise BertTF1Error("%s: refusing %s: it tries to set attributes on a %s it unpickled "
                           "(pickle BUILD on a global), which no PyTorch state dict does"
                           % (path, record, error))
    except Exception as error:  # pylint: disable=broad-except
        # Truncated or corrupt pickles raise many types (UnpicklingError, EOFError, ValueError,
        # TypeError from a REDUCE with wrong arguments, ...): all mean "not a valid checkpoint".
        raise BertTF1Error("%s: %s (at byte %d) is not a valid PyTorch pickle (%s: %s); the file "
                           "is truncated or not a PyTorch checkpoint"
                           % (path, record, start, type(error).__name__, error))
    return value, unpickler.storages


def tensor_from_storage(raw, storage, offset, size, stride, byteorder="little", where="tensor"):
    """Builds one tensor from its storage bytes, as torch's as_strided view would, then copies it.

    Args:
      raw: bytes (or memoryview) of the whole (root) storage.
      storage: _Storage describing raw (type_name, numel) and, for legacy views, the element
        range [view_offset, view_offset + view_numel) that the tensor may address.
      offset: int, element offset of the tensor's first element within the view.
      size: tuple of ints, the tensor's shape [d_0, ..., d_{n-1}].
      stride: tuple of ints (same length), element steps per dimension.
      byteorder: "little" or "big", how the storage bytes are ordered.
      where: description used in error messages ("FILE: tensor NAME").

    Returns:
      numpy array of shape `size`, C-contiguous, owning its memory, in native byte order: float32
      for BFloat16, the storage's dtype otherwise.

    Raises:
      BertTF1Error when the byte count disagrees with numel, or size/stride/offset are not
      non-negative ints or address elements outside the storage.
    """
    base = STORAGE_DTYPES[storage.type_name]
    dtype = np.dtype(base if base in ("i1", "u1", "?") else ("<" if byteorder == "little"
                                                             else ">") + base)
    if len(raw) != storage.numel * dtype.itemsize:
        raise BertTF1Error("%s: its storage %r holds %d bytes, but %s[%d] needs %d" % (
            where, storage.key, len(raw), storage.type_name, storage.numel,
            storage.numel * dtype.itemsize))
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and all(map(_is_count, size)) and all(map(_is_count, stride)) and _is_count(offset)):
        raise BertTF1Error("%s: malformed size %r / stride %r / storage offset %r" % (
            where, size, stride, offset))
    elements = 1
    for n in size:  # Python ints: np.prod would wrap around on a hostile size
        elements *= n
    # Zero strides let a tiny storage claim a huge tensor (torch's expand); copying one from a
    # hostile or corrupt file could exhaust memory. Real state dicts expand buffers by far less.
    if elements > max(storage.view_numel, 1) * MAX_EXPANSION:
        raise BertTF1Error("%s: size %s expands a storage of %d elements to %d (more than %dx; "
                           "corrupt file?)" % (where, list(size), storage.view_numel, elements,
                                               MAX_EXPANSION))
    flat = np.frombuffer(raw, dtype=dtype)[storage.view_offset:
                                           storage.view_offset + storage.view_numel]
    if 0 in size:
        array = np.zeros(size, dtype)
    else:
        last = offset + sum((n - 1) * step for n, step in zip(size, stride))
        if last >= storage.view_numel:
            raise BertTF1Error("%s: size %s, stride %s and storage offset %d reach element %d of "
                               "a storage of %d (corrupt file)" % (
                                   where, list(size), list(stride), offset, last,
                                   storage.view_numel))
        # Bounds are checked above: as_strided itself would read whatever memory lies beyond.
        array = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[step * dtype.itemsize for step in stride],
            writeable=False).copy()
    array = array.astype(dtype.newbyteorder("="), copy=False)
    if storage.type_name == "BFloat16Storage":
        # bfloat16 is float32's upper 16 bits: widening is exact.
        array = (array.astype(np.uint32) << 16).view(np.float32)
    # Not np.ascontiguousarray: it turns 0-d tensors into shape [1].
    return array if array.flags.c_contiguous else array.copy()


def _state_dict_refs(value, path):
    """Checks the unpickled object is {str: tensor}; returns it as a plain dict."""
    if not isinstance(value, dict):
        raise BertTF1Error("%s holds a pickled %s, not a state dict {name: tensor}"
                           % (path, type(value).__name__))
    nested = sorted(key for key, item in value.items() if isinstance(item, dict))
    if nested:
        raise BertTF1Error("%s holds a training checkpoint, not a state dict: key(s) %s are "
                           "dicts (save the model's state dict alone, e.g. checkpoint[%r])"
                           % (path, ", ".join(map(str, nested)), nested[0]))
    wrong = sorted("%s (%s)" % (key, type(item).__name__) for key, item in value.items()
                   if not isinstance(key, str) or not isinstance(item, _TensorRef))
    if wrong:
        raise BertTF1Error("%s: state dict entries that are not named tensors: %s"
                           % (path, ", ".join(wrong)))
    # _rebuild_tensor_v2 accepts any arguments a pickle gives it. The storage is used before
    # tensor_from_storage (which checks offset, size and stride) is reached: check it here.
    for key in sorted(value):
        if not isinstance(value[key].storage, _Storage):
            raise BertTF1Error("%s: tensor %s: its storage is a %s, not a persistent storage "
                               "record" % (path, key, type(value[key].storage).__name__))
    return dict(value)


def _load_zip(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise BertTF1Error("%s: not a readable zip archive (%s)" % (path, error))
    with archive:
        names = set(archive.namelist())
        pickles = sorted(name for name in names
                         if name.endswith("/data.pkl") and name.count("/") == 1)
        if len(pickles) != 1:
            if any(name.endswith("/constants.pkl") or "/code/" in name for name in names):
                raise BertTF1Error("%s is a TorchScript archive (torch.jit.save), not a state "
                                   "dict: save model.state_dict() with torch.save" % path)
            raise BertTF1Error("%s: a zip archive with %s, expected exactly one <name>/data.pkl "
                               "(is this a PyTorch checkpoint?)" % (
                                   path, "data.pkl records %s" % pickles if pickles
                                   else "no data.pkl"))
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise BertTF1Error("%s: %sbyteorder is %r, expected 'little' or 'big'"
                                   % (path, prefix, byteorder))
        refs, _ = _unpickle(io.BytesIO(archive.read(pickles[0])), path, pickles[0])
        refs = _state_dict_refs(refs, path)
        raw = {}
        tensors = {}
        for name in sorted(refs):
            ref = refs[name]
            where = "%s: tensor %s" % (path, name)
            record = "%sdata/%s" % (prefix, ref.storage.key)
            if ref.storage.key not in raw:
                if record not in names:
                    raise BertTF1Error("%s: its storage record %s is missing from the archive"
                                       % (where, record))
                info = archive.getinfo(record)
                expected = ref.storage.numel * np.dtype(
                    STORAGE_DTYPES[ref.storage.type_name]).itemsize
                # Checked before reading, so a corrupt header cannot make us inflate gigabytes.
                if info.file_size != expected:
                    raise BertTF1Error("%s: record %s holds %d bytes, but %s[%d] needs %d" % (
                        where, record, info.file_size, ref.storage.type_name,
                        ref.storage.numel, expected))
                raw[ref.storage.key] = archive.read(record)
            tensors[name] = tensor_from_storage(raw[ref.storage.key], ref.storage, ref.offset,
                                                ref.size, ref.stride, byteorder, where)
    return tensors


def _load_legacy(path, data):
    stream = io.BytesIO(data)
    # Storage bytes are sliced from the file's buffer, not copied: BERT-Large is 1.3 GB.
    buffer = memoryview(data)

    def next_pickle(what, legacy=False):
        # One unpickler per pickle, all reading the same stream in turn, as torch.load does.
        return _unpickle(stream, path, what, legacy)

    magic, _ = next_pickle("the legacy header")
    if magic != LEGACY_MAGIC_NUMBER:
        raise BertTF1Error("%s: a pickle, but not a PyTorch checkpoint (its first object is not "
                           "torch's magic number)" % path)
    protocol, _ = next_pickle("the legacy protocol version")
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise BertTF1Error("%s: legacy protocol version %r, expected %d"
                           % (path, protocol, LEGACY_PROTOCOL_VERSION))
    sys_info, _ = next_pickle("the legacy sys_info")
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise BertTF1Error("%s was written on a big-endian machine (sys_info %r): %s"
                           % (path, sys_info, RESAVE_HINT))
    refs, storages = next_pickle("the state dict", legacy=True)
    refs = _state_dict_refs(refs, path)
    keys, _ = next_pickle("the storage key list")
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise BertTF1Error("%s: the storage key list %r does not match the storages the tensors "
                           "use %r" % (path, keys, sorted(storages)))
    raw = {}
    for key in keys:
        storage = storages[key]
        itemsize = np.dtype(STORAGE_DTYPES[storage.type_name]).itemsize
        header = stream.read(8)
        if len(header) != 8:
            raise BertTF1Error("%s: truncated: storage %r has no element count" % (path, key))
        (count,) = struct.unpack("<q", header)
        if count != storage.numel:
            raise BertTF1Error("%s: storage %r holds %d elements, the pickle says %d"
                               % (path, key, count, storage.numel))
        start = stream.tell()
        raw[key] = buffer[start:start + count * itemsize]
        if len(raw[key]) != count * itemsize:
            raise BertTF1Error("%s: truncated: storage %r has %d of its %d bytes"
                               % (path, key, len(raw[key]), count * itemsize))
        stream.seek(start + count * itemsize)
    if stream.read(1):
        raise BertTF1Error("%s: unexpected bytes after the last storage" % path)
    return {name: tensor_from_storage(raw[ref.storage.key], ref.storage, ref.offset, ref.size,
                                      ref.stride, "little", "%s: tensor %s" % (path, name))
            for name, ref in refs.items()}


def load_state_dict(path):
    """Loads every tensor of a PyTorch state dict file (zip or legacy format) as numpy arrays.

    >>> tensors = load_state_dict("pytorch_model.bin")                # doctest: +SKIP
    >>> tensors["bert.embeddings.word_embeddings.weight"].shape       # doctest: +SKIP
    (30522, 768)

    Args:
      path: local file written by torch.save({name: tensor}) (HF's pytorch_model.bin or a shard).

    Returns:
      {name: numpy array of the tensor's shape}: float32/float64/float16 (BFloat16 -> float32),
      int64/int32/int16/int8/uint8 or bool, C-contiguous copies (views and shared storages are
      resolved; changing one array never changes another).

    Raises:
      BertTF1Error naming the file (and the tensor) for anything but a state dict of dense CPU
      tensors: other pickled objects or globals, TorchScript, the pre-0.4 tar format, truncation.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(262)
            if zipfile.is_zipfile(handle):
                return _load_zip(path)
            handle.seek(0)
            data = handle.read()
    except OSError as error:
        raise BertTF1Error("%s: cannot read (%s)" % (path, error))
    # tar's "ustar" magic sits at byte 257: torch <= 0.3 wrote checkpoints as tar archives.
    if head[257:262] == b"ustar":
        raise BertTF1Error("%s is in torch's pre-0.4 tar format, which is not supported: %s"
                           % (path, RESAVE_HINT))
    if not data.startswith(b"\x80"):
        raise BertTF1Error("%s is not a PyTorch checkpoint: neither a zip archive (torch >= 1.6) "
                           "nor a pickle stream (older torch)%s" % (
                               path, " (it looks like safetensors: name it model.safetensors)"
                               if data[8:9] == b"{" else ""))
    return _load_legacy(path, data)
