"""Long and unequal records as windows of the model's length, and embeddings pooled back per record.

HeartLang reads 10-s records. A Holter or CPSC2021 recording of minutes, or a folder of records
of different lengths, is cut into consecutive windows of one length (:func:`split_windows`); every
window becomes one sentence, marked with its record and start
(:meth:`ECGSentences.with_windows <heartlang_sk.ECGSentences.with_windows>`), and the window
embeddings are averaged (or max-pooled) back to one vector per record (:func:`pool_windows`).

Contract: no signal is dropped without being counted. By default (``tail="overlap"``) the last
window of a record ends at the record's end, overlapping the one before, so every sample is in a
window and nothing is padded; ``tail="drop"`` leaves the remainder out and reports it in
``RecordWindows.dropped_seconds``; ``tail="pad"`` zero-pads it. A record shorter than one window is
zero-padded to the window (with a warning naming how many), so every record gives at least one
window.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np
import pandas as pd

__all__ = ["RecordWindows", "pool_windows", "split_windows"]

_TAILS = ("overlap", "drop", "pad")
_POOLS = ("mean", "max")


@dataclasses.dataclass(frozen=True, eq=False)
class RecordWindows:
    """Windows cut from records by :func:`split_windows` (or :func:`heartlang_sk.io.read_windows`).

    Attributes
    ----------
    signals : ndarray of shape (n_windows, n_leads, window_samples)
        The windows, ready for a tokenizer.
    sampling_rate : float
        Hz, of ``signals``.
    record_ids : ndarray of shape (n_windows,)
        Source record of each window (the record's name, or its position in the input).
    window_starts : ndarray of shape (n_windows,), float
        Second of the source record each window starts at.
    records : ndarray of shape (n_records,)
        The record ids in input order, one each.
    durations : ndarray of shape (n_records,), float
        Length of each record in seconds.
    n_windows : ndarray of shape (n_records,), int
        Windows each record gave.
    dropped_seconds : ndarray of shape (n_records,), float
        Seconds of each record in no window (only with ``tail="drop"``; otherwise 0).
    padded_seconds : ndarray of shape (n_records,), float
        Seconds of zeros added to each record (records shorter than a window, ``tail="pad"``).
    """

    signals: np.ndarray
    sampling_rate: float
    record_ids: np.ndarray
    window_starts: np.ndarray
    records: np.ndarray
    durations: np.ndarray
    n_windows: np.ndarray
    dropped_seconds: np.ndarray
    padded_seconds: np.ndarray

    def __len__(self):
        return len(self.signals)

    def summary(self):
        """One row per record: its seconds, windows, and seconds dropped or padded.

        Returns
        -------
        pandas.DataFrame
            Columns ``record``, ``seconds``, ``windows``, ``dropped_s``, ``padded_s``.
        """
        return pd.DataFrame({"record": self.records, "seconds": self.durations,
                             "windows": self.n_windows, "dropped_s": self.dropped_seconds,
                             "padded_s": self.padded_seconds})

    def mark(self, sentences):
        """The tokenizer's sentences of :attr:`signals`, marked with their records and starts.

        Parameters
        ----------
        sentences : ECGSentences
            ``tokenizer.transform(windows.signals)``, one sentence per window.

        Returns
        -------
        ECGSentences
            With ``record_ids`` and ``window_starts`` set.
        """
        if len(sentences) != len(self):
            raise ValueError(f"{len(sentences)} sentences for {len(self)} windows: tokenize "
                             f"windows.signals, all of it, in order")
        return sentences.with_windows(self.record_ids, self.window_starts)


def _check_window(window, sampling_rate, name):
    if isinstance(window, bool) or not isinstance(window, numbers.Real) or not window > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {window!r}")
    samples = int(round(float(window) * sampling_rate))
    if samples < 1:
        raise ValueError(f"{name}={window!r} s is less than one sample at {sampling_rate:g} Hz")
    return samples


def _as_record_list(records):
    """A sequence of 2-D records ``(n_leads, n_samples)``; a 3-D array is its rows."""
    if isinstance(records, np.ndarray) or hasattr(records, "shape"):
        array = np.asarray(records)
        if array.ndim == 2:  # (n_records, n_samples): single-lead records, as the tokenizers read it
            array = array[:, None, :]
        if array.ndim != 3:
            raise ValueError(f"records must be an array of shape (n_records, n_leads, n_samples) "
                             f"or a list of (n_leads, n_samples) arrays, got shape {array.shape}")
        return list(array)
    out = []
    for i, record in enumerate(records):
        record = np.asarray(record)
        if record.ndim == 1:
            record = record[None, :]
        if record.ndim != 2:
            raise ValueError(f"record {i} has shape {record.shape}; each record must be "
                             f"(n_leads, n_samples)")
        out.append(record)
    if not out:
        raise ValueError("no records to split into windows")
    leads = {r.shape[0] for r in out}
    if len(leads) > 1:
        raise ValueError(f"records have different numbers of leads: {sorted(leads)}")
    return out


def _starts(n_samples, size, step, tail):
    """Window starts (samples) in a record of ``n_samples``; the last window may pass its end."""
    if n_samples <= size:
        return [0]
    starts = list(range(0, n_samples - size + 1, step))
    covered = starts[-1] + size
    if covered < n_samples:
        if tail == "overlap":
            starts.append(n_samples - size)
        elif tail == "pad":
            starts.append(starts[-1] + step)
    return starts


def split_windows(records, sampling_rate, window=10.0, *, stride=None, tail="overlap",
                  names=None):
    """Cut records of any length into consecutive windows of ``window`` seconds.

    Parameters
    ----------
    records : array-like of shape (n_records, n_leads, n_samples), or list of (n_leads, n_samples)
        Records of one sampling rate and one set of leads; a list may hold records of different
        lengths. 1-D records (and a 2-D array) are read as single-lead.
    sampling_rate : float
        Hz.
    window : float, default=10.0
        Window length in seconds: the record length the model was trained on (HeartLang: 10 s).
    stride : float, optional
        Seconds between window starts; default ``window`` (consecutive, non-overlapping).
    tail : {"overlap", "drop", "pad"}, default="overlap"
        The end of a record that fills no whole window: ``"overlap"`` adds a last window ending at
        the record's end (overlapping the one before: all signal kept, no padding); ``"drop"``
        leaves it out (counted in ``dropped_seconds``); ``"pad"`` adds a zero-padded window.
    names : sequence, optional
        One id per record (e.g. the names :func:`heartlang_sk.io.read_records` gives); default
        the record positions ``0 .. n_records - 1``.

    Returns
    -------
    RecordWindows

    Warns
    -----
    UserWarning
        When records are shorter than one window: they are zero-padded to one window, and the
        warning says how many and the shortest length.

    See Also
    --------
    pool_windows : window embeddings back to one vector per record.
    heartlang_sk.io.read_windows : a folder of WFDB records straight to windows.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, _ = make_ecg(2, duration=35, sampling_rate=100, random_state=0)
    >>> records = [X[0], X[1][:, :2500]]  # 35 s and 25 s
    >>> windows = split_windows(records, sampling_rate=100, window=10, names=["a", "b"])
    >>> windows.n_windows.tolist(), windows.window_starts.tolist()
    ([4, 3], [0.0, 10.0, 20.0, 25.0, 0.0, 10.0, 15.0])
    >>> S = windows.mark(QRSTokenizer(sampling_rate=100).fit_transform(windows.signals))
    >>> S.record_ids.tolist()
    ['a', 'a', 'a', 'a', 'b', 'b', 'b']
    """
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Real) or \
            not sampling_rate > 0:
        raise ValueError(f"sampling_rate must be a positive number of Hz, got {sampling_rate!r}")
    sampling_rate = float(sampling_rate)
    if tail not in _TAILS:
        raise ValueError(f"tail must be one of {_TAILS}, got {tail!r}")
    size = _check_window(window, sampling_rate, "window")
    step = size if stride is None else _check_window(stride, sampling_rate, "stride")
    records = _as_record_list(records)
    if names is None:
        names = np.arange(len(records))
    names = np.asarray(names)
    if names.dtype == object:
        names = names.astype(str)
    if names.shape != (len(records),):
        raise ValueError(f"names has {names.size} entries for {len(records)} records")

    lengths = np.array([r.shape[1] for r in records])
    if (lengths == 0).any():
        raise ValueError(f"record {names[np.argmax(lengths == 0)]!r} has no samples")
    short = lengths < size
    if short.any():
        warnings.warn(f"{int(short.sum())} of {len(records)} records are shorter than the "
                      f"{size / sampling_rate:g}-s window (shortest {lengths.min() / sampling_rate:g} "
                      f"s): each is zero-padded to one window", UserWarning, stacklevel=2)
    dtype = np.result_type(*[r.dtype for r in records])
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float32
    all_starts = [_starts(n, size, step, tail) for n in lengths]
    n_windows = np.array([len(s) for s in all_starts])
    signals = np.zeros((int(n_windows.sum()), records[0].shape[0], size), dtype=dtype)
    row = 0
    padded = np.zeros(len(records))
    dropped = np.zeros(len(records))
    for i, (record, starts) in enumerate(zip(records, all_starts)):
        for start in starts:
            piece = record[:, start:start + size]
            signals[row, :, :piece.shape[1]] = piece
            padded[i] += size - piece.shape[1]
            row += 1
        dropped[i] = max(0, lengths[i] - (starts[-1] + size))
    return RecordWindows(
        signals=signals, sampling_rate=sampling_rate,
        record_ids=np.repeat(names, n_windows),
        window_starts=np.concatenate(all_starts).astype(np.float64) / sampling_rate,
        records=names, durations=lengths / sampling_rate, n_windows=n_windows,
        dropped_seconds=dropped / sampling_rate, padded_seconds=padded / sampling_rate,
    )


def pool_windows(Z, record_ids, how="mean"):
    """Pool window embeddings back to one vector per record.

    Parameters
    ----------
    Z : array-like of shape (n_windows, n_features)
        One row per window (e.g. ``HeartLangEmbedder.transform`` of windowed sentences).
    record_ids : array-like of shape (n_windows,)
        The record of each window (``sentences.record_ids``).
    how : {"mean", "max"}, default="mean"
        Average, or element-wise maximum, of each record's windows.

    Returns
    -------
    Z_records : ndarray of shape (n_records, n_features)
    records : ndarray of shape (n_records,)
        The record ids, in order of first appearance (the input order for
        :func:`split_windows`' output).

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    >>> Z_records, records = pool_windows(Z, ["b", "b", "a"])
    >>> Z_records.tolist(), records.tolist()
    ([[2.0, 1.0], [5.0, 5.0]], ['b', 'a'])
    >>> pool_windows(Z, ["b", "b", "a"], how="max")[0].tolist()
    [[3.0, 2.0], [5.0, 5.0]]
    """
    if how not in _POOLS:
        raise ValueError(f"how must be one of {_POOLS}, got {how!r}")
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (n_windows, n_features), got shape {Z.shape}")
    if record_ids is None:
        raise ValueError("record_ids is None: these sentences are not windows of longer records "
                         "(cut them with split_windows or read_windows)")
    ids = np.asarray(record_ids)
    if ids.shape != (len(Z),):
        raise ValueError(f"record_ids has shape {ids.shape} for {len(Z)} embeddings")
    if len(Z) == 0:
        raise ValueError("no embeddings to pool")
    unique, first, codes = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.empty(len(unique), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
    codes = rank[codes.ravel()]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    if how == "mean":
        counts = np.diff(np.r_[bounds, len(Z)])
        pooled = np.add.reduceat(Z[order].astype(np.float64), bounds, axis=0) / counts[:, None]
        pooled = pooled.astype(np.result_type(Z.dtype, np.float32), copy=False)
    else:
        pooled = np.maximum.reduceat(Z[order], bounds, axis=0)
    return pooled, ids[np.sort(first)]
