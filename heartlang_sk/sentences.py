"""ECG sentences: the container that flows from the tokenizer to the models."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ECGSentences"]


class ECGSentences:
    """A batch of ECG sentences: beats cut at QRS complexes, lead-major, padded to ``l`` tokens.

    Token ``k`` of sentence ``i`` is the window of ``t`` samples of lead ``leads[i, k]`` around the
    R peak ``r_peaks[i, k]`` (at index ``t // 2`` of the window), zero outside the beat's own span
    ``[starts[i, k], stops[i, k])``. Padding tokens have lead and time index 0 and all-zero samples.

    The container keeps the processed signals and this beat table, not the tokens: ``tokens`` is
    built on access, so selecting a batch (``S[i:j].tokens``) costs only that batch's memory. A
    sentence store of the 21,837 PTB-XL records at 100 Hz holds about 1 GB of float32 signals
    (0.5 GB from float16 input) instead of 2.1 GB of float32 tokens.

    Indexing (an int, a slice, an integer array or a boolean mask) selects records and always
    returns an :class:`ECGSentences`, which is what scikit-learn's cross-validation and Pipelines
    need. ``np.asarray(S)`` gives the tokens; :meth:`to_dict` gives the arrays a torch model reads.
    :meth:`save` writes the arrays to a folder of ``.npy`` files and :meth:`load` opens it, by default
    memory-mapped, for corpora larger than memory (see :mod:`heartlang_sk.io.store`).

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
        Processed signals at ``sampling_rate``: float32, or float16 when the tokenizer was given
        float16 records to cut as they are (tokens are float32 either way).
    r_peaks, starts, stops : ndarray of shape (n_records, l), int32
        Per token: R-peak sample, first sample and one-past-last sample of the beat.
    leads : ndarray of shape (n_records, l), int16
        Lead number of each token, 1 to n_leads; 0 for padding.
    n_beats : ndarray of shape (n_records,), int
        Beats (QRS complexes) detected per record.
    n_dropped : ndarray of shape (n_records,), int
        Beat tokens lost to the sentence length ``l`` per record.
    detection_leads : ndarray of shape (n_records,), int, optional
        Lead index (0-based) the R peaks were detected on, per record. Default: all 0.
    t : int, default=96
        Samples per token.
    sampling_rate : float, default=100
        Sampling rate of ``signals`` in Hz.

    Attributes
    ----------
    times : ndarray of shape (n_records, l), int16
        Second of each token's R peak, counted from 1; 0 for padding.
    beat_times : ndarray of shape (n_records, l), float32
        Time of each token's R peak in seconds, at the sampling resolution; 0 for padding.
    padding_mask : ndarray of shape (n_records, l), bool
        True where the token is padding.
    n_tokens : ndarray of shape (n_records,), int
        Real (non-padding) tokens per sentence.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(4, random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> S.shape
    (4, 256, 96)
    >>> S[:2].tokens.shape, S[:2].leads.dtype
    ((2, 256, 96), dtype('int16'))
    >>> bool((S.leads[S.padding_mask] == 0).all())
    True
    """

    __slots__ = ("signals", "r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped",
                 "detection_leads", "t", "sampling_rate")

    def __init__(self, signals, r_peaks, starts, stops, leads, n_beats, n_dropped,
                 detection_leads=None, t=96, sampling_rate=100.0):
        self.signals = signals
        self.r_peaks = r_peaks
        self.starts = starts
        self.stops = stops
        self.leads = leads
        self.n_beats = n_beats
        self.n_dropped = n_dropped
        self.detection_leads = (np.zeros(len(signals), dtype=np.int16) if detection_leads is None
                                else detection_leads)
        self.t = int(t)
        self.sampling_rate = float(sampling_rate)
        n = len(signals)
        for name in ("r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped",
                     "detection_leads"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ECGSentences.{name} has {len(getattr(self, name))} records, "
                                 f"signals has {n}")

    # -- array-like protocol ---------------------------------------------------------------------
    @property
    def shape(self):
        """``(n_records, l, t)``, the shape of :attr:`tokens`."""
        return (len(self.signals), self.leads.shape[1], self.t)

    @property
    def ndim(self):
        return 3

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def __len__(self):
        return len(self.signals)

    def __getitem__(self, key):
        if isinstance(key, tuple):  # scikit-learn's _safe_indexing asks for X[key, ...]
            if len(key) == 2 and key[1] is Ellipsis:
                key = key[0]
            else:
                raise IndexError("ECGSentences selects records only: use S[records]")
        if isinstance(key, numbers.Integral):
            if not -len(self) <= key < len(self):
                raise IndexError(f"record {key} out of range for {len(self)} sentences")
            key = slice(key, key + 1 if key != -1 else None)
        elif not isinstance(key, slice):
            key = np.asarray(key)
            if key.dtype == bool:
                if key.shape != (len(self),):
                    raise IndexError(f"boolean index of shape {key.shape} for {len(self)} sentences")
            elif not np.issubdtype(key.dtype, np.integer) and key.size:
                raise IndexError(f"ECGSentences indices must be integers or booleans, got {key.dtype}")
            else:
                key = key.astype(np.intp, copy=False)
        return ECGSentences(
            self.signals[key], self.r_peaks[key], self.starts[key], self.stops[key],
            self.leads[key], self.n_beats[key], self.n_dropped[key], self.detection_leads[key],
            self.t, self.sampling_rate,
        )

    def __array__(self, dtype=None, copy=None):
        tokens = self.tokens
        return tokens if dtype is None else tokens.astype(dtype, copy=False)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        n, l, t = self.shape
        return (f"ECGSentences(n_records={n}, l={l}, t={t}, n_leads={self.signals.shape[1]}, "
                f"sampling_rate={self.sampling_rate:g}, real_tokens={int(self.n_tokens.sum())})")

    # -- derived views ---------------------------------------------------------------------------
    @property
    def padding_mask(self):
        return self.leads == 0

    @property
    def n_tokens(self):
        return np.count_nonzero(self.leads, axis=1)

    @property
    def times(self):
        seconds = (self.r_peaks // self.sampling_rate).astype(np.int16) + 1
        return np.where(self.leads > 0, seconds, 0).astype(np.int16)

    @property
    def beat_times(self):
        """R-peak time of each token in seconds (float32, the tokenizer's resolution); 0 for padding."""
        seconds = self.r_peaks.astype(np.float32) / np.float32(self.sampling_rate)
        return np.where(self.leads > 0, seconds, 0).astype(np.float32)

    @property
    def tokens(self):
        """Token samples, float32 of shape ``(n_records, l, t)``, built from the signals on access."""
        n, l, t = self.shape
        if n == 0:
            return np.zeros((0, l, t), dtype=np.float32)
        half = t // 2
        # Zero margins let every window [R - t//2, R - t//2 + t) be read as one contiguous row.
        padded = np.pad(self.signals, ((0, 0), (0, 0), (half, t - half)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, t, axis=-1)
        records = np.arange(n)[:, None]
        tokens = windows[records, np.maximum(self.leads - 1, 0), self.r_peaks].astype(np.float32)
        offset = np.arange(t, dtype=np.int32) - half
        before = (self.starts - self.r_peaks)[..., None]
        after = (self.stops - self.r_peaks)[..., None]
        tokens *= (offset >= before) & (offset < after)
        return tokens

    def to_dict(self):
        """The arrays a torch model reads: ``tokens`` (float32), ``leads`` and ``times`` (int64).

        A dict of equal-length arrays is what skorch accepts as ``X``.
        """
        return {
            "tokens": self.tokens,
            "leads": self.leads.astype(np.int64),
            "times": self.times.astype(np.int64),
        }

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path, *, overwrite=False):
        """Write the sentences to a sentence store: a folder of ``.npy`` files and ``header.json``.

        Parameters
        ----------
        path : str or path-like
            Folder to write (created if needed).
        overwrite : bool, default=False
            Replace a store already there (otherwise :class:`FileExistsError`).

        See Also
        --------
        heartlang_sk.io.store.tokenize_to_store : tokenize a corpus straight into a store, chunk by chunk.
        """
        from .io.store import save_sentences

        save_sentences(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path, mmap_mode="r"):
        """Open a sentence store written by :meth:`save` or :func:`~heartlang_sk.io.store.tokenize_to_store`.

        Parameters
        ----------
        path : str or path-like
        mmap_mode : {"r", "r+", "c", None}, default="r"
            As :func:`numpy.load`: ``"r"`` memory-maps the arrays read-only, so indexing reads only the
            selected records from disk; ``None`` reads everything into memory.

        Returns
        -------
        ECGSentences

        Examples
        --------
        >>> import tempfile
        >>> from heartlang_sk import QRSTokenizer
        >>> from heartlang_sk.datasets import make_ecg
        >>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(4, random_state=0)[0])
        >>> folder = tempfile.mkdtemp()
        >>> S.save(folder)
        >>> stored = ECGSentences.load(folder)
        >>> type(stored.signals).__name__, bool((stored[1:3].tokens == S[1:3].tokens).all())
        ('memmap', True)
        """
        from .io.store import load_sentences

        return load_sentences(path, mmap_mode=mmap_mode)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def concatenate(cls, parts, signals=None):
        """Join sentence batches (same ``l``, ``t``, leads and sampling rate) record-wise.

        ``signals``, if given, is the already joined signal array (spares a copy).
        """
        parts = list(parts)
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for part in parts[1:]:
            if (part.shape[1:], part.sampling_rate, part.signals.shape[1]) != (
                    first.shape[1:], first.sampling_rate, first.signals.shape[1]):
                raise ValueError("cannot concatenate sentences of different l, t, leads or rate")
        join = np.concatenate
        if signals is None:
            n_samples = max(p.signals.shape[2] for p in parts)
            signals = join([p.signals if p.signals.shape[2] == n_samples else np.pad(
                p.signals, ((0, 0), (0, 0), (0, n_samples - p.signals.shape[2]))) for p in parts])
        return cls(signals, join([p.r_peaks for p in parts]),
                   join([p.starts for p in parts]), join([p.stops for p in parts]),
                   join([p.leads for p in parts]), join([p.n_beats for p in parts]),
                   join([p.n_dropped for p in parts]), join([p.detection_leads for p in parts]),
                   first.t, first.sampling_rate)
