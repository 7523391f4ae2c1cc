"""QRSTokenizer: 12-lead ECG at any sampling rate -> HeartLang's ECG sentences."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import signal as sps
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .qrs import detect_qrs_batch
from ._plausibility import rate_warning
from ._signals import PROCESSING_RATE, as_records, check_sampling_rate, resample, resampling_ratio
from ._segmentation import TRUNCATION_MODES, beat_bounds, sentence_layout
from .settings import tokenizer_settings
from ..sentences import ECGSentences

__all__ = ["QRSTokenizer"]

NORMALIZATIONS = (None, "zscore")


def _bits(signals):
    """The array's bit patterns as unsigned integers (float16 has no fast vectorized loops)."""
    return signals.view(np.dtype(f"u{signals.dtype.itemsize}"))


def _check_finite(signals):
    if signals.dtype == np.float16:
        # Infinity and NaN have all exponent bits set: 0x7C00-0x7FFF and 0xFC00-0xFFFF as unsigned
        # 16-bit integers, the largest values as signed and as unsigned integers respectively. Two
        # read-only maxima are cheaper than masking a copy of the bits.
        bits = _bits(signals)
        if bits.max() < 0xFC00 and bits.view(np.int16).max() < 0x7C00:
            return
    elif np.isfinite(signals).all():
        return
    if np.isnan(signals).any():
        raise ValueError("Input X contains NaN: clean or interpolate the signals first")
    if not np.isfinite(signals).all():
        raise ValueError("Input X contains infinity or a value too large for float32")


