"""QRSTokenizer and ECGSentences: layout, truncation, real records, bad input, scikit-learn API."""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from heartlang_sk import ECGSentences, QRSTokenizer
from heartlang_sk.preprocessing._segmentation import beat_bounds, sentence_layout


def beat_train(n_records=3, n_leads=12, fs=100.0, seconds=10.0, bpm=75.0, phase=0.3):
    """Spiky beats at known times: lead k is the same train scaled by (k + 1)."""
    n_samples = int(seconds * fs)
    t = np.arange(n_samples) / fs
    beat_times = np.arange(phase, seconds, 60.0 / bpm)
    wave = sum(np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in beat_times)
    wave += sum(0.25 * np.exp(-0.5 * ((t - b - 0.25) / 0.04) ** 2) for b in beat_times)  # T waves
    X = np.stack([np.stack([(k + 1) * wave for k in range(n_leads)])] * n_records)
    return X.astype(np.float32), np.round(beat_times * 100).astype(int)


# -- scikit-learn conventions ----------------------------------------------------------------------
# A 2-D check row of n values is read as one lead of n seconds at sampling_rate=1, so every common
# check's data is long enough to hold a beat after resampling to 100 Hz.
@parametrize_with_checks([QRSTokenizer(sampling_rate=1)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


# -- segmentation (SPEC section 1) ---------------------------------------------------------------
def test_beat_bounds_use_midpoints_and_r_plus_minus_48():
    peaks = np.array([50, 130, 300, 60, 500])  # two records: [50, 130, 300] and [60, 500]
    indptr = np.array([0, 3, 5])
    starts, stops = beat_bounds(peaks, indptr, n_samples=1000, t=96)
    np.testing.assert_array_equal(starts, [2, 90, 252, 12, 452])
    np.testing.assert_array_equal(stops, [90, 178, 348, 108, 548])


def test_sentence_layout_is_lead_major_and_balanced_truncation_keeps_every_lead():
    beat, lead, dropped = sentence_layout(np.array([3, 30]), n_leads=12, l=256)
    np.testing.assert_array_equal(lead[0, :7], [1, 1, 1, 2, 2, 2, 3])
    np.testing.assert_array_equal(beat[0, :7], [0, 1, 2, 0, 1, 2, 0])
    assert (lead[0, 36:] == 0).all() and dropped[0] == 0
    # 30 beats x 12 leads = 360 tokens > 256: every lead keeps its first 21 beats.
    assert np.bincount(lead[1], minlength=13)[1:].tolist() == [21] * 12
    assert dropped[1] == 360 - 252


def test_official_truncation_keeps_first_tokens_and_loses_last_leads():
    beat, lead, dropped = sentence_layout(np.array([30]), n_leads=12, l=256, truncation="official")
    assert (lead[0] > 0).all()
    assert lead[0].max() == 9  # 256 // 30 = 8 full leads, then part of lead 9
    assert dropped[0] == 360 - 256


def test_tokens_hold_beats_with_r_at_48_and_zero_padding():
    X, beat_samples = beat_train(bpm=75)
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    assert isinstance(S, ECGSentences) and S.shape == (3, 256, 96)
    n = len(beat_samples)
    assert S.n_beats.tolist() == [n] * 3
    assert S.n_tokens.tolist() == [12 * n] * 3 and S.n_dropped.tolist() == [0] * 3
    tokens, leads, times = S.tokens, S.leads, S.times
    assert tokens.dtype == np.float32 and leads.dtype == np.int16
    real = leads[0] > 0
    # R peak at index 48, every lead's beat scaled by its lead number.
    assert (np.abs(tokens[0, real].argmax(axis=1) - 48) <= 1).all()
    np.testing.assert_allclose(tokens[0, real].max(axis=1), leads[0, real] * tokens[0, 0].max(),
                               rtol=1e-4)
    # Lead-major order, and the time index is the second of the R peak, counted from 1.
    assert leads[0, real].tolist() == sorted(leads[0, real].tolist())
    np.testing.assert_array_equal(times[0, :n], S.r_peaks[0, :n] // 100 + 1)
    np.testing.assert_array_equal(np.abs(S.r_peaks[0, :n] - beat_samples) <= 1, True)
    # Padding: index 0 and all-zero samples.
    assert (leads[0, ~real] == 0).all() and (times[0, ~real] == 0).all()
    assert not tokens[0, ~real].any()
    # Outside a beat's midpoint span the window is zero: at 75 bpm (80 samples) both ends are.
    middle = n // 2
    assert tokens[0, middle, :5].sum() == 0 and tokens[0, middle, -5:].sum() == 0


def test_fast_rhythm_truncation_counts_what_is_dropped():
    X, beat_samples = beat_train(n_records=1, bpm=150)
    n = len(beat_samples)
    balanced = QRSTokenizer(sampling_rate=100).fit_transform(X)
    official = QRSTokenizer(sampling_rate=100, truncation="official").fit_transform(X)
    assert 12 * n > 256
    assert sorted(set(balanced.leads[0]) - {0}) == list(range(1, 13))
    assert balanced.n_dropped[0] == 12 * n - 12 * (256 // 12)
    assert max(official.leads[0]) < 12 and official.n_tokens[0] == 256
    assert official.n_dropped[0] == 12 * n - 256


@pytest.mark.parametrize("fs", [250, 360, 500, 1000])
def test_any_sampling_rate_gives_the_100hz_sentences(fs):
    X100, _ = beat_train(n_records=2, bpm=70)
    X, beat_samples = beat_train(n_records=2, fs=fs, bpm=70)
    S = QRSTokenizer(sampling_rate=fs).fit_transform(X)
    S100 = QRSTokenizer(sampling_rate=100).fit_transform(X100)
    assert S.shape == S100.shape and S.signals.shape[-1] == 1000
    np.testing.assert_array_equal(S.leads, S100.leads)
    assert np.abs(S.r_peaks.astype(int) - S100.r_peaks).max() <= 1


def test_bandpass_and_zscore_options():
    X, _ = beat_train(n_records=2)
    drift = 3.0 * np.sin(2 * np.pi * 0.15 * np.arange(X.shape[-1]) / 100)
    gain = np.arange(1, 13)[:, None]  # the same drift in every lead, scaled like the beats
    S = QRSTokenizer(sampling_rate=100, bandpass=(0.5, 40.0), normalize="zscore").fit_transform(
        X + (gain * drift).astype(np.float32))
    assert np.abs(S.signals.mean(axis=-1)).max() < 1e-4
    np.testing.assert_allclose(S.signals.std(axis=-1), 1.0, rtol=1e-3)
    # z-scoring removes the per-lead gain: every lead now has the same beats.
    np.testing.assert_allclose(S.signals[0, 0], S.signals[0, 11], atol=1e-4)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("X, message", [
    (np.zeros((2, 12, 1000, 1)), "dimensions"),
    (np.zeros(1000), "2D array"),
    (np.full((2, 12, 1000), np.nan), "NaN"),
    (np.full((2, 12, 1000), np.inf), "infinity"),
    (np.array([[["a"] * 1000] * 12] * 2), "string"),
    (np.zeros((2, 12, 90)), "too short for one beat"),
])
def test_bad_input_names_the_problem(X, message):
    with pytest.raises(ValueError, match=message):
        QRSTokenizer(sampling_rate=100).fit(X)


def test_lead_count_is_checked_against_fit():
    X, _ = beat_train(n_records=2)
    tokenizer = QRSTokenizer(sampling_rate=100).fit(X)
    with pytest.raises(ValueError, match="features"):
        tokenizer.transform(X[:, :8])


@pytest.mark.parametrize("rate", [None, 0, -100, float("nan"), "100"])
def test_unknown_or_invalid_sampling_rate(rate):
    X, _ = beat_train(n_records=2)
    with pytest.raises(ValueError, match="sampling_rate"):
        QRSTokenizer(sampling_rate=rate).fit(X)


@pytest.mark.parametrize("params, message", [
    ({"truncation": "last"}, "truncation"), ({"normalize": "minmax"}, "normalize"),
    ({"bandpass": (40.0, 0.5)}, "bandpass"), ({"l": 0}, "l must"), ({"detection_lead": 12}, "detection_lead"),
])
def test_invalid_parameters(params, message):
    X, _ = beat_train(n_records=2)
    with pytest.raises(ValueError, match=message):
        QRSTokenizer(sampling_rate=100, **params).fit(X)


def test_flat_record_gives_all_padding_and_a_warning_without_crashing_the_batch():
    X, beat_samples = beat_train(n_records=3)
    X[1] = 0.0
    with pytest.warns(UserWarning, match="1 of 3 records have no detected beat"):
        S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    assert S.n_beats.tolist() == [len(beat_samples), 0, len(beat_samples)]
    assert S.padding_mask[1].all() and not S.tokens[1].any()
    assert S.n_tokens[0] == S.n_tokens[2] == 12 * len(beat_samples)


def test_flat_detection_lead_falls_back_to_another_lead_and_is_reported():
    X, beat_samples = beat_train(n_records=2)
    X[0, 0] = 0.0  # lead I disconnected in record 0
    with pytest.warns(UserWarning) as record:
        S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    messages = " ".join(str(w.message) for w in record)
    assert "detected on another lead" in messages and "flat (constant) leads" in messages
    assert S.detection_leads.tolist() == [1, 0]
    assert S.n_beats.tolist() == [len(beat_samples)] * 2
    without = QRSTokenizer(sampling_rate=100, detection_fallback=False)
    with pytest.warns(UserWarning, match="no detected beat"):
        assert without.fit_transform(X).n_beats[0] == 0


# -- the container ---------------------------------------------------------------------------------
def test_sentences_index_like_an_array_and_survive_joblib(tmp_path):
    X, _ = beat_train(n_records=5)
    X[3] *= 0.5
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    tokens = S.tokens
    for key in (2, -1, slice(1, 4), [4, 0], np.array([True, False, True, False, True])):
        picked = S[key]
        expected = tokens[[key]] if isinstance(key, int) else tokens[key]
        np.testing.assert_array_equal(picked.tokens, expected.reshape(-1, 256, 96))
    np.testing.assert_array_equal(np.asarray(S), tokens)
    np.testing.assert_array_equal(S[[1, 2], ...].leads, S.leads[[1, 2]])
    assert [len(s) for s in S] == [1] * 5
    both = ECGSentences.concatenate([S[:2], S[2:]])
    np.testing.assert_array_equal(both.tokens, tokens)
    path = tmp_path / "sentences.joblib"
    joblib.dump(S, path)
    np.testing.assert_array_equal(joblib.load(path).tokens, tokens)
    d = S.to_dict()
    assert set(d) == {"tokens", "leads", "times"} and d["leads"].dtype == np.int64
    with pytest.raises(IndexError):
        S[5]


def test_parallel_chunks_match_serial():
    X, _ = beat_train(n_records=7)
    X[::2] *= -1.0
    serial = QRSTokenizer(sampling_rate=100).fit_transform(X)
    parallel = QRSTokenizer(sampling_rate=100, chunk_size=2, n_jobs=2, verbose=True).fit_transform(X)
    np.testing.assert_array_equal(serial.tokens, parallel.tokens)
    np.testing.assert_array_equal(serial.times, parallel.times)


def test_tokenizer_in_pipeline_cross_validation_and_clone():
    X, _ = beat_train(n_records=6)
    y = np.array([0, 1] * 3)
    from sklearn.base import BaseEstimator, ClassifierMixin

    class BeatCount(ClassifierMixin, BaseEstimator):
        def fit(self, S, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, S):
            assert isinstance(S, ECGSentences)
            return (S.n_beats % 2).astype(int)

    pipe = make_pipeline(QRSTokenizer(sampling_rate=100), BeatCount())
    scores = cross_val_score(pipe, X, y, cv=KFold(3))
    assert scores.shape == (3,)
    assert clone(QRSTokenizer(sampling_rate=250, l=128)).get_params()["l"] == 128


# -- real records --------------------------------------------------------------------------------
def test_real_ptbxl_records_tokenize_into_plausible_sentences(ptbxl2k_path):
    X = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")[:200]
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    bpm = S.n_beats / 10.0 * 60.0
    assert (S.n_beats > 0).all()
    assert 50 < np.median(bpm) < 100  # resting 12-lead ECGs
    assert S.n_tokens.min() >= 12 * 4
    np.testing.assert_array_equal(S.n_tokens + S.n_dropped, 12 * S.n_beats)
    real = ~S.padding_mask
    assert S.times[real].min() == 1 and S.times[real].max() == 10
    assert set(np.unique(S.leads[real])) == set(range(1, 13))
    tokens = S.tokens
    # The R peak (index 48) dominates lead I beats: it is within 3 samples of the window's extremum
    # of |signal| for the large majority of beats.
    lead1 = real & (S.leads == 1)
    extremum = np.abs(tokens[lead1]).argmax(axis=1)
    assert np.mean(np.abs(extremum - 48) <= 3) > 0.9
    # Real signal values, not zeros, sit at R.
    assert np.abs(tokens[lead1][:, 48]).mean() > 0.5


def test_raw_ptbxl_records_in_millivolts(ptbxl_path):
    import wfdb

    folder = ptbxl_path / "records100" / "00000"
    X = np.stack([wfdb.rdrecord(str(folder / f"{i:05d}_lr")).p_signal.T for i in range(1, 9)])
    S = QRSTokenizer(sampling_rate=100, bandpass=(0.5, None)).fit_transform(X)
    assert (S.n_beats >= 5).all() and (S.n_beats <= 20).all()
    assert np.abs(S.signals.mean(axis=-1)).max() < 0.05  # baseline removed by the high-pass


@pytest.mark.parametrize("fs", [100, 500])
@pytest.mark.parametrize("bpm", [250, 300])
def test_beat_windows_stay_valid_at_300_bpm(fs, bpm):
    """At ventricular-tachycardia rates every beat is found and each window holds its own beat only."""
    X, beat_samples = beat_train(n_records=2, fs=fs, bpm=bpm)
    S = QRSTokenizer(sampling_rate=fs).fit_transform(X)
    n = len(beat_samples)
    assert (S.n_beats >= 0.95 * n).all(), (S.n_beats, n)
    real = S.leads > 0
    r, start, stop = (a.astype(int)[real] for a in (S.r_peaks, S.starts, S.stops))
    rr = 100 * 60 / bpm
    # each beat's span holds its R peak, stays inside the record and ends before the next beat's R
    assert ((start <= r) & (r < stop) & (start >= 0) & (stop <= S.signals.shape[-1])).all()
    # interior beats span one RR interval (from the midpoint with the previous R to the next one)
    first = np.repeat(S.r_peaks.min(axis=1, where=real, initial=10**6), real.sum(axis=1))
    last = np.repeat(S.r_peaks.max(axis=1, where=real, initial=0), real.sum(axis=1))
    interior = (r != first) & (r != last)
    span = (stop - start)[interior]
    assert interior.sum() >= 0.9 * real.sum() and (span <= rr + 2).all() and (span >= 0.8 * rr - 2).all()
    tokens = S.tokens[real]
    assert (np.abs(tokens.argmax(axis=1) - 48) <= 1).all()  # R peak in the middle of its window
    inner = tokens[interior]  # nothing of the neighbouring beats leaks into a window
    assert not inner[:, : 48 - int(rr)].any() and not inner[:, 48 + int(rr) + 1 :].any()


# -- a wrong sampling rate is reported -------------------------------------------------------------
def _rate_warnings(X, sampling_rate):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        S = QRSTokenizer(sampling_rate=sampling_rate).fit_transform(X)
    return S, [str(w.message) for w in caught if "implausible" in str(w.message)]


def test_500hz_records_tokenized_as_100hz_warn_with_the_likely_rate():
    from heartlang_sk.datasets import make_ecg

    X, _ = make_ecg(30, sampling_rate=500, random_state=0)
    S, messages = _rate_warnings(X, 100)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert "sampling_rate=100 Hz" in messages[0] and "about 500 Hz" in messages[0]
    assert "R-wave width" in messages[0]
    _, messages = _rate_warnings(X, 500)
    assert messages == []


@pytest.mark.parametrize("seed", range(5))
def test_three_stretched_records_are_enough_to_warn(seed):
    """From 3 records on, the limit is 90 ms; 1 or 2 records warn only above 125 ms (a real
    bundle-branch block reaches 120 ms in a single record)."""
    from heartlang_sk.datasets import make_ecg

    X, _ = make_ecg(3, sampling_rate=500, random_state=seed)
    assert len(_rate_warnings(X, 100)[1]) == 1


@pytest.mark.parametrize("cls", ["normal", "brady", "tachy", "afib", "wide_qrs", "st_shift"])
def test_no_rate_warning_at_the_true_rate(cls):
    from heartlang_sk.datasets import make_ecg

    for fs in (100, 250, 500):
        X, _ = make_ecg(8, sampling_rate=fs, classes=[cls], random_state=2)
        assert _rate_warnings(X, fs)[1] == []


def test_no_rate_warning_on_real_ptbxl2k_batches_and_single_records(ptbxl2k_path):
    X = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")
    for start in range(0, 2032, 512):
        assert _rate_warnings(np.asarray(X[start : start + 512]), 100)[1] == []
    for i in range(0, 2032, 41):  # single records: 50 of them, spread over the set
        assert _rate_warnings(np.asarray(X[i : i + 1]), 100)[1] == [], i


def test_no_rate_warning_on_raw_ptbxl(ptbxl_path):
    import wfdb

    folder = ptbxl_path / "records100" / "00000"
    X = np.stack([wfdb.rdrecord(str(p.with_suffix(""))).p_signal.T for p in sorted(folder.glob("*_lr.hea"))[:120]])
    assert _rate_warnings(X, 100)[1] == []


def test_no_rate_warning_on_mitdb(mitdb_path):
    from heartlang_sk.datasets.mitdb import load_mitdb

    for record in load_mitdb(mitdb_path):
        ten_seconds = record.signal[: 360 * 600].reshape(-1, 3600)  # 10 minutes as 10 s one-lead records
        assert _rate_warnings(ten_seconds, 360)[1] == [], record.name
