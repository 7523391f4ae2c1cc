"""RawSignal takes sampling_rate like ECGFeatures; the old downsample still works, with a warning."""

import warnings

import numpy as np
import pytest

from heartlang_sk.baselines.features import ECGFeatures, RawSignal
from heartlang_sk.datasets import make_ecg


def test_raw_signal_gives_the_same_values_per_second_at_any_sampling_rate():
    X100, _ = make_ecg(3, sampling_rate=100, random_state=0)
    X500, _ = make_ecg(3, sampling_rate=500, random_state=0)
    Z100 = RawSignal(sampling_rate=100).fit_transform(X100)
    Z500 = RawSignal(sampling_rate=500).fit_transform(X500)
    assert Z100.shape == Z500.shape == (3, 12 * 100)  # 10 s at the default 10 Hz
    # the same synthetic ECG drawn at two rates gives nearly the same 0.1-s means
    assert np.corrcoef(Z100.ravel(), Z500.ravel())[0, 1] > 0.97  # 0.989: their noise differs
    np.testing.assert_allclose(Z500.reshape(3, 12, 100), X500.reshape(3, 12, 100, 50).mean(-1),
                               atol=1e-5)


def test_a_rate_that_does_not_divide_rounds_the_window_edges():
    X = np.random.default_rng(0).normal(size=(2, 1, 520)).astype(np.float32)
    raw = RawSignal(sampling_rate=257, target_rate=10).fit(X)
    Z = raw.transform(X)
    assert Z.shape == (2, 21)  # 20 windows of 25-26 samples, and samples 514-519
    edges = np.round(np.arange(21) * 25.7).astype(int)
    np.testing.assert_allclose(Z[0, 1], X[0, 0, edges[1]:edges[2]].mean(), rtol=1e-5)
    assert len(raw.get_feature_names_out()) == 21


def test_sampling_rate_is_required_and_checked_like_ecg_features():
    X, _ = make_ecg(2, random_state=0)
    with pytest.raises(ValueError, match="sampling_rate is unknown"):
        RawSignal().fit(X)
    with pytest.raises(ValueError, match="target_rate=200 Hz is above sampling_rate=100 Hz"):
        RawSignal(sampling_rate=100, target_rate=200).fit(X)
    assert set(RawSignal().get_params()) >= {"sampling_rate"} and \
        "sampling_rate" in ECGFeatures().get_params()


def test_deprecated_downsample_still_works_with_a_future_warning():
    X, _ = make_ecg(2, random_state=0)
    with pytest.warns(FutureWarning, match=r"downsample=\.\.\.\) is deprecated.*sampling_rate=100, "
                                           r"target_rate=10\)"):
        old = RawSignal(downsample=10).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling warns about nothing
        new = RawSignal(sampling_rate=100, target_rate=10).fit(X)
        np.testing.assert_array_equal(old.transform(X), new.transform(X))
    assert old.get_feature_names_out().tolist() == new.get_feature_names_out().tolist()
    with pytest.raises(ValueError, match="not also the deprecated downsample"):
        RawSignal(sampling_rate=100, downsample=10).fit(X)
    with pytest.raises(ValueError, match="downsample must be a positive integer"):
        RawSignal(downsample=0).fit(X)