def _flat_leads(signals):
    """Which leads are constant (bit for bit): bool array of shape (n_records, n_leads)."""
    n_records, n_leads, n_samples = signals.shape
    rows = _bits(signals).reshape(-1, n_samples)
    first = rows[:, 0]
    # Almost no lead is flat: a few samples spread over the record rule most leads out (a column
    # at a time: fast), and only the others are compared sample by sample.
    flat = rows[:, -1] == first
    for column in range(n_samples // 4, n_samples - 1, max(n_samples // 4, 1)):
        flat &= rows[:, column] == first
    if flat.any():
        flat[flat] = (rows[flat] == rows[flat][:, :1]).all(axis=1)
    return flat.reshape(n_records, n_leads)


class QRSTokenizer(TransformerMixin, BaseEstimator):
    """Cut 12-lead ECG into ECG sentences at detected QRS complexes (HeartLang's QRS-Tokenizer).

    Signals are resampled to 100 Hz, R peaks are detected on one lead, and the same R peaks cut
    every lead: a beat spans from the midpoint with the previous R peak to the midpoint with the
    next, placed in a window of ``t`` samples with its R peak at index ``t // 2`` and zero padding.
    The sentence is the beats of lead 1, then lead 2, ..., padded or truncated to ``l`` tokens.
    Each token carries its lead number (1-12) and the second its R peak falls in (1-10 for a 10-s
    record); both are 0 for padding.

    The tokenizer learns nothing; ``fit`` records the number of leads so ``transform`` can check it.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required: a wrong rate silently yields wrong beats, so
        there is no default.
    l : int, default=256
        Maximum sentence length (tokens).
    t : int, default=96
        Samples per token at 100 Hz (0.96 s); the R peak sits at index ``t // 2``.
    detection_lead : int, default=0
        Lead on which QRS complexes are detected (0 = lead I in the standard order).
    detection_fallback : bool, default=True
        If no beat is found on ``detection_lead`` (a flat or disconnected lead), try the other
        leads in order and use the first that yields beats. The lead used for every record is in
        ``ECGSentences.detection_leads``; fallbacks are counted in a warning.
    truncation : {"balanced", "official"}, default="balanced"
        What to drop when a record has more than ``l`` beat tokens (above ~126 bpm for 12 leads
        and ``l = 256``). ``"balanced"`` keeps every lead with its first ``l // n_leads`` beats;
        ``"official"`` keeps the first ``l`` tokens as the official HeartLang code does, losing
        the last leads. Dropped tokens are counted in ``ECGSentences.n_dropped`` either way.
    bandpass : tuple of (float or None, float or None) or None, default=None
        Zero-phase Butterworth filter applied to every lead at 100 Hz before cutting, as
        ``(low_hz, high_hz)``; ``(0.5, None)`` is a high-pass that removes baseline wander. Off by
        default, as in HeartLang: filter once when the data needs it (raw PTB-XL has baseline
        wander; ``ptbxl-2k`` is already band-passed 0.5-40 Hz). QRS detection filters its own
        copy and does not depend on this.
    filter_order : int, default=2
        Butterworth order per band edge (applied forward and backward, so the effective order is
        doubled).
    normalize : {None, "zscore"}, default=None
        Per-record, per-lead scaling after filtering. ``"zscore"`` subtracts each lead's mean and
        divides by its standard deviation (flat leads are left at zero).
    n_jobs : int, default=None
        Records are processed in chunks of ``chunk_size``, in parallel threads over ``n_jobs``
        (joblib; ``None`` means 1 unless in a ``joblib.parallel_config`` context).
    chunk_size : int, default=256
        Records per chunk.
    verbose : bool, default=False
        Show a progress bar over chunks.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads seen in ``fit``.

    See Also
    --------
    heartlang_sk.detect_qrs : the R-peak detector used here.
    heartlang_sk.ECGSentences : the output container.

    Notes
    -----
    A 2-D input ``(n_records, n_samples)`` is read as single-lead records. Records with no detected
    beat (flat or beat-less) give all-padding sentences and are reported in a warning and in
    ``ECGSentences.n_beats``.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.
    .. [2] J. Pan and W. J. Tompkins, "A real-time QRS detection algorithm", IEEE Trans. Biomed.
       Eng. 32(3), 230-236 (1985).

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(3, sampling_rate=500, random_state=0)
    >>> X.shape
    (3, 12, 5000)
    >>> S = QRSTokenizer(sampling_rate=500).fit_transform(X)
    >>> S.shape
    (3, 256, 96)
    >>> sorted(set(S.leads[0][S.leads[0] > 0].tolist()))[:3]
    [1, 2, 3]
    """

    def __init__(self, sampling_rate=None, *, l=256, t=96, detection_lead=0,
                 detection_fallback=True, truncation="balanced", bandpass=None, filter_order=2,
                 normalize=None, n_jobs=None, chunk_size=256, verbose=False):
        self.sampling_rate = sampling_rate
        self.l = l
        self.t = t
        self.detection_lead = detection_lead
        self.detection_fallback = detection_fallback
        self.truncation = truncation
        self.bandpass = bandpass
        self.filter_order = filter_order
        self.normalize = normalize
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self):
        check_sampling_rate(self.sampling_rate)
        for name in ("l", "t", "chunk_size", "filter_order"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.truncation not in TRUNCATION_MODES:
            raise ValueError(f"truncation must be one of {TRUNCATION_MODES}, got {self.truncation!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        if self.bandpass is not None:
            low, high = self.bandpass
            nyquist = PROCESSING_RATE / 2
            if (low is not None and not 0 < low < nyquist) or (
                    high is not None and not 0 < high < nyquist) or (
                    low is not None and high is not None and low >= high):
                raise ValueError(f"bandpass must be (low, high) Hz with 0 < low < high < "
                                 f"{nyquist:g} (either may be None), got {self.bandpass!r}")

    def _validate(self, X, reset):
        # Transform checks finiteness chunk by chunk, after the one conversion pass.
        X = as_records(self, X, reset=reset, ensure_all_finite=reset)
        if not 0 <= self.detection_lead < X.shape[1] and not -X.shape[1] <= self.detection_lead < 0:
            raise ValueError(f"detection_lead={self.detection_lead} but X has {X.shape[1]} leads")
        seconds_needed = self.t / PROCESSING_RATE
        if X.shape[2] / self.sampling_rate < seconds_needed:
            raise ValueError(
                f"records too short for one beat: {X.shape[2]} samples at {self.sampling_rate:g} Hz "
                f"= {X.shape[2] / self.sampling_rate:.3g} s; need at least {seconds_needed:.3g} s "
                f"(t={self.t} samples at {PROCESSING_RATE:g} Hz)")
        return X

    # -- estimator API ---------------------------------------------------------------------------
    @classmethod
    def official(cls, sampling_rate, **overrides):
        """The tokenizer that makes the sentences the released HeartLang models were trained on.

        The released checkpoints were pre-trained on MIMIC-IV-ECG prepared by the official
        ``mimic_preprocess.py``: resampled to 100 Hz, band-passed 0.67-40 Hz (Butterworth, order
        5, zero-phase) at 100 Hz, no amplitude normalisation, then cut by the official
        QRS-Tokenizer, which keeps the first 256 tokens (``truncation="official"``). This preset
        sets exactly those options; give the input's ``sampling_rate`` (resampling to 100 Hz is
        always done here). Differences that remain: the official code detects R peaks with
        ``wfdb.processing.xqrs_detect`` on the filtered lead I, this toolkit with its own detector,
        and its band-pass runs as ``sosfiltfilt`` rather than ``filtfilt`` (the same filter; equal
        to 1e-7 relative on 10-s records, ``tests/preprocessing/test_official_tokenizer_preset.py``).

        Parameters
        ----------
        sampling_rate : float
            Sampling rate of the input in Hz.
        **overrides
            Any other :class:`QRSTokenizer` parameter (e.g. ``n_jobs``).

        Returns
        -------
        QRSTokenizer

        Examples
        --------
        >>> tokenizer = QRSTokenizer.official(sampling_rate=500)
        >>> tokenizer.truncation, tokenizer.bandpass, tokenizer.filter_order, tokenizer.normalize
        ('official', (0.67, 40.0), 5, None)
        """
        return cls(sampling_rate, **{"truncation": "official", "bandpass": (0.67, 40.0), "filter_order": 5,
                                     "normalize": None, **overrides})

    def fit(self, X, y=None):
        """Check parameters and record the number of leads.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Tokenize records into ECG sentences.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals at ``sampling_rate``; lead count must match ``fit``.

        Returns
        -------
        ECGSentences
            ``shape == (n_records, l, t)``, stamped with this tokenizer's settings
            (``preprocessing``, see :mod:`heartlang_sk.preprocessing.settings`).
        """
        check_is_fitted(self)
        self._check_params()
        X = self._validate(X, reset=False)
        n_records = len(X)
        ratio = self._resampling_ratio()
        n_samples = -(-X.shape[2] * ratio.numerator // ratio.denominator)
        # Chunks write their processed signals straight into the store: no second full copy. A
        # float16 input (compact ECG storage) stays float16 there unless it is resampled or
        # filtered; tokens are widened to float32 batch by batch when they are read.
        keep_half = (X.dtype == np.float16 and ratio == 1 and self.bandpass is None
                     and self.normalize is None)
        signals = np.empty((n_records, X.shape[1], n_samples),
                           dtype=np.float16 if keep_half else np.float32)
        bounds = [(i, min(i + self.chunk_size, n_records)) for i in range(0, n_records, self.chunk_size)]
        if hasattr(self, "_tokenize_chunk"):
            # a subclass that cuts its own tokens (FixedWindowTokenizer) returns the sentences and
            # flat-lead flags of each chunk: join them
            parts = self._map_chunks(self._tokenize_chunk, bounds, X, signals)
            sentences = ECGSentences.concatenate([p[0] for p in parts], signals=signals)
            flat_leads = np.concatenate([p[1] for p in parts])
        else:
            # the beat tables, like the signals, are written in place chunk by chunk: no per-chunk
            # arrays to join at the end
            r_peaks, starts, stops = (np.empty((n_records, self.l), dtype=np.int32) for _ in range(3))
            leads = np.empty((n_records, self.l), dtype=np.int16)
            n_beats, n_dropped = np.empty(n_records, dtype=np.int64), np.empty(n_records, dtype=np.int64)
            detection_leads = np.empty(n_records, dtype=np.int16)
            flat_leads = np.empty((n_records, X.shape[1]), dtype=bool)
            tables = (r_peaks, starts, stops, leads, n_beats, n_dropped, detection_leads)
            self._map_chunks(self._tokenize_beats, bounds, X, signals, *tables, flat_leads)
            sentences = ECGSentences(signals, *tables, self.t, PROCESSING_RATE)
        sentences.preprocessing = tokenizer_settings(self)
        self._report(sentences, flat_leads)
        return sentences

    # -- the work --------------------------------------------------------------------------------
    def _map_chunks(self, function, bounds, *arrays):
        """``function(*(a[lo:hi] for a in arrays))`` for each chunk, in threads if ``n_jobs`` > 1."""
        jobs = (delayed(function)(*(a[lo:hi] for a in arrays)) for lo, hi in bounds)
        if self.verbose:
            from tqdm.auto import tqdm
            jobs = tqdm(jobs, total=len(bounds), desc="tokenize", unit="chunk")
        if len(bounds) > 1 and effective_n_jobs(self.n_jobs) > 1:
            return Parallel(n_jobs=self.n_jobs, prefer="threads")(jobs)
        return [function(*arguments) for function, arguments, _ in jobs]

    def _tokenize_beats(self, X, signals, r_peaks, starts, stops, leads, n_beats, n_dropped,
                        detection_leads, flat_leads):
        """Tokenize one chunk of records into its slices of ``transform``'s output arrays."""
        if self._resampling_ratio() == 1:
            with np.errstate(over="ignore", invalid="ignore"):
                signals[...] = X  # one pass: a float32 conversion, or a float16 copy
            resampled = signals
        else:
            resampled = self._resample(X)
        _check_finite(resampled)
        if self.bandpass is not None or self.normalize is not None:
            signals[...] = self._preprocess(resampled)
            detection_signals = resampled if resampled is not signals else signals.copy()
        else:
            if resampled is not signals:
                signals[...] = resampled
            detection_signals = signals
        n_records, n_leads, n_samples = signals.shape
        lead = self.detection_lead % n_leads
        peaks, indptr = detect_qrs_batch(detection_signals[:, lead], PROCESSING_RATE)
        detection_leads[...] = lead
        if self.detection_fallback and n_leads > 1:
            peaks, indptr = self._fallback(detection_signals, peaks, indptr, detection_leads)
        n_beats[...] = np.diff(indptr)
        beat_starts, beat_stops = beat_bounds(peaks, indptr, n_samples, self.t)
        beat, leads[...], n_dropped[...] = sentence_layout(n_beats, n_leads, self.l, self.truncation)
        # each slot's index in the chunk's beat arrays (computed in place of `beat`); padding slots
        # point one past the last beat, at a 0 appended to each array
        index = beat
        index += indptr[:-1, None]
        np.copyto(index, peaks.size, where=leads == 0)
        for values, target in ((peaks, r_peaks), (beat_starts, starts), (beat_stops, stops)):
            table = np.zeros(values.size + 1, dtype=np.int32)
            table[:-1] = values
            np.take(table, index, out=target, mode="clip")  # unbuffered; the index is in range
        flat_leads[...] = _flat_leads(signals)

    def _resampling_ratio(self):
        return resampling_ratio(self.sampling_rate)

    def _resample(self, X):
        return resample(X, self.sampling_rate)

    def _preprocess(self, signals):
        if self.bandpass is not None:
            low, high = self.bandpass
            if low is not None and high is not None:
                sos = sps.butter(self.filter_order, [low, high], "bandpass", fs=PROCESSING_RATE,
                                 output="sos")
            elif low is not None:
                sos = sps.butter(self.filter_order, low, "highpass", fs=PROCESSING_RATE, output="sos")
            elif high is not None:
                sos = sps.butter(self.filter_order, high, "lowpass", fs=PROCESSING_RATE, output="sos")
            else:
                sos = None
            if sos is not None:
                signals = sps.sosfiltfilt(sos, signals, axis=-1).astype(np.float32)
        if self.normalize == "zscore":
            signals = signals - signals.mean(axis=-1, keepdims=True)
            scale = signals.std(axis=-1, keepdims=True)
            signals = np.divide(signals, scale, out=np.zeros_like(signals), where=scale > 0)
        return signals

    def _fallback(self, signals, peaks, indptr, detection_leads):
        """Re-detect records with no beat on the detection lead on the other leads, in order."""
        counts = np.diff(indptr)
        missing = np.flatnonzero(counts == 0)
        if missing.size == 0:
            return peaks, indptr
        found = {}
        for lead in range(signals.shape[1]):
            if lead == detection_leads[0] or missing.size == 0:
                continue
            lead_peaks, lead_indptr = detect_qrs_batch(signals[missing, lead], PROCESSING_RATE)
            hit = np.diff(lead_indptr) > 0
            for record, lo, hi in zip(missing[hit], lead_indptr[:-1][hit], lead_indptr[1:][hit]):
                found[record] = lead_peaks[lo:hi]
                detection_leads[record] = lead
            missing = missing[~hit]
        if not found:
            return peaks, indptr
        per_record = [found.get(i, peaks[indptr[i]:indptr[i + 1]]) for i in range(len(counts))]
        new_counts = np.array([len(p) for p in per_record], dtype=np.int64)
        return np.concatenate(per_record).astype(np.int64), np.concatenate([[0], np.cumsum(new_counts)])

    def _report(self, sentences, flat_leads):
        n = len(sentences)
        empty = int(np.count_nonzero(sentences.n_beats == 0))
        if empty:
            warnings.warn(f"{empty} of {n} records have no detected beat (flat or beat-less); their "
                          f"sentences are all padding (see ECGSentences.n_beats)", UserWarning,
                          stacklevel=3)
        if not hasattr(self, "_tokenize_chunk"):  # beats (not fixed windows): is the rate plausible?
            first_lead = sentences.leads == 1
            indptr = np.concatenate([[0], np.cumsum(first_lead.sum(axis=1))])
            message = rate_warning(sentences.signals, sentences.detection_leads,
                                   sentences.r_peaks[first_lead].astype(np.int64), indptr,
                                   PROCESSING_RATE, self.sampling_rate)
            if message:
                warnings.warn(message, UserWarning, stacklevel=3)
        default_lead = self.detection_lead % flat_leads.shape[1]
        fallbacks = int(np.count_nonzero(sentences.detection_leads != default_lead))
        if fallbacks:
            warnings.warn(f"{fallbacks} of {n} records had no beat on detection lead "
                          f"{self.detection_lead}; detected on another lead instead (see "
                          f"ECGSentences.detection_leads)", UserWarning, stacklevel=3)
        n_flat = int(flat_leads.sum())
        if n_flat and flat_leads.shape[1] > 1:
            records = int(flat_leads.any(axis=1).sum())
            warnings.warn(f"{n_flat} flat (constant) leads in {records} of {n} records; their beat "
                          f"tokens are all zero", UserWarning, stacklevel=3)
