"""Is the declared sampling rate plausible? Heart rate and QRS width of a tokenized batch.

A wrong ``sampling_rate`` does not fail: the detector finds "beats" in a signal stretched or
squeezed in time. Two batch statistics of real ECG make it obvious: the median heart rate (30-250
bpm in any clinical batch) and the median width at half height of each record's tallest R wave
(20-40 ms; bundle-branch blocks reach about 100 ms in single records). Contract:
:func:`rate_warning` returns one line naming the measured values and the likely sampling rate, or
``None`` when the batch looks like ECG at the declared rate (or has too few beats to tell).
"""

from __future__ import annotations

import numpy as np

HEART_RATE_RANGE = (30.0, 250.0)  # bpm, plausible batch median
# s, largest plausible batch median of the tallest beats' R-wave width at half height. Measured at
# 100 Hz on ptbxl-2k (every lead), raw PTB-XL and MIT-BIH: batch medians 20-40 ms (up to 70 ms for
# 5 records), single records up to 120 ms (about 1 % over 90 ms: bundle-branch blocks).
R_WIDTH_LIMIT = 0.09  # s, with 3 or more records
R_WIDTH_LIMIT_FEW_RECORDS = 0.125  # s, with 1 or 2
TYPICAL_HEART_RATE = 75.0  # bpm
TYPICAL_R_WIDTH = 0.022  # s (the batch median at 100 Hz is 20-30 ms)
COMMON_RATES = (100, 125, 200, 250, 300, 360, 400, 500, 1000, 2000)
MIN_BEATS = 20  # fewer beats in the whole batch: no verdict


def r_wave_widths(signals, records, peaks, sampling_rate, half_window=0.25):
    """Width (s) of the R wave at half its height above the local median, for each given beat.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_samples)
    records, peaks : ndarray of int, shape (n_beats,)
        Record and sample index of each R peak.
    sampling_rate : float
    half_window : float
        Seconds either side of the peak that the median baseline and the width may span.

    Returns
    -------
    widths, heights : ndarray of float, shape (n_beats,)
        Widths in seconds and apex heights above the local median.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) / 100.0
    >>> x = np.exp(-0.5 * ((t - 5.0) / 0.015) ** 2)[None]  # Gaussian R wave, 35 ms at half height
    >>> r_wave_widths(x, np.array([0]), np.array([500]), 100.0)[0].round(2).tolist()
    [0.03]
    """
    half = max(int(round(half_window * sampling_rate)), 2)
    padded = np.pad(np.asarray(signals, dtype=np.float64), ((0, 0), (half, half)), mode="edge")
    offsets = np.arange(-half, half + 1)
    windows = padded[np.asarray(records)[:, None], np.asarray(peaks)[:, None] + half + offsets]
    windows = windows - np.median(windows, axis=1, keepdims=True)
    apex = windows[:, half : half + 1]
    above = windows * np.sign(apex) > 0.5 * np.abs(apex)
    # contiguous run of samples above half height through the apex
    right = np.cumprod(above[:, half:], axis=1).sum(axis=1)
    left = np.cumprod(above[:, half::-1], axis=1).sum(axis=1)
    return (left + right - 1) / sampling_rate, np.abs(apex[:, 0])


