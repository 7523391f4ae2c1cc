"""QRSTokenizer.official: the preprocessing of the sentences the released HeartLang models read."""

import numpy as np
from scipy.signal import butter, filtfilt

from heartlang_sk import QRSTokenizer
from heartlang_sk.datasets import make_ecg


def test_the_preset_is_the_explicit_configuration():
    X, _ = make_ecg(4, sampling_rate=500, random_state=0)
    preset = QRSTokenizer.official(sampling_rate=500)
    explicit = QRSTokenizer(sampling_rate=500, truncation="official", bandpass=(0.67, 40.0), filter_order=5)
    assert preset.get_params() == explicit.get_params()
    np.testing.assert_array_equal(preset.fit_transform(X).tokens, explicit.fit_transform(X).tokens)
    assert QRSTokenizer.official(sampling_rate=100, n_jobs=2).n_jobs == 2


def test_its_band_pass_is_the_official_filter():
    X, _ = make_ecg(2, sampling_rate=100, random_state=1)
    X = X + np.linspace(-1, 1, X.shape[-1])  # baseline drift for the high-pass edge to remove
    filtered = QRSTokenizer.official(sampling_rate=100)._preprocess(X.astype(np.float32))
    b, a = butter(5, [0.67, 40], btype="band", fs=100)  # the official mimic_preprocess.bandpass_filter
    official = filtfilt(b, a, X, axis=-1)
    # sosfiltfilt and filtfilt pad the ends alike: equal to float32 precision over the whole record
    assert np.abs(filtered - official).max() < 1e-5 * np.abs(official).max()
