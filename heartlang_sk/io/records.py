"""Raw ECG records in: :func:`read_records` reads a folder of WFDB records or a ``.npy`` array into
signals, sampling rate and record names (in memory, or lazily chunk by chunk);
:func:`read_windows` reads records of any length as windows of the model's length.

Every user mistake (missing path, wrong kind of file, inconsistent records) raises
:class:`FileNotFoundError` or :class:`ValueError` with a message naming the file. What the toolkit
writes (fitted models, embeddings) is read and written by :mod:`heartlang_sk.io.artifacts`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

# Saved artefacts moved to artifacts.py; still importable here.
from .artifacts import (EMBEDDING_FORMATS, check_embeddings_path, load_artifact,  # noqa: F401
                        save_embeddings)

__all__ = ["read_records", "read_windows"]

_UNITS_TO_MV = {"uv": 1e-3, "µv": 1e-3, "μv": 1e-3}  # other units are kept as they are


def _wfdb_headers(folder):
    return sorted(folder.rglob("*.hea"))


def _read_wfdb(header):
    import wfdb

    base = header.with_suffix("")
    try:
        record = wfdb.rdrecord(str(base))
    except Exception as error:  # wfdb raises many types for a damaged or missing .dat
        raise ValueError(f"{header}: cannot read the WFDB record ({type(error).__name__}: "
                         f"{error})") from error
    if record.p_signal is None:
        raise ValueError(f"{header}: the record holds no signal")
    signal = np.asarray(record.p_signal, dtype=np.float32).T
    for channel, unit in enumerate(record.units or []):
        scale = _UNITS_TO_MV.get(str(unit).strip().lower())
        if scale is not None:
            signal[channel] *= scale
    return signal, float(record.fs), [str(name) for name in record.sig_name]


def read_records(path, sampling_rate=None, max_records=None, verbose=False, lazy=False):
    """Read raw ECG records: a folder of WFDB records or a ``.npy`` array.

    A folder is searched recursively for WFDB headers (``*.hea``, read with ``wfdb`` with the
    signal files they name: ``.dat``, or ``.mat`` as in the PhysioNet/CinC Challenge records), in
    sorted path order; the sampling rate comes from the headers and must be the same for every
    record, as must the leads. Records of different lengths are cropped to the shortest, with a
    warning saying how much signal that drops; :func:`read_windows` keeps all of it as windows.
    Signals in µV are converted to mV. A ``.npy`` file holds an array
    of shape ``(n_records, n_leads, n_samples)`` (or ``(n_records, n_samples)``, one lead, returned
    as ``(n_records, 1, n_samples)``; 12 rows are refused as probably one 12-lead record) and
    carries no sampling rate, so ``sampling_rate`` is required.

    Parameters
    ----------
    path : str or path-like
        A folder (e.g. a PTB-XL ``records100/`` folder, or the PTB-XL root when it holds one
        sampling rate) or a ``.npy`` file.
    sampling_rate : float, optional
        Hz. Required for ``.npy``; for WFDB records it must match the headers if given.
    max_records : int, optional
        Read only the first records (in sorted order).
    verbose : bool, default=False
        Progress bar over the WFDB records.
    lazy : bool, default=False
        Return a WFDB folder as a :class:`~heartlang_sk.io.store.WFDBRecords` reader instead of
        reading it: records are read when sliced (e.g. chunk by chunk by
        :func:`~heartlang_sk.io.store.tokenize_to_store`), NaN samples become 0, and every record must
        have the first record's sampling rate and length (no cropping).

    Returns
    -------
    X : ndarray of shape (n_records, n_leads, n_samples), or WFDBRecords
        float32 for WFDB records (a lazy reader with ``lazy=True``); a ``.npy`` array keeps its
        dtype (memory-mapped).
    sampling_rate : float
    names : list of str
        One per record: the record path relative to ``path`` (WFDB) or the row number (``.npy``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        On another kind of file, a folder without WFDB records, records of different sampling
        rates or leads, a missing ``sampling_rate`` for ``.npy``, or a wrongly shaped array.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.io import read_records
    >>> X, y = make_ecg(3, random_state=0)
    >>> path = Path(tempfile.mkdtemp()) / "ecg.npy"
    >>> np.save(path, X)
    >>> signals, rate, names = read_records(path, sampling_rate=100)
    >>> signals.shape, rate, names
    ((3, 12, 1000), 100.0, ['0', '1', '2'])
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if max_records is not None and max_records < 1:
        raise ValueError(f"max_records must be a positive integer, got {max_records!r}")
    if path.is_dir():
        if lazy:
            return _wfdb_folder_reader(path, sampling_rate, max_records)
        return _read_wfdb_folder(path, sampling_rate, max_records, verbose)
    return _read_npy(path, sampling_rate, max_records)


def _read_npy(path, sampling_rate, max_records):
    if path.suffix.lower() != ".npy":
        raise ValueError(f"{path}: expected a folder of WFDB records (.hea with .dat or .mat) or a "
                         f".npy array of shape (n_records, n_leads, n_samples), got a "
                         f"{path.suffix or 'plain'} file")
    if sampling_rate is None:
        raise ValueError(f"{path}: a .npy array holds no sampling rate; give it (--sampling-rate)")
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as error:  # a damaged or non-numpy file
        raise ValueError(f"{path}: not a readable .npy array ({error})") from error
    if X.ndim not in (2, 3):
        raise ValueError(f"{path}: expected an array of shape (n_records, n_leads, n_samples), got "
                         f"shape {X.shape}")
    if X.ndim == 2:
        if X.shape[0] == 12:
            raise ValueError(f"{path}: a 2-D array of shape {X.shape} reads as 12 one-lead records; if "
                             f"it is one 12-lead record, save X[None] (shape (1, {X.shape[0]}, "
                             f"{X.shape[1]})); one-lead records of 12 rows: save X[:, None]")
        X = X[:, None, :]  # one-lead records
    if max_records is not None:
        X = X[:max_records]
    return X, float(sampling_rate), [str(i) for i in range(len(X))]


def _headers_to_read(folder, max_records):
    headers = _wfdb_headers(folder)
    if not headers:
        raise ValueError(f"{folder}: no WFDB records (*.hea) found in this folder or below")
    return headers[:max_records]


def _check_asked_rate(folder, rate, sampling_rate):
    if sampling_rate is not None and not np.isclose(float(sampling_rate), rate):
        raise ValueError(f"{folder}: the WFDB headers give {rate:g} Hz, but sampling rate "
                         f"{sampling_rate:g} was asked for")


def _wfdb_folder_reader(folder, sampling_rate, max_records):
    from .wfdb_records import WFDBRecords

    names = [str(header.relative_to(folder).with_suffix(""))
             for header in _headers_to_read(folder, max_records)]
    reader = WFDBRecords(folder, names)
    _check_asked_rate(folder, reader.sampling_rate, sampling_rate)
    return reader, reader.sampling_rate, names


def _read_wfdb_signals(folder, sampling_rate, max_records, verbose):
    """Every record of a WFDB folder at its own length: list of signals, rate, names."""
    headers = _headers_to_read(folder, max_records)
    from tqdm.auto import tqdm

    signals, rates, leads = [], {}, {}
    for header in tqdm(headers, desc="read WFDB", unit="record", disable=not verbose):
        signal, rate, names = _read_wfdb(header)
        signals.append(signal)
        rates.setdefault(rate, header)
        leads.setdefault(tuple(names), header)
    if len(rates) > 1:
        examples = ", ".join(f"{rate:g} Hz ({header.relative_to(folder)})"
                             for rate, header in rates.items())
        raise ValueError(f"{folder}: records have different sampling rates: {examples}; point at a "
                         f"folder of one rate (e.g. records100/)")
    if len(leads) > 1:
        examples = "; ".join(f"{list(names)} ({header.relative_to(folder)})"
                             for names, header in leads.items())
        raise ValueError(f"{folder}: records have different leads: {examples}")
    rate = next(iter(rates))
    _check_asked_rate(folder, rate, sampling_rate)
    names = [str(header.relative_to(folder).with_suffix("")) for header in headers]
    return signals, rate, names


def _duration(seconds):
    return f"{seconds / 60:.3g} min" if seconds >= 120 else f"{seconds:.3g} s"


def _read_wfdb_folder(folder, sampling_rate, max_records, verbose):
    signals, rate, names = _read_wfdb_signals(folder, sampling_rate, max_records, verbose)
    lengths = np.array([s.shape[1] for s in signals])
    shortest = int(lengths.min())
    if lengths.max() != shortest:
        dropped = 1 - shortest * len(lengths) / lengths.sum()
        warnings.warn(f"records are {_duration(shortest / rate)} to "
                      f"{_duration(lengths.max() / rate)} long; all are cropped to the shortest, "
                      f"{shortest} samples ({_duration(shortest / rate)}), which drops "
                      f"{dropped:.0%} of the signal "
                      f"({_duration((lengths.sum() - shortest * len(lengths)) / rate)} of "
                      f"{_duration(lengths.sum() / rate)}); read_windows (command line: --window "
                      f"10) keeps all of it as windows of the model's length", UserWarning,
                      stacklevel=3)
    X = np.stack([s[:, :shortest] for s in signals])
    return X, rate, names


def read_windows(path, window=10.0, *, stride=None, tail="overlap", sampling_rate=None,
                 max_records=None, verbose=False):
    """Read raw ECG records of any length, cut into windows of ``window`` seconds.

    What :func:`read_records` reads, without cropping: every record is split into consecutive
    windows of the model's length (see :func:`~heartlang_sk.preprocessing.split_windows`), each
    marked with its record name and start. Tokenize ``windows.signals``, mark the sentences with
    ``windows.mark(sentences)``, embed them, and pool the embeddings per record with
    :func:`~heartlang_sk.preprocessing.pool_windows`.

    Parameters
    ----------
    path : str or path-like
        A folder of WFDB records (``.hea`` with ``.dat`` or ``.mat``) or a ``.npy`` array.
    window : float, default=10.0
        Seconds per window.
    stride : float, optional
        Seconds between window starts; default ``window``.
    tail : {"overlap", "drop", "pad"}, default="overlap"
        See :func:`~heartlang_sk.preprocessing.split_windows`.
    sampling_rate, max_records, verbose
        As :func:`read_records`.

    Returns
    -------
    RecordWindows
        ``record_ids`` are the record names (WFDB paths relative to ``path``; row numbers of a
        ``.npy`` array); ``summary()`` gives the windows per record.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(2, duration=30, random_state=0)
    >>> path = Path(tempfile.mkdtemp()) / "ecg.npy"
    >>> np.save(path, X)
    >>> windows = read_windows(path, window=10, sampling_rate=100)
    >>> windows.signals.shape, windows.record_ids.tolist()
    ((6, 12, 1000), ['0', '0', '0', '1', '1', '1'])
    """
    from ..preprocessing.record_windows import split_windows

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if max_records is not None and max_records < 1:
        raise ValueError(f"max_records must be a positive integer, got {max_records!r}")
    if path.is_dir():
        signals, rate, names = _read_wfdb_signals(path, sampling_rate, max_records, verbose)
    else:
        signals, rate, names = _read_npy(path, sampling_rate, max_records)
    return split_windows(signals, rate, window, stride=stride, tail=tail, names=names)

