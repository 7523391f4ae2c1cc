"""Checks and resampling shared by the estimators that read raw ECG signals."""

from __future__ import annotations

import numbers
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


def as_records(estimator, X, reset, ensure_all_finite=True):
    """``validate_data`` for ``(n_records, n_leads, n_samples)`` signals.

    A 2-D ``(n_records, n_samples)`` array is read as one-lead records; float16 (a compact ECG
    storage format) is kept, other inputs become float32 or float64.
    """
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
