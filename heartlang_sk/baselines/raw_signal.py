"""The raw signal, averaged over short windows and flattened: the simplest baseline of all.

:class:`RawSignal` is a stateless scikit-learn transformer; a linear probe on it shows what the
signal gives without any learned or hand-made representation.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..preprocessing._signals import as_records, check_sampling_rate
from ._leads import _lead_names

__all__ = ["RawSignal"]


class RawSignal(TransformerMixin, BaseEstimator):
    """The raw signal, averaged over non-overlapping windows and flattened lead after lead.

    The "raw down-sampled signal + logistic regression" baseline: no knowledge of ECG at all.
    Each lead is cut into consecutive windows of ``1 / target_rate`` seconds (the last one possibly
    shorter) and each window is replaced by its mean, so a 10-s, 12-lead record becomes
    12 x 100 = 1,200 values at the default ``target_rate=10`` (10 Hz), whatever its sampling rate.
    When ``sampling_rate / target_rate`` is not a whole number of samples, the window edges are
    rounded to the nearest sample (windows of 25 or 26 samples for 257 Hz to 10 Hz).

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required (as for :class:`ECGFeatures`), unless the
        deprecated ``downsample`` is given.
    target_rate : float, default=10
        Output values per second and lead: each is the mean of ``1 / target_rate`` seconds. At most
        ``sampling_rate``; equal to it passes the signal through.
    downsample : int, optional
        Deprecated: samples averaged into one output value, whatever the sampling rate. Still
        works (with a ``FutureWarning``) when ``sampling_rate`` is not given;
        ``downsample=10`` on 100-Hz records is ``sampling_rate=100, target_rate=10``.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads (3-D input) or samples (2-D input) seen in ``fit``.
    n_leads_ : int
        Number of leads seen in ``fit`` (1 for 2-D input).
    n_samples_in_ : int
        Samples per lead seen in ``fit``; ``transform`` requires the same.

    See Also
    --------
    ECGFeatures : the hand-made feature baseline.

    References
    ----------
    .. [1] N. Strodthoff et al., "Deep learning for ECG analysis: benchmarks and insights from
       PTB-XL", IEEE JBHI 25(5), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.baselines.features import RawSignal
    >>> X = np.arange(2 * 3 * 25, dtype=np.float32).reshape(2, 3, 25)
    >>> Z = RawSignal(sampling_rate=100, target_rate=10).fit_transform(X)
    >>> Z.shape
    (2, 9)
    >>> Z[0, :3].tolist()  # means of samples 0-9, 10-19 and 20-24 of lead 1
    [4.5, 14.5, 22.0]
    >>> RawSignal(sampling_rate=500).fit_transform(np.ones((1, 12, 5000))).shape  # 10 s at 10 Hz
    (1, 1200)
    """

    def __init__(self, sampling_rate=None, *, target_rate=10.0, downsample="deprecated"):
        self.sampling_rate = sampling_rate
        self.target_rate = target_rate
        self.downsample = downsample

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _uses_downsample(self):
        return not (isinstance(self.downsample, str) and self.downsample == "deprecated")

    def _check_params(self, warn=False):
        if self._uses_downsample():
            if self.sampling_rate is not None:
                raise ValueError(f"give sampling_rate and target_rate, not also the deprecated "
                                 f"downsample (got sampling_rate={self.sampling_rate!r}, "
                                 f"downsample={self.downsample!r})")
            value = self.downsample
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"downsample must be a positive integer, got {value!r}")
            if warn:
                warnings.warn(f"RawSignal(downsample=...) is deprecated and will be removed in "
                              f"0.3: pass sampling_rate=<input Hz> and target_rate=<output Hz> "
                              f"(downsample={value} on 100-Hz records is sampling_rate=100, "
                              f"target_rate={100 / value:g})", FutureWarning, stacklevel=3)
            return
        check_sampling_rate(self.sampling_rate)
        check_sampling_rate(self.target_rate, "target_rate")
        if self.target_rate > self.sampling_rate:
            raise ValueError(f"target_rate={self.target_rate!r} Hz is above sampling_rate="
                             f"{self.sampling_rate!r} Hz; RawSignal only averages samples")

    def _window_starts(self, n_samples):
        """First sample of each output window."""
        if self._uses_downsample():
            return np.arange(0, n_samples, self.downsample)
        step = self.sampling_rate / self.target_rate
        # tolerance: a target_rate computed as sampling_rate / k must give exactly n_samples / k
        n_windows = int(np.ceil(n_samples * self.target_rate / self.sampling_rate - 1e-6))
        return np.round(np.arange(n_windows) * step).astype(np.intp)

    def fit(self, X, y=None):
        """Check parameters and record the number of leads and samples.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
        y : ignored

        Returns
        -------
        self
        """
        self._check_params(warn=True)
        X = as_records(self, X, reset=True)
        self.n_leads_, self.n_samples_in_ = X.shape[1:]
        return self

    def transform(self, X):
        """Average over windows of ``1 / target_rate`` seconds and flatten.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)

        Returns
        -------
        ndarray of shape (n_records, n_leads * n_windows), float32
            ``n_windows = ceil(n_samples * target_rate / sampling_rate)``.
        """
        check_is_fitted(self)
        self._check_params()
        X = as_records(self, X, reset=False)
        if X.shape[2] != self.n_samples_in_:
            raise ValueError(f"X has {X.shape[2]} samples per lead, but RawSignal was fitted on "
                             f"{self.n_samples_in_}")
        n, n_leads, n_samples = X.shape
        starts = self._window_starts(n_samples)
        sums = np.add.reduceat(X.astype(np.float64, copy=False), starts, axis=-1)
        sizes = np.diff(np.append(starts, n_samples))
        return (sums / sizes).reshape(n, -1).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        """Names ``<lead>_<window>`` of the output values, lead after lead.

        Parameters
        ----------
        input_features : array-like of str, optional
            For 3-D input, lead names used in place of the defaults.

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self)
        leads = _lead_names(self, input_features)
        n_windows = len(self._window_starts(self.n_samples_in_))
        return np.asarray([f"{lead}_{k}" for lead in leads for k in range(n_windows)], dtype=object)
