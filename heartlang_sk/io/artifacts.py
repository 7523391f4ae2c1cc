"""Files the toolkit writes and reads back: fitted models and sentences saved with joblib, and
embeddings.

- :func:`load_artifact` -- a joblib file saved by the toolkit, checked to be what is expected;
- :func:`check_embeddings_path` / :func:`save_embeddings` -- embeddings to CSV, Parquet or
  ``.npy``, chosen by the file extension.

Every user mistake (missing path, wrong kind of file) raises :class:`FileNotFoundError` or
:class:`ValueError` with a message naming the file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_open, atomic_path

__all__ = ["EMBEDDING_FORMATS", "check_embeddings_path", "load_artifact", "save_embeddings"]

#: File extensions :func:`save_embeddings` writes.
EMBEDDING_FORMATS = (".csv", ".parquet", ".npy")


def load_artifact(path, expected, what=None):
    """Load an object saved with joblib and check its type.

    Parameters
    ----------
    path : str or path-like
    expected : type or tuple of types
        What the file must hold.
    what : str, optional
        The expected object in messages, with its article (``"a fitted ECGVocabulary"``);
        default ``"a <type name>"``.

    Returns
    -------
    object

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a joblib file or holds another kind of object.

    Examples
    --------
    >>> import tempfile, joblib
    >>> from pathlib import Path
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.io import load_artifact
    >>> path = Path(tempfile.mkdtemp()) / "tokenizer.joblib"
    >>> _ = joblib.dump(QRSTokenizer(sampling_rate=500), path)
    >>> load_artifact(path, QRSTokenizer)
    QRSTokenizer(sampling_rate=500)
    """
    import joblib

    path = Path(path)
    what = what or "a " + (expected.__name__ if isinstance(expected, type) else
                           " or ".join(t.__name__ for t in expected))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; expected {what}, saved with joblib")
    try:
        value = joblib.load(path)
    except Exception as error:  # unpickling fails in many ways on a foreign file
        raise ValueError(f"{path}: expected {what}, saved with joblib, but joblib cannot read "
                         f"it ({type(error).__name__}: {error})") from error
    if not isinstance(value, expected):
        raise ValueError(f"{path}: expected {what}, but it holds a {type(value).__name__}")
    return value


def check_embeddings_path(path):
    """Check that embeddings can be written to ``path`` (its format) before computing them.

    Parameters
    ----------
    path : str or path-like
        Ends with ``.csv``, ``.parquet`` or ``.npy``.

    Returns
    -------
    str
        The format: ``"csv"``, ``"parquet"`` or ``"npy"``.

    Raises
    ------
    ValueError
        On another extension.
    ImportError
        For ``.parquet`` without pyarrow.

    Examples
    --------
    >>> from heartlang_sk.io import check_embeddings_path
    >>> check_embeddings_path("embeddings.csv")
    'csv'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in EMBEDDING_FORMATS:
        raise ValueError(f"{path}: unknown embeddings format {suffix or '(no extension)'!r}; use "
                         f"one of {', '.join(EMBEDDING_FORMATS)}")
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError("writing Parquet needs pyarrow (pip install pyarrow); or write .csv or "
                          ".npy")
    return suffix[1:]


def save_embeddings(Z, path, index=None, columns=None):
    """Write embeddings to CSV, Parquet or ``.npy``, chosen by the extension of ``path``.

    Parameters
    ----------
    Z : array-like of shape (n_records, n_features)
    path : str or path-like
        ``.csv`` or ``.parquet`` (a table: a ``record`` column, then one column per feature) or
        ``.npy`` (the bare float32 array).
    index : sequence of str, optional
        Record names for the ``record`` column; default ``0 .. n-1``.
    columns : sequence of str, optional
        Feature names; default ``e0, e1, ...``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from pathlib import Path
    >>> from heartlang_sk.io import save_embeddings
    >>> path = save_embeddings(np.eye(2), Path(tempfile.mkdtemp()) / "Z.csv", index=["a", "b"])
    >>> pd.read_csv(path).columns.tolist()
    ['record', 'e0', 'e1']
    """
    kind = check_embeddings_path(path)
    path = Path(path)
    Z = np.asarray(Z, dtype=np.float32)
    if Z.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n_records, n_features), got shape {Z.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "npy":
        with atomic_open(path) as handle:
            np.save(handle, Z)
        return path
    names = [str(c) for c in columns] if columns is not None else [f"e{i}" for i in range(Z.shape[1])]
    frame = pd.DataFrame(Z, columns=names)
    frame.insert(0, "record", list(index) if index is not None else np.arange(len(Z)))
    with atomic_path(path) as temporary:
        if kind == "csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
    return path
