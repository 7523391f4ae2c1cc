"""FixedWindowTokenizer: HeartLang's ablation -- fixed-length windows instead of heartbeats."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._segmentation import sentence_layout
from ..sentences import ECGSentences
from ._signals import PROCESSING_RATE, as_records
from .tokenizer import QRSTokenizer

__all__ = ["FixedWindowTokenizer"]


class FixedWindowTokenizer(QRSTokenizer):
    """Cut 12-lead ECG into sentences of fixed-length windows, ignoring where the beats are.

    The tokenization ablation of the HeartLang paper: each lead is cut into consecutive windows of
    ``t`` samples at 100 Hz (every ``stride`` samples; non-overlapping by default), and the
    sentence is the windows of lead 1, then lead 2, ..., padded or truncated to ``l`` tokens,
    exactly like the beat sentences of :class:`heartlang_sk.QRSTokenizer`. A window that would run
    past the end of the record is left out. The output is the same :class:`ECGSentences`
    container: a token's "R peak" is its window centre (index ``t // 2``), its span the whole
    window, its lead index 1-12 and its time index the second of the window centre plus 1; both
    indices are 0 for padding. ``n_beats`` counts the windows per lead.

    Resampling, filtering, normalization, chunking and input validation are those of
    :class:`~heartlang_sk.QRSTokenizer` (this class reuses them), so the two tokenizers see
    identical signals and differ only in where the tokens are cut.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required.
    l : int, default=256
        Maximum sentence length (tokens).
    t : int, default=96
        Samples per window at 100 Hz (0.96 s, the beat window of the QRS tokenizer).
    stride : int, optional
        Samples between the starts of consecutive windows; default ``t`` (non-overlapping).
    truncation : {"balanced", "official"}, default="balanced"
        What to drop when the windows of all leads do not fit in ``l`` tokens (not the case for
        10-s records and the defaults: 12 leads x 10 windows = 120 tokens). See
        :class:`~heartlang_sk.QRSTokenizer`.
    bandpass : tuple of (float or None, float or None) or None, default=None
        Zero-phase Butterworth filter at 100 Hz, as in :class:`~heartlang_sk.QRSTokenizer`.
    filter_order : int, default=2
    normalize : {None, "zscore"}, default=None
    n_jobs : int, default=None
    chunk_size : int, default=1024
    verbose : bool, default=False

    Attributes
    ----------
    n_features_in_ : int
        Number of leads seen in ``fit``.

    See Also
    --------
    heartlang_sk.QRSTokenizer : the beat tokenizer this ablation replaces.

    Notes
    -----
    This class subclasses :class:`~heartlang_sk.QRSTokenizer` to share its preprocessing; the
    QRS-specific parameters (``detection_lead``, ``detection_fallback``) do not exist here.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.

    Examples
    --------
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.preprocessing.window_tokenizer import FixedWindowTokenizer
    >>> X, y = make_ecg(2, sampling_rate=500, random_state=0)
    >>> S = FixedWindowTokenizer(sampling_rate=500).fit_transform(X)
    >>> S.shape, S.n_tokens.tolist()  # 10 windows of 0.96 s per lead, 12 leads
    ((2, 256, 96), [120, 120])
    >>> S.leads[0, :11].tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]
    >>> S.times[0, :10].tolist(), S.r_peaks[0, :3].tolist()
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [48, 144, 240])
    """

    def __init__(self, sampling_rate=None, *, l=256, t=96, stride=None, truncation="balanced",
                 bandpass=None, filter_order=2, normalize=None, n_jobs=None, chunk_size=1024,
                 verbose=False):
        self.sampling_rate = sampling_rate
        self.l = l
        self.t = t
        self.stride = stride
        self.truncation = truncation
        self.bandpass = bandpass
        self.filter_order = filter_order
        self.normalize = normalize
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size
        self.verbose = verbose

    def _check_params(self):
        super()._check_params()
        stride = self.stride
        if stride is not None and (not isinstance(stride, numbers.Integral)
                                   or isinstance(stride, bool) or stride < 1):
            raise ValueError(f"stride must be a positive integer or None, got {stride!r}")

    def _validate(self, X, reset):
        X = as_records(self, X, reset=reset)
        seconds_needed = self.t / PROCESSING_RATE
        if X.shape[2] / self.sampling_rate < seconds_needed:
            raise ValueError(
                f"records too short for one window: {X.shape[2]} samples at "
                f"{self.sampling_rate:g} Hz = {X.shape[2] / self.sampling_rate:.3g} s; need at "
                f"least {seconds_needed:.3g} s (t={self.t} samples at {PROCESSING_RATE:g} Hz)")
        return X

    def _tokenize_chunk(self, X, out):
        """Tokenize one chunk of records; its processed signals are written into ``out``."""
        out[...] = self._preprocess(self._resample(X))
        n_records, n_leads, n_samples = out.shape
        stride = self.t if self.stride is None else self.stride
        # Resampling rounds the length up, so a record just long enough for one window may be a
        # sample short of it at 100 Hz; it still gets its window (stops are clipped to the record).
        n_windows = max((n_samples - self.t) // stride + 1, 1)
        window_starts = np.arange(n_windows) * stride
        n_beats = np.full(n_records, n_windows, dtype=np.int64)
        beat, leads, n_dropped = sentence_layout(n_beats, n_leads, self.l, self.truncation)
        real = leads > 0
        starts = np.where(real, window_starts[beat], 0).astype(np.int32)
        centres = np.where(real, starts + self.t // 2, 0).astype(np.int32)
        stops = np.where(real, np.minimum(starts + self.t, n_samples), 0).astype(np.int32)
        detection_leads = np.zeros(n_records, dtype=np.int16)
        sentences = ECGSentences(out, centres, starts, stops, leads, n_beats, n_dropped,
                                 detection_leads, self.t, PROCESSING_RATE)
        flat = np.ptp(out, axis=2) == 0
        return sentences, flat

    def _report(self, sentences, flat_leads):
        n_flat = int(flat_leads.sum())
        if n_flat and flat_leads.shape[1] > 1:
            records = int(flat_leads.any(axis=1).sum())
            warnings.warn(f"{n_flat} flat (constant) leads in {records} of {len(sentences)} "
                          f"records; their window tokens are all zero", UserWarning, stacklevel=3)
