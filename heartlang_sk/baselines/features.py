"""Hand-made ECG features: the baseline a learned embedding must beat.

:class:`ECGFeatures` turns 12-lead records into about 350 classic features -- heart rate and
RR-interval variability from detected R peaks, per-lead amplitude statistics and a coarse log power
spectrum per lead. It is a stateless scikit-learn transformer, so a linear probe on its output goes
through the same evaluation protocol (:mod:`heartlang_sk.evaluation`) as a HeartLang embedding.
(:class:`~heartlang_sk.baselines.RawSignal`, the raw down-sampled signal, is in ``raw_signal.py``.)
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import signal as sps
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..preprocessing.qrs import detect_qrs_batch
from ..preprocessing._signals import PROCESSING_RATE, as_records, check_sampling_rate, resample
from ._leads import _lead_names

__all__ = ["ECGFeatures"]

#: Rate (Hz) every record is resampled to before its features are computed, so that each feature
#: means the same thing for any input rate.

#: Default band edges (Hz) of the log power spectrum: 18 bands, finer where heart rate, P and T waves
#: put their power, coarser where the QRS does.
SPECTRUM_EDGES = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0,
                  23.0, 26.0, 30.0, 35.0, 40.0)

#: Per-lead amplitude statistics, before the percentiles.
_AMPLITUDE_STATS = ("std", "min", "max", "skew", "kurtosis", "mean_abs_diff")

#: Rhythm features, in output order. ``rr_missing`` flags records with fewer than 2 beats (all
#: interval features are then 0), ``diff_missing`` records with fewer than 3 beats (the successive
#: difference features are then 0), ``fallback_lead`` records whose beats came from the fallback lead.
_RHYTHM_FEATURES = (
    "n_beats", "beats_per_minute", "heart_rate", "rr_mean", "rr_median", "rr_std", "rr_min",
    "rr_max", "rr_iqr", "rr_cv", "rr_range_ratio", "rmssd", "rmssd_ratio", "mean_abs_diff_ratio",
    "max_abs_diff_ratio", "pnn20", "pnn50", "frac_diff_over_15pct", "rr_missing", "diff_missing",
    "fallback_lead",
)


def _csr_stats(values, indptr):
    """Per-row count, mean, std, min, max, median, 25th and 75th percentile of CSR rows (0 if empty).

    ``values`` must be grouped by row (``values[indptr[i]:indptr[i + 1]]`` is row ``i``).
    """
    n = len(indptr) - 1
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(n), counts)
    safe = np.maximum(counts, 1)
    mean = np.bincount(rows, values, minlength=n) / safe
    var = np.bincount(rows, (values - mean[rows]) ** 2, minlength=n) / safe
    # Sorting by (row, value) keeps the rows in place and orders each row, so order statistics are
    # plain look-ups at the row offsets.
    ordered = values[np.lexsort((values, rows))] if values.size else np.zeros(1)
    lo = np.minimum(indptr[:-1], max(values.size - 1, 0))

    def quantile(q):
        position = lo + q * (safe - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, lo + safe - 1)
        weight = position - below
        return ordered[below] * (1 - weight) + ordered[above] * weight

    stats = {"count": counts, "mean": mean, "std": np.sqrt(var), "min": quantile(0.0),
             "max": quantile(1.0), "median": quantile(0.5), "q25": quantile(0.25),
             "q75": quantile(0.75)}
    empty = counts == 0
    for key in ("mean", "std", "min", "max", "median", "q25", "q75"):
        stats[key] = np.where(empty, 0.0, stats[key])
    return stats


def _successive(values, indptr):
    """Differences of consecutive CSR values within each row, as a CSR array of one fewer per row."""
    counts = np.diff(indptr)
    n = len(counts)
    rows = np.repeat(np.arange(n), counts)
    same_row = rows[1:] == rows[:-1]
    diffs = np.diff(values)[same_row]
    new_counts = np.maximum(counts - 1, 0)
    return diffs, np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64)


def rhythm_features(signals, sampling_rate, detection_lead=0, fallback_lead=1, min_beats=2):
    """Rhythm and RR-interval features of single-lead detection signals (see :class:`ECGFeatures`).

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
        Records at ``sampling_rate``.
    sampling_rate : float
    detection_lead, fallback_lead : int
        R peaks are detected on ``detection_lead``; records where it yields fewer than
        ``min_beats`` beats are re-detected on ``fallback_lead`` (if the record has that lead).
    min_beats : int, default=2

    Returns
    -------
    ndarray of shape (n_records, 21), float64
        Columns in the order of ``_RHYTHM_FEATURES``.
    """
    n_records, n_leads, n_samples = signals.shape
    peaks, indptr = detect_qrs_batch(signals[:, detection_lead], sampling_rate)
    fallback = np.zeros(n_records, dtype=bool)
    few = np.flatnonzero(np.diff(indptr) < min_beats)
    if few.size and 0 <= fallback_lead < n_leads and fallback_lead != detection_lead:
        other, other_indptr = detect_qrs_batch(signals[few, fallback_lead], sampling_rate)
        better = np.diff(other_indptr) > np.diff(indptr)[few]
        if better.any():
            fallback[few[better]] = True
            per_record = [peaks[indptr[i]:indptr[i + 1]] for i in range(n_records)]
            for k in np.flatnonzero(better):
                per_record[few[k]] = other[other_indptr[k]:other_indptr[k + 1]]
            counts = np.array([len(p) for p in per_record])
            peaks = np.concatenate(per_record)
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    n_beats = np.diff(indptr).astype(np.float64)
    # Intervals and their differences in whole samples, so the pNN thresholds compare exact
    # integers (at 100 Hz a 50 ms difference is exactly 5 samples), then in seconds.
    rr_samples, rr_indptr = _successive(peaks.astype(np.float64), indptr)
    diff_samples, diff_indptr = _successive(rr_samples, rr_indptr)
    rr, diffs = rr_samples / sampling_rate, diff_samples / sampling_rate
    s = _csr_stats(rr, rr_indptr)
    d = _csr_stats(np.abs(diffs), diff_indptr)
    diff_rows = np.repeat(np.arange(n_records), np.diff(diff_indptr))
    n_diffs = np.maximum(d["count"], 1)

    def fraction_over(seconds):
        hits = np.abs(diff_samples) > seconds * sampling_rate
        return np.bincount(diff_rows, hits, minlength=n_records) / n_diffs

    has_rr = s["count"] > 0
    mean = np.where(has_rr, s["mean"], 1.0)  # 1.0 only guards the divisions below
    rmssd = np.sqrt(np.bincount(diff_rows, diffs**2, minlength=n_records) / n_diffs)
    relative = np.abs(diffs) / mean[diff_rows]
    columns = [
        n_beats,
        n_beats * 60.0 * sampling_rate / n_samples,
        np.where(has_rr, 60.0 / mean, 0.0),
        s["mean"], s["median"], s["std"], s["min"], s["max"], s["q75"] - s["q25"],
        s["std"] / mean,
        (s["max"] - s["min"]) / mean,
        rmssd,
        rmssd / mean,
        d["mean"] / mean,
        d["max"] / mean,
        fraction_over(0.02),
        fraction_over(0.05),
        np.bincount(diff_rows, relative > 0.15, minlength=n_records) / n_diffs,
        (~has_rr).astype(np.float64),
        (d["count"] == 0).astype(np.float64),
        fallback.astype(np.float64),
    ]
    return np.stack(columns, axis=1)


def amplitude_features(signals, percentiles):
    """Per-lead amplitude statistics, shape (n_records, n_leads, 6 + len(percentiles))."""
    x = signals.astype(np.float64, copy=False)
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    squared = centred * centred  # products, not **: float powers are several times slower
    m2 = squared.mean(axis=-1)
    m3 = np.mean(squared * centred, axis=-1)
    m4 = np.mean(squared * squared, axis=-1)
    flat = m2 <= 1e-12 * np.maximum(np.abs(mean[..., 0]) ** 2, 1.0)
    safe = np.where(flat, 1.0, m2)
    skew = np.where(flat, 0.0, m3 / safe**1.5)
    kurtosis = np.where(flat, 0.0, m4 / safe**2 - 3.0)
    mean_abs_diff = (np.abs(np.diff(x, axis=-1)).mean(axis=-1) if x.shape[-1] > 1
                     else np.zeros(x.shape[:2]))
    stats = [np.sqrt(m2), x.min(axis=-1), x.max(axis=-1), skew, kurtosis, mean_abs_diff]
    if len(percentiles):
        stats.extend(np.moveaxis(np.percentile(x, percentiles, axis=-1), 0, -1).transpose(2, 0, 1))
    return np.stack(stats, axis=-1)


def _band_weights(frequencies, edges):
    """Matrix (n_frequencies, n_bands) that averages a spectrum over each band.

    A band too narrow to hold a frequency bin (a short record has a coarse frequency grid) takes the
    spectrum linearly interpolated at its centre instead, so every band is defined.
    """
    edges = np.asarray(edges, dtype=np.float64)
    weights = np.zeros((len(frequencies), len(edges) - 1))
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = (frequencies >= lo) & (frequencies < hi)
        if inside.any():
            weights[inside, b] = 1.0 / inside.sum()
        else:
            centre = (lo + hi) / 2
            k = int(np.clip(np.searchsorted(frequencies, centre) - 1, 0, len(frequencies) - 1))
            if k + 1 < len(frequencies):
                w = (centre - frequencies[k]) / (frequencies[k + 1] - frequencies[k])
                w = float(np.clip(w, 0.0, 1.0))
                weights[k, b], weights[k + 1, b] = 1 - w, w
            else:
                weights[k, b] = 1.0
    return weights


def spectrum_features(signals, sampling_rate, edges, segment_seconds=2.56):
    """log1p of the mean Welch power in each band, shape (n_records, n_leads, len(edges) - 1)."""
    n_samples = signals.shape[-1]
    nperseg = max(1, min(n_samples, int(round(segment_seconds * sampling_rate))))
    frequencies, power = sps.welch(signals, fs=sampling_rate, nperseg=nperseg, axis=-1,
                                   detrend="constant")
    return np.log1p(power @ _band_weights(frequencies, edges))


class ECGFeatures(TransformerMixin, BaseEstimator):
    """Classic hand-made ECG features: rhythm, per-lead amplitude statistics and a log spectrum.

    The strong non-learned baseline of the evaluation protocol: a linear probe on these features is
    what a learned ECG embedding has to beat. Every record is resampled to 100 Hz first, so the
    features mean the same for any input rate. Three groups, in output order:

    - **Rhythm** (21): R peaks from :func:`heartlang_sk.detect_qrs_batch` on ``detection_lead``
      (lead I), re-detected on ``fallback_lead`` (lead II) when lead I yields fewer than 2 beats.
      Beat count, beats per minute, heart rate (60 / mean RR), RR mean / median / std / min / max /
      inter-quartile range, coefficient of variation, range / mean, RMSSD and RMSSD / mean RR, mean
      and maximum absolute successive difference / mean RR, pNN20, pNN50, fraction of successive
      differences over 15 % of the mean RR, and three 0/1 indicators: ``rr_missing`` (fewer than 2
      beats: every interval feature is 0), ``diff_missing`` (fewer than 3 beats: the successive
      difference features are 0) and ``fallback_lead``.
    - **Amplitude** (per lead, 6 + ``len(percentiles)``): standard deviation, minimum, maximum,
      skewness, excess kurtosis, mean absolute first difference, and the ``percentiles``. Flat leads
      get skewness and kurtosis 0.
    - **Spectrum** (per lead, ``len(spectrum_edges) - 1``): ``log1p`` of the mean Welch power
      spectral density (2.56-s Hann segments) in each band of ``spectrum_edges`` Hz.

    With 12 leads and the defaults that is 21 + 12 * 11 + 12 * 18 = 369 features, float32 and never
    NaN. The computation is vectorized across records (loops run over leads or bands only).

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required, as for :class:`heartlang_sk.QRSTokenizer`:
        a wrong rate silently yields wrong heart rates (500 Hz records read as 100 Hz report
        about 70 bpm whatever the rhythm), so there is no default.
    detection_lead : int, default=0
        Lead for R-peak detection (0 = lead I in the standard order).
    fallback_lead : int, default=1
        Lead used instead for records where ``detection_lead`` yields fewer than 2 beats
        (1 = lead II); ignored when the records have fewer leads.
    percentiles : sequence of float, default=(5, 25, 50, 75, 95)
        Per-lead amplitude percentiles (0-100).
    spectrum_edges : sequence of float, optional
        Band edges in Hz, increasing, at most 50 (the Nyquist frequency at 100 Hz). Default:
        ``SPECTRUM_EDGES``, 18 bands from 0 to 40 Hz (1-Hz bands up to 6 Hz, then wider).
    chunk_size : int, default=1000
        Records processed at once. Bounds the memory of the float64 intermediates (about 0.5 GB
        per 1,000 10-s 12-lead records); the output does not depend on it.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads (3-D input) or samples (2-D input) seen in ``fit``.
    n_leads_ : int
        Number of leads seen in ``fit`` (1 for 2-D input).

    See Also
    --------
    RawSignal : the raw-signal baseline.
    heartlang_sk.evaluation.evaluate_embeddings : the linear-probe protocol.

    Notes
    -----
    A 2-D input ``(n_records, n_samples)`` is read as single-lead records, as by
    :class:`heartlang_sk.QRSTokenizer`. Feature names come from :meth:`get_feature_names_out`.

    References
    ----------
    .. [1] P. Wagner et al., "PTB-XL, a large publicly available electrocardiography dataset",
       Scientific Data 7, 154 (2020).
    .. [2] N. Strodthoff et al., "Deep learning for ECG analysis: benchmarks and insights from
       PTB-XL", IEEE JBHI 25(5), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.baselines.features import ECGFeatures
    >>> X, y = make_ecg(6, classes=["brady", "tachy"], random_state=0)
    >>> features = ECGFeatures(sampling_rate=100)
    >>> F = features.fit_transform(X)
    >>> F.shape, F.dtype
    ((6, 369), dtype('float32'))
    >>> names = features.get_feature_names_out()
    >>> names[:3].tolist(), names[-1]
    (['n_beats', 'beats_per_minute', 'heart_rate'], 'V6_power_35-40Hz')
    >>> rate = F[:, names.tolist().index("heart_rate")]
    >>> bool(rate[y == "brady"].max() < rate[y == "tachy"].min())
    True
    >>> bool(np.isfinite(F).all())
    True
    """

    def __init__(self, sampling_rate=None, *, detection_lead=0, fallback_lead=1,
                 percentiles=(5, 25, 50, 75, 95), spectrum_edges=None, chunk_size=1000):
        self.sampling_rate = sampling_rate
        self.detection_lead = detection_lead
        self.fallback_lead = fallback_lead
        self.percentiles = percentiles
        self.spectrum_edges = spectrum_edges
        self.chunk_size = chunk_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _edges(self):
        return SPECTRUM_EDGES if self.spectrum_edges is None else tuple(self.spectrum_edges)

    def _check_params(self, n_leads):
        check_sampling_rate(self.sampling_rate)
        for name, low in (("detection_lead", 0), ("fallback_lead", 0), ("chunk_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.detection_lead >= n_leads:
            raise ValueError(f"detection_lead={self.detection_lead} but X has {n_leads} leads")
        percentiles = np.asarray(self.percentiles, dtype=float)
        if percentiles.ndim != 1 or not ((percentiles >= 0) & (percentiles <= 100)).all():
            raise ValueError(f"percentiles must be a sequence of numbers in [0, 100], got "
                             f"{self.percentiles!r}")
        edges = np.asarray(self._edges(), dtype=float)
        if (edges.ndim != 1 or len(edges) < 2 or not (np.diff(edges) > 0).all() or edges[0] < 0
                or edges[-1] > PROCESSING_RATE / 2):
            raise ValueError(f"spectrum_edges must be at least two increasing frequencies in "
                             f"[0, {PROCESSING_RATE / 2:g}] Hz, got {self.spectrum_edges!r}")

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
        X = as_records(self, X, reset=True)
        self._check_params(X.shape[1])
        self.n_leads_ = X.shape[1]
        return self

    def transform(self, X):
        """Compute the features of every record.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals at ``sampling_rate``; lead count must match ``fit``.

        Returns
        -------
        ndarray of shape (n_records, n_features_out), float32
        """
        check_is_fitted(self)
        X = as_records(self, X, reset=False)
        self._check_params(X.shape[1])
        return np.concatenate([self._transform_chunk(X[start:start + self.chunk_size])
                               for start in range(0, len(X), self.chunk_size)])

    def _transform_chunk(self, X):
        signals = resample(X, self.sampling_rate)
        n = len(signals)
        rhythm = rhythm_features(signals, PROCESSING_RATE, self.detection_lead, self.fallback_lead)
        amplitude = amplitude_features(signals, list(self.percentiles)).reshape(n, -1)
        spectrum = spectrum_features(signals, PROCESSING_RATE, self._edges()).reshape(n, -1)
        return np.concatenate([rhythm, amplitude, spectrum], axis=1).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: rhythm names, then ``<lead>_<statistic>`` lead by lead.

        Parameters
        ----------
        input_features : array-like of str, optional
            For 3-D input, lead names (one per lead) used in place of the defaults (the standard
            12 lead names, or ``lead1``, ``lead2``, ... for other lead counts).

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self)
        leads = _lead_names(self, input_features)
        stats = list(_AMPLITUDE_STATS) + [f"p{q:g}" for q in self.percentiles]
        edges = self._edges()
        bands = [f"power_{lo:g}-{hi:g}Hz" for lo, hi in zip(edges[:-1], edges[1:])]
        names = list(_RHYTHM_FEATURES)
        names += [f"{lead}_{stat}" for lead in leads for stat in stats]
        names += [f"{lead}_{band}" for lead in leads for band in bands]
        return np.asarray(names, dtype=object)



def __getattr__(name):
    # RawSignal lived here before baselines/raw_signal.py: old imports and pickles still find it.
    if name == "RawSignal":
        from .raw_signal import RawSignal

        return RawSignal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
