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
    record_ids : ndarray of shape (n_records,), optional
        For sentences cut from windows of longer records (see
        :func:`~heartlang_sk.preprocessing.split_windows`): the record each sentence comes from
        (ints or strings). Kept through indexing, :meth:`concatenate` and the sentence store, and
        read by :func:`~heartlang_sk.preprocessing.pool_windows` to pool embeddings per record.
    window_starts : ndarray of shape (n_records,), float, optional
        For windowed sentences: the second of the source record each window starts at.
    preprocessing : dict or None, default=None
        The tokenizer settings that made the sentences (sampling rate in, band-pass, normalisation,
        truncation, ``t``, ``l``; see :mod:`heartlang_sk.preprocessing.settings`), stamped by the
        tokenizer and kept by indexing, joining, pickles and sentence stores. Models fitted on the
        sentences record them and refuse sentences made otherwise. ``None``: unknown.

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
    >>> S.record_ids is None  # set for windows of long records (with_windows, split_windows)
    True
    """

    __slots__ = ("signals", "r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped",
                 "detection_leads", "t", "sampling_rate", "preprocessing", "record_ids", "window_starts")

    #: Optional per-sentence arrays (``None`` when absent), selected and joined with the sentences.
    WINDOW_ARRAYS = ("record_ids", "window_starts")

    def __init__(self, signals, r_peaks, starts, stops, leads, n_beats, n_dropped,
                 detection_leads=None, t=96, sampling_rate=100.0, preprocessing=None, *, record_ids=None,
                 window_starts=None):
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
        self.preprocessing = None if preprocessing is None else dict(preprocessing)
        self.record_ids = _as_record_ids(record_ids)
        self.window_starts = window_starts
        n = len(signals)
        for name in ("r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped",
                     "detection_leads") + self.WINDOW_ARRAYS:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"ECGSentences.{name} has {len(value)} records, signals has {n}")
        if self.window_starts is not None and np.ndim(self.window_starts) != 1:
            raise ValueError(f"ECGSentences.window_starts must be 1-D (one start per sentence), got "
                             f"shape {np.shape(self.window_starts)}")

    def __setstate__(self, state):
        # Sentences pickled before record_ids, window_starts and preprocessing existed load with
        # them as None (unknown).
        if isinstance(state, tuple):  # (__dict__, __slots__ values), pickle's default for slots
            state = {**(state[0] or {}), **(state[1] or {})}
        for name in (*self.WINDOW_ARRAYS, "preprocessing"):
            setattr(self, name, None)
        for name, value in state.items():
            setattr(self, name, value)

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
            self.t, self.sampling_rate, self.preprocessing,
            **{name: None if getattr(self, name) is None else getattr(self, name)[key]
               for name in self.WINDOW_ARRAYS},
        )

    def __array__(self, dtype=None, copy=None):
        tokens = self.tokens
        return tokens if dtype is None else tokens.astype(dtype, copy=False)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        n, l, t = self.shape
        windows = ("" if self.record_ids is None else
                   f", windows of {len(np.unique(np.asarray(self.record_ids)))} records")
        return (f"ECGSentences(n_records={n}, l={l}, t={t}, n_leads={self.signals.shape[1]}, "
                f"sampling_rate={self.sampling_rate:g}, real_tokens={int(self.n_tokens.sum())}"
                f"{windows})")

    def with_windows(self, record_ids, window_starts=None):
        """The same sentences, marked as windows of longer records (arrays shared, not copied).

        Parameters
        ----------
        record_ids : array-like of shape (n_records,)
            The source record of each sentence (ints or strings), e.g.
            :attr:`RecordWindows.record_ids <heartlang_sk.preprocessing.RecordWindows>`.
        window_starts : array-like of shape (n_records,), optional
            Second of the source record each window starts at.

        Returns
        -------
        ECGSentences

        Examples
        --------
        >>> from heartlang_sk import QRSTokenizer
        >>> from heartlang_sk.datasets import make_ecg
        >>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(3, random_state=0)[0])
        >>> W = S.with_windows(["a", "a", "b"], [0.0, 10.0, 0.0])
        >>> W[1:].record_ids.tolist(), W[1:].window_starts.tolist()
        (['a', 'b'], [10.0, 0.0])
        """
        return ECGSentences(
            self.signals, self.r_peaks, self.starts, self.stops, self.leads, self.n_beats,
            self.n_dropped, self.detection_leads, self.t, self.sampling_rate, self.preprocessing,
            record_ids=record_ids,
            window_starts=None if window_starts is None else np.asarray(window_starts, np.float64),
        )

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

        ``signals``, if given, is the already joined signal array (spares a copy). Window arrays
        (``record_ids``, ``window_starts``) are joined when every part has them; parts that
        disagree (some windowed, some not) raise ``ValueError``.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for part in parts[1:]:
            if (part.shape[1:], part.sampling_rate, part.signals.shape[1]) != (
                    first.shape[1:], first.sampling_rate, first.signals.shape[1]):
                raise ValueError("cannot concatenate sentences of different l, t, leads or rate")
        preprocessing = _joined_preprocessing([p.preprocessing for p in parts])
        join = np.concatenate
        if signals is None:
            n_samples = max(p.signals.shape[2] for p in parts)
            signals = join([p.signals if p.signals.shape[2] == n_samples else np.pad(
                p.signals, ((0, 0), (0, 0), (0, n_samples - p.signals.shape[2]))) for p in parts])
        windows = {}
        for name in cls.WINDOW_ARRAYS:
            present = [getattr(p, name) is not None for p in parts]
            if any(present) and not all(present):
                raise ValueError(f"cannot concatenate sentences with and without {name}: mark every "
                                 f"part with with_windows(...) or none")
            windows[name] = join([getattr(p, name) for p in parts]) if all(present) else None
        return cls(signals, join([p.r_peaks for p in parts]),
                   join([p.starts for p in parts]), join([p.stops for p in parts]),
                   join([p.leads for p in parts]), join([p.n_beats for p in parts]),
                   join([p.n_dropped for p in parts]), join([p.detection_leads for p in parts]),
                   first.t, first.sampling_rate, preprocessing, **windows)


def _as_record_ids(record_ids):
    """Record ids as a 1-D numpy array of ints or strings (never object: stores load no pickles)."""
    if record_ids is None:
        return None
    if isinstance(record_ids, np.memmap):
        return record_ids
    ids = np.asarray(record_ids)
    if ids.ndim != 1:
        raise ValueError(f"ECGSentences.record_ids must be 1-D (one id per sentence), got shape "
                         f"{ids.shape}")
    if ids.size == 0 and ids.dtype.kind not in "iuU":
        return ids.astype(np.int64)
    if ids.dtype == object or ids.dtype.kind not in "iuU":
        if ids.dtype.kind in "fb":
            raise ValueError(f"ECGSentences.record_ids must be integers or strings, got {ids.dtype}")
        ids = ids.astype(str)
    return ids


def _joined_preprocessing(settings):
    """The settings of joined sentences: refuses parts made with other token-changing settings."""
    from .preprocessing.settings import _differences, normalise_settings

    known = [normalise_settings(s) for s in settings if s is not None]
    if not known:
        return None
    if len(known) < len(settings):
        raise ValueError("cannot join sentences of known and unknown tokenizer settings (preprocessing=None)")
    first = known[0]
    for other in known[1:]:
        differences = _differences(first, other)
        if differences:
            key, a, b = differences[0]
            raise ValueError(f"cannot join sentences made with other tokenizer settings: {key}={a!r} and {b!r}")
    # recorded-only settings (e.g. the input sampling rate) that differ become None: mixed
    return {key: value if all(k.get(key) == value for k in known) else None for key, value in first.items()}
