"""Evaluation metrics."""

from __future__ import annotations

import numpy as np

__all__ = ["qrs_detection_scores"]


def qrs_detection_scores(reference, detected, sampling_rate, tolerance=0.15):
    """Score detected beats against reference beats (sensitivity, positive predictivity, F1).

    Each reference beat is matched to at most one detection and each detection to at most one
    reference beat, when they are at most ``tolerance`` seconds apart. The matching is the
    greedy left-to-right pairing of the two time-sorted lists, which for equal tolerance windows
    gives the largest possible number of pairs. Matched pairs are true positives, unmatched
    detections false positives, unmatched reference beats false negatives.

    Parameters
    ----------
    reference : array-like of int
        Sample indices of the reference (annotated) beats.
    detected : array-like of int
        Sample indices of the detected beats.
    sampling_rate : float
        Sampling rate in Hz of both index lists.
    tolerance : float, default=0.15
        Largest distance in seconds between a reference beat and its matched detection
        (150 ms is the usual choice for QRS detector benchmarks on MIT-BIH).

    Returns
    -------
    dict
        ``tp``, ``fp``, ``fn`` (int) and ``sensitivity`` = tp / (tp + fn),
        ``ppv`` = tp / (tp + fp) (positive predictivity, +P) and
        ``f1`` = 2 tp / (2 tp + fp + fn) (float; 1.0 when the denominator is 0, i.e. when both
        lists are empty).

    Raises
    ------
    ValueError
        If ``sampling_rate`` is not positive or ``tolerance`` is negative.

    Examples
    --------
    >>> from heartlang_sk.evaluation.metrics import qrs_detection_scores
    >>> scores = qrs_detection_scores([100, 200, 300], [102, 260, 301, 500], sampling_rate=100)
    >>> scores["tp"], scores["fp"], scores["fn"]
    (2, 2, 1)
    >>> round(scores["f1"], 3)
    0.571
    """
    sampling_rate = float(sampling_rate)
    if not np.isfinite(sampling_rate) or sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be a positive number, got {sampling_rate!r}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0 seconds, got {tolerance!r}")
    ref = np.sort(np.asarray(reference, dtype=np.float64).ravel()) / sampling_rate
    det = np.sort(np.asarray(detected, dtype=np.float64).ravel()) / sampling_rate
    # Two sorted lists with a common tolerance: advance whichever side can no longer be matched.
    tp = i = j = 0
    eps = 1e-9  # so that a distance of exactly `tolerance` counts despite float rounding
    while i < ref.size and j < det.size:
        if abs(det[j] - ref[i]) <= tolerance + eps:
            tp += 1
            i += 1
            j += 1
        elif det[j] < ref[i]:
            j += 1
        else:
            i += 1
    fp = int(det.size - tp)
    fn = int(ref.size - tp)
    return {
        "tp": int(tp),
        "fp": fp,
        "fn": fn,
        "sensitivity": tp / (tp + fn) if tp + fn else 1.0,
        "ppv": tp / (tp + fp) if tp + fp else 1.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 1.0,
    }
