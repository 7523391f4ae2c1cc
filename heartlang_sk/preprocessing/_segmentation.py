"""Cut detected beats into lead-major ECG sentences (HeartLang's segmentation, vectorized)."""

from __future__ import annotations

import numpy as np

TRUNCATION_MODES = ("balanced", "official")


def beat_bounds(peaks, indptr, n_samples, t):
    """Span of every beat: from the midpoint with the previous R peak to the midpoint with the next.

    The first and last beats of a record extend ``t // 2`` samples either side of their R peak, and
    every beat is cut to ``[R - t//2, R + t - t//2)`` so it fits a window of ``t`` samples with the R
    peak at index ``t // 2``.

    Parameters
    ----------
    peaks : ndarray of int, shape (n_peaks,)
        All records' R peaks, concatenated (CSR layout with ``indptr``), sorted within a record.
    indptr : ndarray of int, shape (n_records + 1,)
    n_samples : int
    t : int

    Returns
    -------
    starts, stops : ndarray of int64, shape (n_peaks,)
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    half = t // 2
    starts = peaks - half
    stops = peaks + (t - half)
    if peaks.size:
        is_first = np.zeros(peaks.size, dtype=bool)
        is_first[indptr[:-1][np.diff(indptr) > 0]] = True
        midpoints = (peaks[:-1] + peaks[1:] + 1) // 2
        # A beat starts where the previous one stops, unless it is its record's first beat.
        starts[1:] = np.where(is_first[1:], starts[1:], np.maximum(starts[1:], midpoints))
        stops[:-1] = np.where(is_first[1:], stops[:-1], np.minimum(stops[:-1], midpoints))
    return np.clip(starts, 0, n_samples), np.clip(stops, 0, n_samples)


def sentence_layout(n_beats, n_leads, l, truncation="balanced"):
    """Which beat of which lead fills each of a sentence's ``l`` token slots.

    Sentences are lead-major: the kept beats of lead 1, then of lead 2, and so on.

    - ``"balanced"``: when ``n_beats * n_leads > l``, every lead keeps its first ``l // n_leads``
      beats, so no lead is lost (the remaining ``l % n_leads`` slots stay padding).
    - ``"official"``: the first ``l`` tokens of the full lead-major sequence, as the official
      HeartLang code does; above about 126 bpm the last leads are lost.

    Parameters
    ----------
    n_beats : ndarray of int, shape (n_records,)
    n_leads, l : int
    truncation : {"balanced", "official"}

    Returns
    -------
    beat : ndarray of int64, shape (n_records, l)
        Index of the beat within its record (0 for padding).
    lead : ndarray of int16, shape (n_records, l)
        Lead number 1..n_leads, 0 for padding.
    n_dropped : ndarray of int64, shape (n_records,)
        Beat tokens that did not fit.
    """
    if truncation not in TRUNCATION_MODES:
        raise ValueError(f"truncation must be one of {TRUNCATION_MODES}, got {truncation!r}")
    n_beats = np.asarray(n_beats, dtype=np.int64)
    per_lead = n_beats
    if truncation == "balanced" and l >= n_leads:
        per_lead = np.minimum(n_beats, l // n_leads)
    # The layout depends only on the beats per lead, and records share a few distinct counts: lay
    # out one row per count and copy rows (dividing every slot of every record is much slower).
    counts, inverse = np.unique(per_lead, return_inverse=True)
    slot = np.arange(l, dtype=np.int64)
    real = slot < np.minimum(counts * n_leads, l)[:, None]
    divisor = np.maximum(counts, 1)[:, None]
    beat = np.where(real, slot % divisor, 0)[inverse]
    lead = np.where(real, slot // divisor + 1, 0).astype(np.int16)[inverse]
    return beat, lead, n_beats * n_leads - np.minimum(per_lead * n_leads, l)