def tallest_beat_widths(signals, leads, peaks, indptr, sampling_rate, n_records=256):
    """R-wave width (s) of the tallest detected beat of each of up to `n_records` records.

    The tallest beats are real R waves even where a wrong sampling rate makes the detector take
    noise and T waves for beats as well. A beat's height is its distance from its record's mean.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
    leads : ndarray of int, shape (n_records,)
        Lead the beats of each record were detected on.
    peaks, indptr : ndarray of int
        R peaks (CSR layout, as :func:`heartlang_sk.detect_qrs_batch` returns).
    sampling_rate : float
    n_records : int
        Records measured, evenly spread over the batch.

    Returns
    -------
    ndarray of float
        One width per measured record that has beats.
    """
    counts = np.diff(indptr)
    chosen = np.unique(np.linspace(0, counts.size - 1, min(counts.size, n_records)).astype(np.int64))
    chosen = chosen[counts[chosen] > 0]
    if chosen.size == 0:
        return np.zeros(0)
    rows = np.asarray(signals[chosen, np.asarray(leads)[chosen]], dtype=np.float32)
    records = np.repeat(np.arange(chosen.size), counts[chosen])
    is_chosen = np.zeros(counts.size, dtype=bool)
    is_chosen[chosen] = True
    beats = peaks[np.repeat(is_chosen, counts)]  # in record order
    heights = np.abs(rows[records, beats] - rows.mean(axis=1)[records])
    # the tallest beat per record: sort by (record, height) and take each record's last
    order = np.lexsort((heights, records))
    last = order[np.flatnonzero(np.r_[records[order][1:] != records[order][:-1], True])]
    return r_wave_widths(rows, records[last], beats[last], sampling_rate)[0]


def _likely_rate(declared, factor):
    estimate = declared * factor
    return min(COMMON_RATES, key=lambda rate: abs(np.log(rate / estimate)))


def rate_warning(signals, leads, peaks, indptr, processing_rate, sampling_rate):
    """One-line warning when a batch's heart rate or R-wave width is implausible, else ``None``.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
        The batch at ``processing_rate``.
    leads : ndarray of int, shape (n_records,)
        Detection lead of each record.
    peaks, indptr : ndarray of int
        R peaks of all records (CSR layout, as :func:`heartlang_sk.detect_qrs_batch` returns).
    processing_rate : float
        Rate of ``signals`` (Hz).
    sampling_rate : float
        The rate the user declared for the input.

    Returns
    -------
    str or None

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.preprocessing.qrs import detect_qrs_batch
    >>> t = np.arange(5000) / 100.0  # beats 4 s apart, R waves 0.11 s wide: 500 Hz read as 100 Hz
    >>> x = sum(np.exp(-0.5 * ((t - b) / 0.047) ** 2) for b in np.arange(1, 49, 4.0))
    >>> X = np.tile(x, (4, 1, 1))
    >>> peaks, indptr = detect_qrs_batch(X[:, 0], 100)
    >>> print(rate_warning(X, np.zeros(4, int), peaks, indptr, 100, 100))
    median heart rate 15 bpm and median R-wave width 110 ms at sampling_rate=100 Hz are implausible for ECG: are the records sampled at about 500 Hz? Pass the true sampling_rate
    """
    counts = np.diff(indptr)
    if peaks.size < MIN_BEATS:
        return None
    record = np.repeat(np.arange(counts.size), counts)
    rr = np.diff(peaks)[record[1:] == record[:-1]].astype(np.float64)
    heart_rate = 60.0 * processing_rate / np.median(rr) if rr.size >= MIN_BEATS // 2 else None
    widths = tallest_beat_widths(signals, leads, peaks, indptr, processing_rate)
    width = float(np.median(widths))
    widest = R_WIDTH_LIMIT if widths.size >= 3 else R_WIDTH_LIMIT_FEW_RECORDS
    problems, factors = [], []
    if heart_rate is not None and not HEART_RATE_RANGE[0] <= heart_rate <= HEART_RATE_RANGE[1]:
        problems.append(f"median heart rate {heart_rate:.0f} bpm")
        factors.append(TYPICAL_HEART_RATE / heart_rate)
    if width > widest:
        problems.append(f"median R-wave width {1000 * width:.0f} ms")
        factors.append(width / TYPICAL_R_WIDTH)
    if not problems:
        return None
    likely = _likely_rate(sampling_rate, float(np.exp(np.mean(np.log(factors)))))
    verb = "are" if len(problems) > 1 else "is"
    return (f"{' and '.join(problems)} at sampling_rate={sampling_rate:g} Hz {verb} implausible for ECG: "
            f"are the records sampled at about {likely:g} Hz? Pass the true sampling_rate")
