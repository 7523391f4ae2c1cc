"""Checks and resampling shared by the estimators that read raw ECG signals."""

from __future__ import annotations

import numbers
import warnings
from fractions import Fraction

import numpy as np
from scipy import signal as sps
from sklearn.utils.validation import validate_data

PROCESSING_RATE = 100.0
"""Hz: the rate every HeartLang stage works at (as the official code)."""


def check_sampling_rate(rate, name="sampling_rate"):
    """Raise ``ValueError`` unless ``rate`` is a positive, finite number of Hz."""
    if rate is None:
        raise ValueError(f"{name} is unknown: pass {name}=<Hz>")
    if (not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not np.isfinite(rate)
            or rate <= 0):
        raise ValueError(f"{name} must be a positive number of Hz, got {rate!r}")


STANDARD_LEADS = 12


def _check_not_one_record(estimator, shape, reset):
    """A 2-D array that looks like one multi-lead record (leads first): error or warning with ``X[None]``.

    Read as records, ``(12, n)`` is twelve one-lead records. When the estimator was fitted on
    records with as many leads as the first axis (and of another length than the second), that
    cannot be meant: error. Otherwise, when the first axis is 12, it is probably one record: warning.
    """
    fitted = None if reset else getattr(estimator, "n_features_in_", None)
    # fitted on 2-D records, n_features_in_ is their length (then a 2-D X of that length is right);
    # fitted on 3-D records, it is their lead count
    if fitted is not None and shape[1] != fitted and shape[0] == fitted:
        raise ValueError(f"X is 2-D {shape}, read as {shape[0]} one-lead records, but "
                         f"{type(estimator).__name__} was fitted on {fitted}-lead records; for one "
                         f"{fitted}-lead record pass X[None] (shape (1, {shape[0]}, {shape[1]}))")
    if not reset and shape[0] == STANDARD_LEADS:  # in transform only: fit_transform warns once
        warnings.warn(f"X of shape {shape} is read as {shape[0]} one-lead records; if it is one "
                      f"{shape[0]}-lead record, pass X[None] (shape (1, {shape[0]}, {shape[1]}))",
                      UserWarning, stacklevel=4)


def as_records(estimator, X, reset, ensure_all_finite=True):
    """``validate_data`` for ``(n_records, n_leads, n_samples)`` signals.

    A 2-D ``(n_records, n_samples)`` array is read as one-lead records; float16 (a compact ECG
    storage format) is kept, other inputs become float32 or float64. A 2-D array that looks like one
    12-lead record, ``(12, n_samples)``, gives a warning that names ``X[None]``; given to an
    estimator fitted on multi-lead records, a 2-D array is an error that says so.
    """
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)):
        shape = np.shape(X)
    if shape is not None and len(shape) == 2:
        _check_not_one_record(estimator, tuple(int(n) for n in shape), reset)
    X = validate_data(estimator, X, reset=reset, allow_nd=True, ensure_all_finite=ensure_all_finite,
                      dtype=[np.float32, np.float64, np.float16], ensure_min_features=1)
    if X.ndim == 2:
        X = X[:, None, :]
    elif X.ndim != 3:
        raise ValueError(f"X must have shape (n_records, n_leads, n_samples) or "
                         f"(n_records, n_samples); got {X.ndim} dimensions {X.shape}")
    return X


def resampling_ratio(sampling_rate, target=PROCESSING_RATE):
    """``target / sampling_rate`` as a small fraction (up / down factors for ``resample_poly``)."""
    return Fraction(target / sampling_rate).limit_denominator(1000)


def resample(X, sampling_rate, target=PROCESSING_RATE):
    """Polyphase resampling along the last axis to ``target`` Hz, float32."""
    ratio = resampling_ratio(sampling_rate, target)
    if ratio == 1:
        return np.asarray(X, dtype=np.float32)
    return sps.resample_poly(X, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32,
                                                                                    copy=False)
