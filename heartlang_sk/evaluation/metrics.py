"""Evaluation metrics: QRS detection against reference beats, and the macro ROC-AUC of the linear-probe
protocol (over the classes that have both labels)."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ._labels import _label_matrix

__all__ = ["MacroAUC", "macro_auc", "qrs_detection_scores"]

#: Macro ROC-AUC with the classes it was computed over. ``score`` is the mean of ``per_class``
#: (which is what ``roc_auc_score(average="macro")`` computes); ``classes`` are the column names
#: (DataFrame input) or indices of the classes that have both labels in ``Y_true``.
MacroAUC = namedtuple("MacroAUC", ["score", "classes", "per_class"])


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


def macro_auc(Y_true, Y_score):
    """Macro ROC-AUC over the classes that have both a positive and a negative record.

    A class without positives (or without negatives) in ``Y_true`` has no ROC curve; it is left
    out rather than failing the whole score, and the classes used are returned with it.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_records, n_classes)
        0/1 labels; DataFrame column names name the classes in the result.
    Y_score : array-like of shape (n_records, n_classes)
        Scores (probabilities, logits, any monotone score) per class.

    Returns
    -------
    MacroAUC
        ``(score, classes, per_class)``: the macro AUC (NaN, with a warning, when no class has
        both labels), the classes used (names or column indices) and a dict class -> AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.evaluation import macro_auc
    >>> Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    >>> S = np.array([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5], [0.7, 0.25, 0.5], [0.3, 0.3, 0.5]])
    >>> score, classes, per_class = macro_auc(Y, S)    # class 2 has no positive: left out
    >>> round(score, 3), classes.tolist(), {k: round(v, 2) for k, v in per_class.items()}
    (0.875, [0, 1], {0: 1.0, 1: 0.75})
    """
    names = list(Y_true.columns) if isinstance(Y_true, pd.DataFrame) else None
    truth = _label_matrix(Y_true, "Y_true")
    scores = np.asarray(Y_score, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.shape != truth.shape:
        raise ValueError(f"Y_true has shape {truth.shape} but Y_score has shape {scores.shape}")
    used = np.flatnonzero(truth.min(axis=0) != truth.max(axis=0)) if len(truth) else np.zeros(0, int)
    classes = np.asarray(names, dtype=object)[used] if names is not None else used
    if used.size == 0:
        warnings.warn("macro_auc: no class has both positive and negative records; the score is "
                      "undefined (NaN)", UserWarning, stacklevel=2)
        return MacroAUC(float("nan"), classes, {})
    per_class = np.atleast_1d(roc_auc_score(truth[:, used], scores[:, used], average=None))
    keys = [c.item() if isinstance(c, np.generic) else c for c in classes]
    return MacroAUC(float(per_class.mean()), classes, dict(zip(keys, per_class.tolist())))
