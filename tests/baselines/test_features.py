"""Baselines: ECGFeatures, RawSignal and the FixedWindowTokenizer ablation."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from heartlang_sk import ECGSentences, QRSTokenizer, detect_qrs_batch
from heartlang_sk.datasets import make_ecg
from heartlang_sk.baselines.features import ECGFeatures, RawSignal
from heartlang_sk.preprocessing.window_tokenizer import FixedWindowTokenizer


def feature(F, estimator, name):
    return F[:, list(estimator.get_feature_names_out()).index(name)]


# -- scikit-learn conventions ----------------------------------------------------------------------
# As for QRSTokenizer: a 2-D check row of n values is one lead of n seconds at sampling_rate=1, so
# every common check's data is long enough after resampling to 100 Hz (the rate both estimators
# work at). RawSignal does not resample; target_rate=sampling_rate also checks the identity case.
@parametrize_with_checks([ECGFeatures(sampling_rate=1), RawSignal(sampling_rate=100),
                          RawSignal(sampling_rate=100, target_rate=100),
                          FixedWindowTokenizer(sampling_rate=1)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


# -- ECGFeatures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic():
    X, y, peaks = make_ecg(60, sampling_rate=500, return_peaks=True, random_state=1)
    estimator = ECGFeatures(sampling_rate=500).fit(X)
    return X, y, peaks, estimator, estimator.transform(X)


def test_features_are_about_350_named_finite_float32(synthetic):
    X, _, _, estimator, F = synthetic
    names = estimator.get_feature_names_out()
    assert F.shape == (60, 369) == (len(X), len(names)) and F.dtype == np.float32
    assert np.isfinite(F).all()
    assert len(set(names)) == len(names)
    assert {"heart_rate", "rmssd", "pnn50", "rr_missing", "V1_kurtosis", "II_p95",
            "aVR_power_0-1Hz", "V6_power_35-40Hz"} <= set(names)
    lead_names = [f"L{k}" for k in range(12)]
    assert estimator.get_feature_names_out(lead_names)[21] == "L0_std"


def test_rr_features_are_those_of_the_detected_beats(synthetic):
    X, _, _, estimator, F = synthetic
    X100 = make_ecg(60, sampling_rate=100, random_state=1)[0]
    F100 = ECGFeatures(sampling_rate=100).fit_transform(X100)
    peaks, indptr = detect_qrs_batch(X100[:, 0], 100)
    for i in range(0, 60, 7):
        rr_samples = np.diff(peaks[indptr[i]:indptr[i + 1]])
        rr, diffs = rr_samples / 100, np.diff(rr_samples) / 100
        expected = {"n_beats": len(rr) + 1, "rr_mean": rr.mean(), "rr_median": np.median(rr),
                    "rr_std": rr.std(), "rr_min": rr.min(), "rr_max": rr.max(),
                    "heart_rate": 60 / rr.mean(), "rmssd": np.sqrt(np.mean(diffs**2)),
                    # more than 50 ms = more than 5 samples, compared exactly in samples
                    "pnn50": np.mean(np.abs(np.diff(rr_samples)) > 5),
                    "rr_cv": rr.std() / rr.mean()}
        for name, value in expected.items():
            assert feature(F100, estimator, name)[i] == pytest.approx(value, rel=1e-5), name


def test_heart_rate_matches_the_true_rate(synthetic):
    _, y, peaks, estimator, F = synthetic
    true_rate = np.array([60 * 500 / np.diff(p).mean() for p in peaks])
    error = np.abs(feature(F, estimator, "heart_rate") - true_rate)
    # The R-peak detector occasionally adds or misses a beat (most often in bradycardia with a
    # small lead-I QRS); the features must match the truth wherever the beats are right.
    assert np.median(error) < 0.5
    assert np.mean(error < 2.0) >= 0.9
    median_rate = 60 / feature(F, estimator, "rr_median")
    assert np.mean(np.abs(median_rate - true_rate) < 5.0) >= 0.9


def test_heart_rate_and_irregularity_separate_the_synthetic_classes(synthetic):
    X, y, _, estimator, F = synthetic
    rate = feature(F, estimator, "heart_rate")
    assert rate[y == "brady"].max() < rate[y == "tachy"].min()
    assert np.median(rate[y == "brady"]) < 60 < 100 < np.median(rate[y == "tachy"])
    cv = feature(F, estimator, "rr_cv")
    assert np.median(cv[y == "afib"]) > 3 * np.median(cv[y == "normal"])
    pair = np.isin(y, ["brady", "tachy"])
    model = make_pipeline(StandardScaler(), LogisticRegression())
    assert cross_val_score(model, F[pair], y[pair], cv=4).mean() == 1.0
    assert cross_val_score(model, F, y, cv=4).mean() > 0.6  # six classes, 60 records: chance 1/6


def test_flat_leads_fall_back_and_beatless_records_stay_finite():
    X, _, peaks = make_ecg(3, classes=["normal"], return_peaks=True, random_state=2)
    X[1, 0] = 0.0  # lead I disconnected: beats from lead II
    X[2] = 0.0  # no signal at all
    estimator = ECGFeatures(sampling_rate=100).fit(X)
    F = estimator.transform(X)
    assert np.isfinite(F).all()
    np.testing.assert_array_equal(feature(F, estimator, "fallback_lead"), [0, 1, 0])
    np.testing.assert_array_equal(feature(F, estimator, "rr_missing"), [0, 0, 1])
    np.testing.assert_array_equal(feature(F, estimator, "diff_missing"), [0, 0, 1])
    true_rate = 60 * 100 / np.diff(peaks[1]).mean()
    assert feature(F, estimator, "heart_rate")[1] == pytest.approx(true_rate, rel=0.05)
    for name in ("heart_rate", "rr_mean", "rmssd", "I_skew", "I_kurtosis"):
        assert feature(F, estimator, name)[2] == 0.0


def test_chunks_do_not_change_the_features(synthetic):
    X, _, _, estimator, F = synthetic
    np.testing.assert_array_equal(ECGFeatures(sampling_rate=500, chunk_size=7).fit_transform(X), F)


def test_any_sampling_rate_gives_the_same_features():
    X500, _ = make_ecg(4, sampling_rate=500, noise=0.0, baseline_wander=0.0, random_state=3)
    from scipy.signal import resample_poly
    X100 = resample_poly(X500, 1, 5, axis=-1).astype(np.float32)
    estimator = ECGFeatures(sampling_rate=500).fit(X500)
    F500, F100 = estimator.transform(X500), ECGFeatures(sampling_rate=100).fit_transform(X100)
    np.testing.assert_allclose(F500, F100, rtol=1e-4, atol=1e-4)


def test_spectrum_puts_a_sine_in_its_band():
    t = np.arange(1000) / 100
    X = np.sin(2 * np.pi * 10.5 * t)[None, None, :].repeat(12, axis=1).astype(np.float32)
    estimator = ECGFeatures(sampling_rate=100).fit(X)
    F = estimator.transform(X)
    names = list(estimator.get_feature_names_out())
    bands = [k for k, name in enumerate(names) if name.startswith("I_power")]
    assert names[bands[int(np.argmax(F[0, bands]))]] == "I_power_10-12Hz"


@pytest.mark.parametrize("params, message", [
    ({"sampling_rate": 0}, "sampling_rate"), ({"percentiles": (50, 101)}, "percentiles"),
    ({"spectrum_edges": (0, 30, 20)}, "spectrum_edges"), ({"detection_lead": 12}, "detection_lead"),
])
def test_invalid_parameters(params, message):
    X, _ = make_ecg(2, random_state=0)
    with pytest.raises(ValueError, match=message):
        ECGFeatures(**{"sampling_rate": 100, **params}).fit(X)


def test_sampling_rate_is_required():
    X, _ = make_ecg(2, sampling_rate=500, random_state=0)
    with pytest.raises(ValueError, match=r"sampling_rate is unknown: pass sampling_rate=<Hz>"):
        ECGFeatures().fit(X)


def test_heart_rate_of_500hz_records_is_right_with_the_rate_given():
    X, y, peaks = make_ecg(3, sampling_rate=500, classes=["brady", "tachy", "normal"], return_peaks=True,
                           random_state=5)
    F = ECGFeatures(sampling_rate=500).fit(X)
    names = list(F.get_feature_names_out())
    rate = F.transform(X)[:, names.index("heart_rate")]
    truth = [len(p) * 6 for p in peaks]  # beats in 10 s
    np.testing.assert_allclose(rate, truth, atol=8)


def test_features_on_real_records(ptbxl2k_path):
    X = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")[:300].astype(np.float32)
    estimator = ECGFeatures(sampling_rate=100).fit(X)
    F = estimator.transform(X)
    assert np.isfinite(F).all()
    rate = feature(F, estimator, "heart_rate")
    assert 55 < np.median(rate) < 90  # resting 12-lead ECGs
    assert feature(F, estimator, "rr_missing").sum() == 0


# -- RawSignal -------------------------------------------------------------------------------------
def test_raw_signal_averages_windows_lead_after_lead():
    X = np.random.default_rng(0).normal(size=(3, 12, 1000)).astype(np.float32)
    raw = RawSignal(sampling_rate=100, target_rate=10).fit(X)
    Z = raw.transform(X)
    assert Z.shape == (3, 1200) and Z.dtype == np.float32
    np.testing.assert_allclose(Z.reshape(3, 12, 100), X.reshape(3, 12, 100, 10).mean(-1), atol=1e-6)
    assert raw.get_feature_names_out()[[0, 100]].tolist() == ["I_0", "II_0"]
    short = RawSignal(sampling_rate=3, target_rate=1).fit_transform(X[:, :, :10])  # 0-2, 3-5, 6-8, 9
    np.testing.assert_allclose(short[0, 3], X[0, 0, 9])
    with pytest.raises(ValueError, match="samples per lead"):
        raw.transform(X[:, :, :900])
    with pytest.raises(ValueError, match="target_rate must be a positive number"):
        RawSignal(sampling_rate=100, target_rate=0).fit(X)


# -- FixedWindowTokenizer (the tokenization ablation) ----------------------------------------------
def test_windows_are_fixed_lead_major_and_ignore_the_beats():
    X, _ = make_ecg(3, random_state=0)
    S = FixedWindowTokenizer(sampling_rate=100).fit_transform(X)
    assert isinstance(S, ECGSentences) and S.shape == (3, 256, 96)
    assert S.n_tokens.tolist() == [120] * 3 and S.n_beats.tolist() == [10] * 3
    assert S.n_dropped.tolist() == [0] * 3
    real = ~S.padding_mask[0]
    np.testing.assert_array_equal(S.leads[0, real], np.repeat(np.arange(1, 13), 10))
    np.testing.assert_array_equal(S.r_peaks[0, :10], np.arange(10) * 96 + 48)
    np.testing.assert_array_equal(S.times[0, :10], (np.arange(10) * 96 + 48) // 100 + 1)
    tokens = S.tokens
    for k in (0, 9, 15, 119):
        lead, window = k // 10, k % 10
        np.testing.assert_array_equal(tokens[1, k], X[1, lead, window * 96:(window + 1) * 96])
    assert not tokens[:, 120:].any() and (S.times[:, 120:] == 0).all()


def test_windows_see_the_same_signals_as_the_beat_tokenizer():
    X, _ = make_ecg(2, sampling_rate=500, random_state=4)
    options = dict(sampling_rate=500, bandpass=(0.5, None), normalize="zscore")
    windows = FixedWindowTokenizer(**options).fit_transform(X)
    beats = QRSTokenizer(**options).fit_transform(X)
    np.testing.assert_array_equal(windows.signals, beats.signals)


def test_stride_and_truncation():
    X, _ = make_ecg(2, random_state=0)
    S = FixedWindowTokenizer(sampling_rate=100, stride=48).fit_transform(X)
    assert S.n_beats.tolist() == [19, 19]  # (1000 - 96) // 48 + 1, overlapping by half
    assert S.n_tokens.tolist() == [12 * 19] * 2
    short = FixedWindowTokenizer(sampling_rate=100, t=20).fit_transform(X)  # 50 windows x 12
    assert np.bincount(short.leads[0], minlength=13)[1:].tolist() == [21] * 12
    assert short.n_dropped[0] == 600 - 252
    official = FixedWindowTokenizer(sampling_rate=100, t=20, truncation="official").fit_transform(X)
    assert official.n_tokens[0] == 256 and official.leads[0].max() == 6


def test_window_tokenizer_bad_input():
    X, _ = make_ecg(2, random_state=0)
    with pytest.raises(ValueError, match="stride"):
        FixedWindowTokenizer(sampling_rate=100, stride=0).fit(X)
    with pytest.raises(ValueError, match="too short"):
        FixedWindowTokenizer(sampling_rate=100).fit(X[:, :, :50])
    with pytest.raises(ValueError, match="sampling_rate"):
        FixedWindowTokenizer().fit(X)
    with pytest.warns(UserWarning, match="flat"):
        X[0, 3] = 0.0
        FixedWindowTokenizer(sampling_rate=100).fit_transform(X)
