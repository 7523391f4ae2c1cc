"""Atomic file writes: a file is either the complete new version or the previous one, never half.

Contract: :func:`atomic_path` (and :func:`atomic_open`, :func:`write_text_atomic` built on it)
hand out a temporary name in the destination's folder; only when the writer has finished does
``os.replace`` put the file in place (an atomic rename on POSIX and Windows within one file
system). If writing fails -- disk full, quota, an exception in the writer, an interrupt -- the
temporary file is removed and the previous file, if any, is left intact. An ``OSError`` is raised
again as one line naming the destination file, with its ``errno`` kept. Every artefact the
package writes (models, sentence stores, embeddings, reports, figures, CLI outputs) goes through
here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_open", "atomic_path", "save_figure_atomic", "temporary_path", "write_error",
           "write_text_atomic"]

# mkstemp creates files readable by their owner only; the files written here get the permissions
# an ordinary open() would give them. The process's umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_error(path, error, what="file"):
    """The one-line ``OSError`` raised when writing ``path`` failed: names the file, keeps ``errno``."""
    reason = error.strerror or str(error) or type(error).__name__
    return OSError(error.errno, f"could not write {path}: {reason}; the previous {what}, if any, is unchanged")


def temporary_path(path):
    """A new empty file next to ``path`` (hidden name ending in ``.tmp``), with ordinary permissions.

    For writers of several files that are put in place together (the sentence store); single
    files use :func:`atomic_path`.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)
    except BaseException:
        _remove(temporary)
        raise
    return Path(temporary)


@contextlib.contextmanager
def atomic_path(path):
    """Context manager: a temporary path to write to, moved onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        Destination file. Its folder must exist.

    Yields
    ------
    pathlib.Path
        A fresh, empty file's path in the same folder (a hidden name ending in ``.tmp``).

    Raises
    ------
    OSError
        If writing or the final rename fails; the message names ``path`` and says the previous
        file is unchanged. The temporary file is removed.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from heartlang_sk.io.atomic import atomic_path
    >>> target = Path(tempfile.mkdtemp()) / "Z.npy"
    >>> with atomic_path(target) as temporary:
    ...     with open(temporary, "wb") as handle:
    ...         np.save(handle, np.arange(3))
    >>> np.load(target).tolist(), sorted(p.name for p in target.parent.iterdir())
    ([0, 1, 2], ['Z.npy'])
    """
    path = Path(path)
    try:
        temporary = temporary_path(path)
    except OSError as error:
        raise write_error(path, error) from error
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise write_error(path, error) from error
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """Context manager: :func:`open` on a temporary file that replaces ``path`` when the block succeeds.

    The data are flushed to disk (``fsync``) before the rename, so a power cut cannot leave an
    empty file under the final name.

    Parameters
    ----------
    path : str or path-like
    mode : {"wb", "w"}, default="wb"
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``, ...).

    Examples
    --------
    >>> import tempfile, joblib
    >>> from pathlib import Path
    >>> from heartlang_sk.io.atomic import atomic_open
    >>> target = Path(tempfile.mkdtemp()) / "model.joblib"
    >>> with atomic_open(target) as handle:
    ...     joblib.dump({"a": 1}, handle)
    >>> joblib.load(target)
    {'a': 1}
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    with atomic_path(path) as temporary:
        with open(temporary, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_text_atomic(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "results.md"
    >>> write_text_atomic(target, "| a |\\n")
    >>> target.read_text()
    '| a |\\n'
    """
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


def save_figure_atomic(fig, path, **kwargs):
    """``fig.savefig(path, **kwargs)``, atomically; the format comes from ``path``'s extension.

    Examples
    --------
    >>> import tempfile, matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib import pyplot as plt
    >>> from pathlib import Path
    >>> fig = plt.figure()
    >>> target = Path(tempfile.mkdtemp()) / "curve.png"
    >>> save_figure_atomic(fig, target, dpi=50)
    >>> target.read_bytes()[1:4]
    b'PNG'
    """
    suffix = Path(path).suffix.lstrip(".").lower()
    kwargs.setdefault("format", suffix or None)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, **kwargs)
