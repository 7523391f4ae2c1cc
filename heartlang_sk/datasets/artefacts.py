"""Artefacts injected into real ECG, to measure how a method copes with them.

Contract: every function returns a new array (the input is not changed) and the number of
artefacts it added, and is repeatable through ``seed``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_spikes"]


def add_spikes(signals, sampling_rate, per_second=0.2, largest=33.0, seed=0):
    """Add electrode-pop / saturation spikes to ECG records.

    Spikes are 1 to 6 ms wide (at least one sample), of 3 to ``largest`` (uniform) in the
    signal's unit (mV for raw records), of either sign, at Poisson times (``per_second`` per
    record-second on average), each inside one record.

    Parameters
    ----------
    signals : array-like of shape (n_samples,) or (..., n_samples)
        Records along the last axis.
    sampling_rate : float
        Hz.
    per_second : float, default=0.2
        Mean number of spikes per second of record.
    largest : float, default=33.0
        Largest spike height (the smallest is 3).
    seed : int, default=0

    Returns
    -------
    spiky : ndarray of float64, same shape as ``signals``
    count : int
        Number of spikes added.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.datasets.artefacts import add_spikes
    >>> spiky, count = add_spikes(np.zeros((4, 1000)), 100, per_second=1.0, seed=0)
    >>> count, bool(3 <= np.abs(spiky).max() <= 33)
    (43, True)
    """
    rng = np.random.default_rng(seed)
    spiky = np.array(signals, dtype=np.float64, copy=True)
    flat = spiky.reshape(-1)
    n_samples = spiky.shape[-1]
    n_records = flat.size // n_samples
    count = int(rng.poisson(per_second * flat.size / sampling_rate))
    widths = rng.integers(1, max(int(0.006 * sampling_rate), 1) + 1, count)
    starts = rng.integers(0, n_samples - widths + 1) + n_samples * rng.integers(0, n_records, count)
    heights = rng.uniform(3.0, largest, count) * rng.choice([-1.0, 1.0], count)
    for start, width, height in zip(starts, widths, heights):
        flat[start : start + width] += height
    return spiky, count
