"""Workarounds for known TF 1.15 / bert-tensorflow quirks, applied in one place.

Call `setup_tf1()` once before building graphs or tokenizing. It is idempotent.
"""
import os
import warnings

from absl import flags

_DONE = False


def mark_absl_flags_parsed():
    """Lets bert.tokenization run outside `tf.app.run`.

    bert-tensorflow 1.0.4's tokenization reads the absl flag --preserve_unused_tokens at call time;
    without parsed flags it raises UnparsedFlagAccessError. Marking the (possibly empty) flag set
    as parsed keeps every flag at its default and leaves flags a CLI parsed itself untouched.
    """

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def quiet_tf_logs(level="WARN"):
    """Silences TF 1.15's C++ banner and its wall of deprecation warnings (contrib, compat.v1)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)  # numpy dtype aliases in TF 1.15
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # Imported here, after TF_CPP_MIN_LOG_LEVEL is set: the C++ banner is printed on import.
    import tensorflow as tf

    try:  # TF 1.15 prints deprecation notices through this module; turn them off.
        from tensorflow.python.util import deprecation

        deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
    except ImportError:  # pragma: no cover - layout of other TF builds
        pass
    try:  # ... and "The name tf.X is deprecated" through the v1 module wrapper.
        from tensorflow.python.util import module_wrapper

        module_wrapper._PER_MODULE_WARNING_LIMIT = 0  # pylint: disable=protected-access
    except ImportError:  # pragma: no cover
        pass
    tf.compat.v1.logging.set_verbosity(getattr(tf.compat.v1.logging, level))


def setup_tf1(log_level="WARN"):
    """Applies every workaround: quiet logs, absl flags usable by bert.tokenization."""
    global _DONE
    if _DONE:
        return
    quiet_tf_logs(log_level)
    mark_absl_flags_parsed()
    _DONE = True
