"""Vectorized QRS (R-peak) detection for single- and multi-record ECG arrays.

The detector follows the classic band-pass / slope / moving-window-integration scheme (as in the
HeartLang tokenizer and Pan & Tompkins, 1985), but every step is a whole-array operation, so a
batch of records costs a handful of passes over the data instead of a Python loop per record or
per beat:

1. **Band-pass** (about 8-18 Hz): a centred moving average over 40 ms (low-pass) minus one over
   80 ms (removes baseline wander, P and T waves). Centred, so zero phase.
2. **Slope energy**: absolute difference of the band-passed signal 12.5 ms either side of each
   sample (a derivative limited to the QRS band, the same at every sampling rate), integrated over
   100 ms, about one QRS duration.
3. **Candidates**: local maxima of the energy that stand out from the energy around them (above
   1.5 times its mean over 0.75 s, about one beat), then a 250 ms refractory period: a candidate
   survives only if no larger one lies within 250 ms (non-maximum suppression).
4. **Adaptive threshold, local in time**: a candidate is a beat if its energy exceeds 0.3 times the
   geometric mean of the candidate energies within 5 s around it. The geometric mean follows slow
   amplitude changes and is not dominated by a few large ectopic beats or artefacts. As in Pan &
   Tompkins, a beat less than 360 ms after the previous one whose steepest slope is under half of
   the previous beat's is taken for that beat's T wave.
5. **R-peak position**: the extremum, within 75 ms of the energy peak, of the input signal after a
   10 ms running median (removes pacemaker spikes; no band-pass distortion of the R wave), with the
   polarity of the record's dominant QRS deflection; then the apex of the unfiltered signal within
   the median's half-width.

All durations are in seconds and converted to samples for the given sampling rate, so the detector
works at any sampling rate (100 Hz upwards is sensible: below about 60 Hz QRS complexes are not
resolved).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["detect_qrs", "detect_qrs_batch"]

_PARAMS = {
    "lowpass": 0.04,  # s, low-pass moving average; twice as long a one is subtracted (high-pass)
    "slope_lag": 0.0125,  # s, the slope is the difference of samples this far either side
    "integration": 0.10,  # s, moving-window integration of the slope (~QRS duration)
    "context": 0.75,  # s, window of the mean energy a QRS must stand out from (~one beat)
    "context_ratio": 1.5,  # a QRS energy peak is at least this many times the mean energy around it
    "refractory": 0.25,  # s, no two beats closer than this
    "level_window": 5.0,  # s, half-width of the window of the local beat-energy level
    "level_ratio": 0.3,  # a beat's energy is at least this fraction of the local level
    "t_wave": 0.36,  # s, a weak beat this soon after the previous one is taken for its T wave ...
    "t_wave_ratio": 0.5,  # ... if its steepest slope is below this fraction of the previous beat's
    "search": 0.075,  # s, half-width of the R-peak search window around the energy peak
    "despike": 0.01,  # s, running median applied before locating the R peak (no-op below ~150 Hz)
    "baseline": 0.125,  # s, half-width of the window whose mean is the baseline for the polarity
}


def _odd_width(seconds, sampling_rate):
    """Odd number of samples closest to `seconds`, so that a centred moving average has zero phase."""
    return max(2 * int(np.floor((seconds * sampling_rate - 1.0) / 2.0 + 0.5)) + 1, 1)


def _moving_average(x, width, out=None):
    if width <= 1:
        return x
    return ndimage.uniform_filter1d(x, width, axis=-1, mode="nearest", output=out)


def _validate(signals, sampling_rate, ndim):
    x = np.asarray(signals)
    if x.ndim != ndim:
        shape = "(n_samples,)" if ndim == 1 else "(n_records, n_samples)"
        raise ValueError(f"expected a {ndim}-D signal of shape {shape}, got an array with ndim={x.ndim}")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"expected a real-valued numeric signal, got dtype {x.dtype}")
    if isinstance(sampling_rate, bool):
        raise ValueError(f"sampling_rate must be a positive number in Hz, got {sampling_rate!r}")
    try:
        fs = float(sampling_rate)
    except (TypeError, ValueError):
        raise ValueError(f"sampling_rate must be a positive number in Hz, got {sampling_rate!r}") from None
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"sampling_rate must be a positive finite number in Hz, got {sampling_rate!r}")
    return x, fs


def _to_float32(x, pad):
    """Finite-checked float32 copy of `x`, each record's mean removed, edge-padded by `pad` samples.

    float32 halves the memory traffic of every pass; removing the mean keeps the precision of
    signals with a large offset (e.g. raw ADC units). Returns the padded array, shape
    (n_records, n_samples + 2 * pad).
    """
    n_records, n_samples = x.shape
    padded = np.empty((n_records, n_samples + 2 * pad), dtype=np.float32)
    middle = padded[:, pad : pad + n_samples]
    with np.errstate(over="ignore"):
        middle[...] = x
    if not np.isfinite(middle).all():
        if not np.isfinite(x).all():
            raise ValueError("signal contains NaN or infinite values; clean or interpolate them first")
        # finite values beyond the float32 range: only the shape matters, so rescale first
        middle[...] = x / np.abs(x).max()
    middle -= middle.mean(axis=1, keepdims=True)
    padded[:, :pad] = middle[:, :1]
    padded[:, pad + n_samples :] = middle[:, -1:]
    return padded


def _suppress_non_maxima(positions, rows, heights, distance):
    """Keep the candidates that have no larger kept candidate within `distance` samples (same row).

    `positions` are sorted flat indices. Neighbours are compared at increasing offsets in the sorted
    candidate list until no pair lies within `distance`; this loops over offsets (a few), not over
    candidates. Suppression by a candidate that is itself suppressed is undone by repeating the pass
    with only surviving candidates allowed to suppress (a chain A > B > C keeps A and C).
    """
    n = positions.size
    alive = np.ones(n, dtype=bool)
    pairs = []
    offset = 1
    while offset < n:
        close = (positions[offset:] - positions[:-offset] <= distance) & (rows[offset:] == rows[:-offset])
        first = np.flatnonzero(close)
        if first.size == 0:
            break
        pairs.append((first, first + offset))
        offset += 1
    if not pairs:
        return alive
    left = np.concatenate([a for a, _ in pairs])
    right = np.concatenate([b for _, b in pairs])
    left_wins = heights[left] >= heights[right]  # ties go to the earlier candidate
    for _ in range(4):
        suppressed = np.zeros(n, dtype=bool)
        suppressed[right[left_wins & alive[left]]] = True
        suppressed[left[~left_wins & alive[right]]] = True
        if np.array_equal(~suppressed, alive):
            break
        alive = ~suppressed
    return alive


def _detect(signals, fs, params):
    """Core detector on a validated array of shape (n_records, n_samples)."""
    n_records, n_samples = signals.shape
    p = params

    # 1. band-pass: moving average over w samples (low-pass) minus moving average over 2w - 1
    # samples (high-pass). The long sum is two short sums centred h = (w - 1) / 2 samples either
    # side, minus the shared centre sample, so one filtering pass gives both.
    width = max(_odd_width(p["lowpass"], fs), 3)
    h = width // 2
    search = max(int(round(p["search"] * fs)), 1)
    reach = max(int(round(p["baseline"] * fs)), search + _odd_width(p["despike"], fs) // 2)
    pad = max(2 * h, reach)
    padded = _to_float32(signals, pad)
    x = padded[:, pad : pad + n_samples]
    short = _moving_average(padded, width)  # short[:, k] is centred on padded[:, k]
    band = short[:, pad - h : pad - h + n_samples] + short[:, pad + h : pad + h + n_samples]  # x[i -+ h]
    band *= -width
    band += x
    band *= 1.0 / (2 * width - 1)  # minus the long moving average ...
    band += short[:, pad : pad + n_samples]  # ... plus the short one

    # 2. slope energy: |difference over +-lag| integrated over about one QRS duration. A lag fixed
    # in seconds (not one sample) keeps the same frequency response at every sampling rate.
    lag = max(int(round(p["slope_lag"] * fs)), 1)
    slope = short[:, :n_samples]  # reuses the buffer of `short`, no longer needed
    np.subtract(band[:, 2 * lag :], band[:, : -2 * lag], out=slope[:, lag:-lag])
    slope[:, :lag] = slope[:, lag : lag + 1]
    slope[:, -lag:] = slope[:, -lag - 1 : -lag]
    np.abs(slope, out=slope)
    integration = _odd_width(p["integration"], fs)
    energy = _moving_average(slope, integration, out=band)  # and `band` is no longer needed
    # The mean energy around a sample varies slowly: compute it on every `step`-th sample only
    # (block centres) and compare each block of `step` samples with its centre's value.
    step = max(integration // 2, 1)
    context = p["context_ratio"] * _moving_average(energy[:, step // 2 :: step], _odd_width(p["context"], fs / step))

    # 3. candidates: strict local maxima of the energy, away from the record edges, that stand out
    # from their context and from rounding noise (all-zero and constant records have ptp == 0)
    flat = energy.ravel()
    is_peak = np.empty((n_records, n_samples), dtype=bool)
    peak_flat = is_peak.ravel()
    np.greater(flat[1:-1], flat[:-2], out=peak_flat[1:-1])
    peak_flat[1:-1] &= flat[1:-1] >= flat[2:]
    is_peak[:, 0] = False
    is_peak[:, -1] = False
    n_blocks = n_samples // step
    blocked = n_blocks * step
    is_peak[:, :blocked].reshape(n_records, n_blocks, step)[...] &= (
        energy[:, :blocked].reshape(n_records, n_blocks, step) > context[:, :n_blocks, None]
    )
    if blocked < n_samples:
        is_peak[:, blocked:] &= energy[:, blocked:] > context[:, -1:]
    candidates = np.flatnonzero(is_peak)
    rows = candidates // n_samples
    heights = flat[candidates]
    amplitude = np.ptp(x, axis=1)[rows]
    keep = (heights > 1e-4 * amplitude) & (amplitude > 0)
    candidates, rows, heights = candidates[keep], rows[keep], heights[keep]

    refractory = max(int(round(p["refractory"] * fs)), 1)
    alive = _suppress_non_maxima(candidates, rows, heights, refractory)
    candidates, rows, heights = candidates[alive], rows[alive], heights[alive]

    # 4. local level: geometric mean of the candidate energies within +-level_window (same record),
    # from a cumulative sum over the sorted candidates and two searchsorted window bounds
    half = int(round(p["level_window"] * fs))
    record_start = rows * n_samples
    lo = np.searchsorted(candidates, np.maximum(candidates - half, record_start), side="left")
    hi = np.searchsorted(candidates, np.minimum(candidates + half, record_start + n_samples - 1), side="right")
    cumulative = np.concatenate(([0.0], np.cumsum(np.log(heights, dtype=np.float64))))
    level = np.exp((cumulative[hi] - cumulative[lo]) / (hi - lo))
    is_beat = heights > p["level_ratio"] * level
    if p["t_wave"] > p["refractory"]:
        # T-wave check (Pan & Tompkins): a beat less than `t_wave` s after the previous beat whose
        # steepest slope is under half of the previous beat's is that beat's T wave. A few passes,
        # as dropping one beat gives its successor a new predecessor.
        beat_idx = np.flatnonzero(is_beat)
        half_int = integration // 2
        steepest = np.zeros(heights.size, dtype=slope.dtype)  # filled for beats only
        beat_cols = candidates[beat_idx] - record_start[beat_idx]
        around_cols = np.clip(np.arange(-half_int, half_int + 1)[:, None] + beat_cols, 0, n_samples - 1)
        steepest[beat_idx] = slope[rows[beat_idx], around_cols].max(axis=0)
        for _ in range(3):
            prev, cur = beat_idx[:-1], beat_idx[1:]
            t_wave = (
                (candidates[cur] - candidates[prev] < p["t_wave"] * fs)
                & (rows[cur] == rows[prev])
                & (steepest[cur] < p["t_wave_ratio"] * steepest[prev])
            )
            if not t_wave.any():
                break
            is_beat[cur[t_wave]] = False
            beat_idx = np.flatnonzero(is_beat)
    candidates, rows = candidates[is_beat], rows[is_beat]
    cols = candidates - rows * n_samples

    # 5. R peak: extremum of the despiked signal near the energy peak, with the record's polarity.
    # Windows are gathered as columns, (window length, n_peaks), so that the reductions below run
    # across peaks; the padding (edge values) keeps every window inside the padded array.
    half_median = _odd_width(p["despike"], fs) // 2
    starts = rows * padded.shape[1] + pad + cols
    window = padded.ravel()[np.arange(-reach, reach + 1)[:, None] + starts]
    # polarity: sign of (max - baseline) - (baseline - min) near the peak, summed over the record,
    # the baseline being the mean over +-`baseline` s (mostly the isoelectric segments around)
    baseline = window.mean(axis=0)
    if half_median:
        # A running median over ~10 ms removes pacemaker spikes and single-sample glitches but
        # keeps R waves (20-40 ms wide at half height). Only the gathered windows are filtered.
        near = window[reach - search - half_median : reach + search + half_median + 1]
        near = np.median(np.lib.stride_tricks.sliding_window_view(near, 2 * half_median + 1, axis=0), axis=-1)
    else:
        near = window[reach - search : reach + search + 1]
    dominance = near.max(axis=0) + near.min(axis=0) - 2.0 * baseline
    polarity = np.where(np.bincount(rows, dominance, minlength=n_records) >= 0, 1, -1).astype(near.dtype)
    offset = np.argmax(near * polarity[rows], axis=0) - search  # relative to the energy peak
    if half_median:
        # the running median flattens the R apex into a short plateau: take the apex itself from the
        # unfiltered signal within the median's half-width
        apex_rows = reach + offset + np.arange(-half_median, half_median + 1)[:, None]
        apex = window[apex_rows, np.arange(offset.size)] * polarity[rows]
        offset += np.argmax(apex, axis=0) - half_median
    r_peaks = cols + offset

    # Two energy peaks may lead to the same R peak; an R peak on the record's first or last sample
    # is not a verified extremum (the QRS is cut by the record edge).
    keep = (r_peaks > 0) & (r_peaks < n_samples - 1)
    keep[1:] &= (r_peaks[1:] != r_peaks[:-1]) | (rows[1:] != rows[:-1])
    r_peaks, rows = r_peaks[keep], rows[keep]
    indptr = np.zeros(n_records + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_records), out=indptr[1:])
    return r_peaks.astype(np.int64), indptr


def detect_qrs_batch(signals, sampling_rate):
    """Detect R peaks in every row of a 2-D array of single-lead ECG records.

    All records are processed together with whole-array operations (no Python loop over records
    or beats). See the module docstring for the method.

    Parameters
    ----------
    signals : array-like of shape (n_records, n_samples)
        One single-lead ECG record per row, any real dtype (float16/32/64, integers); computed in
        float32. Units and offset do not matter.
    sampling_rate : float
        Sampling rate in Hz, shared by all records.

    Returns
    -------
    peaks : ndarray of int64 of shape (n_peaks,)
        R-peak sample indices of all records concatenated, sorted within each record.
    indptr : ndarray of int64 of shape (n_records + 1,)
        Record ``i``'s peaks are ``peaks[indptr[i]:indptr[i + 1]]`` (CSR layout).

    Raises
    ------
    ValueError
        If ``signals`` is not 2-D or not real-valued, contains NaN or infinite values, or if
        ``sampling_rate`` is not a positive finite number.

    Notes
    -----
    Flat, all-zero or constant records and records shorter than one refractory period yield no
    peaks. A record that contains no heartbeat at all (pure noise) may still yield peaks; the
    detector has no notion of a minimum signal quality.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk import detect_qrs_batch
    >>> fs = 100.0
    >>> t = np.arange(1000) / fs
    >>> beats = np.arange(0.5, 10, 0.8)  # 75 beats per minute
    >>> ecg = np.exp(-0.5 * ((t[:, None] - beats) / 0.012) ** 2).sum(axis=1)
    >>> signals = np.stack([ecg, -ecg, np.zeros(1000)])  # upright, inverted, flat
    >>> peaks, indptr = detect_qrs_batch(signals, fs)
    >>> indptr.tolist()
    [0, 12, 24, 24]
    >>> peaks[indptr[0]:indptr[1]][:4].tolist()
    [50, 130, 210, 290]
    >>> bool(np.array_equal(peaks[indptr[0]:indptr[1]], peaks[indptr[1]:indptr[2]]))
    True
    """
    x, fs = _validate(signals, sampling_rate, 2)
    n_records, n_samples = x.shape
    if n_records == 0 or n_samples < 2 * max(int(round(_PARAMS["refractory"] * fs)), 1) + 1:
        if not np.isfinite(x).all():
            raise ValueError("signal contains NaN or infinite values; clean or interpolate them first")
        return np.zeros(0, dtype=np.int64), np.zeros(n_records + 1, dtype=np.int64)
    return _detect(x, fs, _PARAMS)


def detect_qrs(signal, sampling_rate):
    """Detect R peaks in a single-lead ECG record.

    Same detector as :func:`detect_qrs_batch` (which it calls with one record).

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Single-lead ECG, any real dtype (float16/32/64, integers). Units and offset do not matter.
    sampling_rate : float
        Sampling rate in Hz.

    Returns
    -------
    ndarray of int64
        Sorted R-peak sample indices, in the input's sampling rate.

    Raises
    ------
    ValueError
        If ``signal`` is not 1-D or not real-valued, contains NaN or infinite values, or if
        ``sampling_rate`` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk import detect_qrs
    >>> fs = 360.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> beats = np.arange(0.4, 10, 0.75)  # 80 beats per minute
    >>> ecg = np.exp(-0.5 * ((t[:, None] - beats) / 0.01) ** 2).sum(axis=1)
    >>> ecg += 0.5 * np.sin(2 * np.pi * 0.3 * t)  # baseline wander
    >>> peaks = detect_qrs(ecg, fs)
    >>> np.round(peaks[:3] / fs, 2).tolist()
    [0.4, 1.15, 1.9]
    >>> detect_qrs(np.zeros(3600), fs)
    array([], dtype=int64)
    """
    x, fs = _validate(signal, sampling_rate, 1)
    peaks, _ = detect_qrs_batch(x[None, :], fs)
    return peaks
