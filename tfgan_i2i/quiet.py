"""TensorFlow's C++ log lines, hidden by the command-line tools unless the user asks for them (--verbose)."""
from __future__ import annotations

import os
import sys


def quiet_tensorflow(verbose: bool = False) -> None:
    """Load TensorFlow without its C++ banners and INFO/WARNING/ERROR log lines.

    Sets TF_CPP_MIN_LOG_LEVEL=3 (which also hides Grappler's harmless "remapper failed" line) and imports
    TensorFlow with file descriptor 2 pointed at /dev/null: the oneDNN and CPU-feature banners are written by
    static initialisers before the log level is read, once per TensorFlow library. Python exceptions and warnings
    raised after the import still reach stderr. Does nothing with `verbose`, when the user set
    TF_CPP_MIN_LOG_LEVEL, or when TensorFlow is already loaded.
    """
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
