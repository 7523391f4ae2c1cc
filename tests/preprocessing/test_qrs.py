"""Tests of the vectorized QRS detector and of the QRS detection scores."""

import numpy as np
import pytest

from heartlang_sk.preprocessing.qrs import detect_qrs, detect_qrs_batch
from heartlang_sk.datasets.artefacts import add_spikes
from heartlang_sk.evaluation.metrics import qrs_detection_scores


def synthetic_ecg(sampling_rate, duration=20.0, heart_rate=70.0, seed=0, amplitude=None):
    """ECG-like signal (P, Q, R, S, T Gaussian waves, mV) and its beat times in seconds.

    RR intervals vary by +-10 % around ``60 / heart_rate``. ``amplitude(t)`` scales the beats.
    """
    rng = np.random.default_rng(seed)
    rr = 60.0 / heart_rate
    beats = np.cumsum(rr * (1 + 0.1 * rng.uniform(-1, 1, int(duration / rr) + 2))) - 0.3 * rr
    beats = beats[(beats > 0.3) & (beats < duration - 0.5)]
    t = np.arange(int(round(duration * sampling_rate))) / sampling_rate
    waves = [  # (offset from R in s, width (sd) in s, amplitude in mV)
        (-0.16, 0.020, 0.15),  # P
        (-0.025, 0.008, -0.15),  # Q
        (0.0, 0.010, 1.2),  # R
        (0.025, 0.008, -0.3),  # S
        (0.28, 0.045, 0.35),  # T
    ]
    scale = np.ones(beats.size) if amplitude is None else amplitude(beats)
    ecg = np.zeros_like(t)
    for offset, width, height in waves:
        ecg += (scale * height * np.exp(-0.5 * ((t[:, None] - beats - offset) / width) ** 2)).sum(axis=1)
    return ecg, beats


def assert_beats_found(peaks, beats, sampling_rate, max_error=0.02):
    """Every beat is detected within `max_error` seconds and there is no extra detection."""
    assert peaks.dtype == np.int64
    assert np.all(np.diff(peaks) > 0)
    assert peaks.size == beats.size, (peaks / sampling_rate, beats)
    np.testing.assert_allclose(peaks / sampling_rate, beats, atol=max_error)


# --- synthetic signals -----------------------------------------------------------------------------


@pytest.mark.parametrize("sampling_rate", [100, 250, 360, 500])
def test_clean_signal_peaks_on_r_waves(sampling_rate):
    ecg, beats = synthetic_ecg(sampling_rate)
    peaks = detect_qrs(ecg, sampling_rate)
    # the R peak itself, to within a sample
    assert_beats_found(peaks, beats, sampling_rate, max_error=1.0 / sampling_rate + 1e-9)


def test_inverted_polarity_gives_same_beats():
    ecg, beats = synthetic_ecg(100)
    upright = detect_qrs(ecg, 100)
    inverted = detect_qrs(-ecg, 100)
    assert_beats_found(inverted, beats, 100, max_error=0.02)
    np.testing.assert_array_equal(inverted, upright)


def test_baseline_wander():
    fs = 250
    ecg, beats = synthetic_ecg(fs, duration=30)
    t = np.arange(ecg.size) / fs
    wander = 1.5 * np.sin(2 * np.pi * 0.25 * t) + 1.0 * np.sin(2 * np.pi * 0.05 * t + 1.0) + 0.05 * t
    assert_beats_found(detect_qrs(ecg + wander, fs), beats, fs, max_error=0.02)


@pytest.mark.parametrize("sampling_rate", [100, 360])
def test_added_noise(sampling_rate):
    ecg, beats = synthetic_ecg(sampling_rate, duration=30, seed=1)
    noise = 0.05 * np.random.default_rng(2).standard_normal(ecg.size)
    peaks = detect_qrs(ecg + noise, sampling_rate)
    assert_beats_found(peaks, beats, sampling_rate, max_error=0.03)


def test_threshold_is_local_in_time():
    # amplitude drops to 15 % halfway through a long record: a global threshold would lose beats
    fs = 100
    ecg, beats = synthetic_ecg(fs, duration=120, amplitude=lambda b: np.where(b < 60, 1.0, 0.15))
    assert_beats_found(detect_qrs(ecg, fs), beats, fs, max_error=0.02)


def test_large_ectopic_beats_do_not_hide_normal_beats():
    # every fifth beat is four times larger (as a large PVC can be)
    fs = 360
    ecg, beats = synthetic_ecg(fs, duration=60, amplitude=lambda b: np.where(np.arange(b.size) % 5 == 0, 4.0, 1.0))
    assert_beats_found(detect_qrs(ecg, fs), beats, fs, max_error=0.01)


def test_same_beats_in_seconds_at_any_sampling_rate():
    found = {}
    for fs in (100, 250, 360, 500):
        ecg, beats = synthetic_ecg(fs, seed=3)
        found[fs] = detect_qrs(ecg, fs) / fs
    for fs in (250, 360, 500):
        assert found[fs].size == found[100].size
        np.testing.assert_allclose(found[fs], found[100], atol=0.011)  # one 100 Hz sample


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int16])
def test_input_dtypes(dtype):
    ecg, beats = synthetic_ecg(100)
    x = (ecg * 1000).astype(dtype) if dtype is np.int16 else ecg.astype(dtype)
    assert_beats_found(detect_qrs(x, 100), beats, 100, max_error=0.02)


def test_unit_and_offset_do_not_matter():
    ecg, _ = synthetic_ecg(360)
    reference = detect_qrs(ecg, 360)
    np.testing.assert_array_equal(detect_qrs(ecg * 200 + 1024, 360), reference)  # raw ADC units


def test_pacemaker_spikes_are_not_taken_for_r_peaks():
    # a narrow spike 2.5 times the R wave, 40 ms before each QRS
    for fs, spike_width in ((250, 1), (360, 1), (500, 2)):
        ecg, beats = synthetic_ecg(fs)
        spikes = np.round((beats - 0.04) * fs).astype(int)
        for k in range(spike_width):
            ecg[spikes + k] += 3.0
        assert_beats_found(detect_qrs(ecg, fs), beats, fs, max_error=0.006)


@pytest.mark.parametrize(
    "waves",
    [
        [(-0.16, 0.02, 0.15), (0.0, 0.01, 1.0), (0.025, 0.008, -0.3), (0.28, 0.045, 1.0)],  # T as tall as R
        [(-0.16, 0.02, 0.15), (0.0, 0.03, 1.0), (0.06, 0.02, -0.5), (0.32, 0.05, -0.4)],  # wide QRS, 160 ms
        [(-0.16, 0.02, 0.15), (0.0, 0.012, -1.0), (0.28, 0.045, 0.3)],  # QS complex (negative QRS)
    ],
    ids=["tall-T", "wide-QRS", "QS"],
)
@pytest.mark.parametrize("heart_rate", [50, 150])
def test_morphologies(waves, heart_rate):
    fs, duration = 100, 30
    rr = 60.0 / heart_rate
    beats = np.arange(0.4, duration - 0.5, rr)
    t = np.arange(duration * fs) / fs
    ecg = sum(
        (height * np.exp(-0.5 * ((t[:, None] - beats - offset) / width) ** 2)).sum(axis=1)
        for offset, width, height in waves
    )
    ecg = ecg + 0.02 * np.random.default_rng(0).standard_normal(t.size)
    # the wide QRS's extremum lies up to one sample off its nominal centre
    assert_beats_found(detect_qrs(ecg, fs), beats, fs, max_error=0.021)


def test_tachycardia_and_bradycardia():
    for heart_rate in (40, 180):
        ecg, beats = synthetic_ecg(250, duration=30, heart_rate=heart_rate, seed=4)
        assert_beats_found(detect_qrs(ecg, 250), beats, 250, max_error=0.02)


def fast_beat_train(sampling_rate, heart_rate, duration=10.0, seed=0, t_wave=True):
    """Narrow-QRS beat train (noise 0.01 mV, RR jitter +-3 %) with a T wave whose timing shortens with the rate."""
    rng = np.random.default_rng(seed)
    rr = 60.0 / heart_rate
    beats = np.arange(0.3, duration - 0.3, rr)
    beats = beats + rr * rng.uniform(-0.03, 0.03, beats.size)
    t = np.arange(int(duration * sampling_rate)) / sampling_rate
    waves = [(-0.02, 0.006, -0.1), (0.0, 0.008, 1.0), (0.02, 0.006, -0.25)]
    if t_wave:
        waves.append((0.45 * rr, 0.12 * rr, 0.3))
    ecg = sum((h * np.exp(-0.5 * ((t[:, None] - beats - o) / w) ** 2)).sum(axis=1) for o, w, h in waves)
    return ecg + 0.01 * rng.standard_normal(t.size), beats


@pytest.mark.parametrize("sampling_rate", [100, 500])
@pytest.mark.parametrize("heart_rate", [200, 230, 240, 250, 270, 300])
def test_fast_rhythms_up_to_300_bpm(sampling_rate, heart_rate):
    """Ventricular tachycardia, 1:1 flutter, infant SVT: >= 95 % of beats found, no false beats."""
    found = total = false = 0
    for seed in range(3):
        for t_wave in (False, True):
            ecg, beats = fast_beat_train(sampling_rate, heart_rate, seed=seed, t_wave=t_wave)
            reference = np.round(beats * sampling_rate).astype(np.int64)
            scores = qrs_detection_scores(reference, detect_qrs(ecg, sampling_rate), sampling_rate, tolerance=0.05)
            found, total, false = found + scores["tp"], total + beats.size, false + scores["fp"]
    assert found >= 0.95 * total, f"{found} of {total} beats at {heart_rate} bpm, {sampling_rate} Hz"
    assert false <= 0.01 * total


def test_fast_rule_does_not_split_slow_beats_with_tall_t_waves():
    """The short refractory of fast runs does not take T waves of a 120-150 bpm rhythm for beats."""
    fs = 100
    for heart_rate in (120, 150):
        ecg, beats = fast_beat_train(fs, heart_rate, duration=20, t_wave=False)
        t = np.arange(ecg.size) / fs
        ecg += (0.8 * np.exp(-0.5 * ((t[:, None] - beats - 0.2) / 0.04) ** 2)).sum(axis=1)  # tall T, 200 ms
        assert_beats_found(detect_qrs(ecg, fs), beats, fs, max_error=0.021)


# --- batch form --------------------------------------------------------------------------------------


def test_batch_equals_single_record_calls():
    fs = 100
    records = [synthetic_ecg(fs, duration=10, seed=s)[0] for s in range(5)]
    records[1] = -records[1]
    records[2] = np.zeros(1000)
    records[3] = records[3] + 0.05 * np.random.default_rng(0).standard_normal(1000)
    signals = np.stack(records)
    peaks, indptr = detect_qrs_batch(signals, fs)
    assert peaks.dtype == np.int64 and indptr.dtype == np.int64
    assert indptr.shape == (len(records) + 1,) and indptr[0] == 0 and indptr[-1] == peaks.size
    assert np.all(np.diff(indptr) >= 0)
    assert indptr[3] == indptr[2]  # flat record: no peak
    for i, record in enumerate(records):
        np.testing.assert_array_equal(peaks[indptr[i] : indptr[i + 1]], detect_qrs(record, fs))


def test_batch_of_float16_like_ptbxl():
    ecg, beats = synthetic_ecg(100, duration=10)
    signals = np.stack([ecg, -ecg]).astype(np.float16)
    peaks, indptr = detect_qrs_batch(signals, 100)
    assert indptr.tolist() == [0, beats.size, 2 * beats.size]


# --- edge cases and validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "signal",
    [np.zeros(1000), np.full(1000, 3.7), np.full(1000, -1e6), np.zeros(10), np.zeros(1), np.zeros(0), np.ones(40)],
    ids=["zeros", "constant", "large-constant", "short", "one-sample", "empty", "shorter-than-refractory"],
)
def test_flat_or_short_records_give_no_peaks(signal):
    peaks = detect_qrs(signal, 100)
    assert peaks.dtype == np.int64 and peaks.size == 0


def test_batch_edge_shapes():
    peaks, indptr = detect_qrs_batch(np.zeros((0, 1000)), 100)
    assert peaks.size == 0 and indptr.tolist() == [0]
    peaks, indptr = detect_qrs_batch(np.zeros((3, 5)), 100)
    assert peaks.size == 0 and indptr.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(bad):
    ecg, _ = synthetic_ecg(100, duration=5)
    ecg[17] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        detect_qrs(ecg, 100)
    with pytest.raises(ValueError, match="NaN or infinite"):
        detect_qrs_batch(np.stack([ecg, ecg]), 100)
    with pytest.raises(ValueError, match="NaN or infinite"):
        detect_qrs(np.array([bad]), 100)  # also for records too short to analyse


def test_wrong_dimensions_raise():
    with pytest.raises(ValueError, match="1-D"):
        detect_qrs(np.zeros((2, 100)), 100)
    with pytest.raises(ValueError, match="2-D"):
        detect_qrs_batch(np.zeros(100), 100)
    with pytest.raises(ValueError, match="2-D"):
        detect_qrs_batch(np.zeros((2, 3, 100)), 100)
    with pytest.raises(ValueError, match="1-D"):
        detect_qrs(np.zeros((2, 3, 100)), 100)


@pytest.mark.parametrize("sampling_rate", [0, -100, np.nan, np.inf, "fast", None, True])
def test_bad_sampling_rate_raises(sampling_rate):
    with pytest.raises(ValueError, match="sampling_rate"):
        detect_qrs(np.zeros(1000), sampling_rate)


@pytest.mark.parametrize("signal", [np.zeros(100, dtype=complex), np.array(["a"] * 100), np.zeros(100, dtype=bool)])
def test_non_real_input_raises(signal):
    with pytest.raises(ValueError, match="real-valued"):
        detect_qrs(signal, 100)


def test_values_beyond_float32_range():
    ecg, beats = synthetic_ecg(100, duration=10)
    assert_beats_found(detect_qrs(ecg * 1e300, 100), beats, 100, max_error=0.02)


# --- real data ----------------------------------------------------------------------------------------


def test_mitdb_f1_at_100hz(mitdb_path):
    """Overall F1 >= 0.998 on the shared MIT-BIH records resampled to 100 Hz (150 ms tolerance)."""
    from scipy.signal import resample_poly

    from heartlang_sk.datasets.mitdb import load_mitdb

    totals = np.zeros(3)
    for record in load_mitdb(mitdb_path):
        assert record.sampling_rate == 360
        signal = resample_poly(record.signal, 5, 18)
        reference = np.round(record.beats * 100 / 360).astype(np.int64)
        scores = qrs_detection_scores(reference, detect_qrs(signal, 100), 100, tolerance=0.15)
        totals += [scores["tp"], scores["fp"], scores["fn"]]
    tp, fp, fn = totals
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.998, f"overall F1 {f1:.5f} (fp={fp:.0f}, fn={fn:.0f})"


def test_ptbxl_lead_i_agrees_with_lead_ii(ptbxl2k_path):
    """Self-consistency on real 10 s records: lead I and lead II see the same heartbeats."""
    signals = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")[:300]
    lead_i = detect_qrs_batch(np.asarray(signals[:, 0]), 100)
    lead_ii = detect_qrs_batch(np.asarray(signals[:, 1]), 100)
    totals = np.zeros(3)
    for i in range(signals.shape[0]):
        # leave out the first and last 0.5 s, where a beat cut by the record edge may be seen in one lead only
        a, b = (p[ip[i] : ip[i + 1]] for p, ip in (lead_i, lead_ii))
        a, b = a[(a >= 50) & (a < 950)], b[(b >= 50) & (b < 950)]
        scores = qrs_detection_scores(b, a, 100, tolerance=0.1)
        totals += [scores["tp"], scores["fp"], scores["fn"]]
    tp, fp, fn = totals
    assert 2 * tp / (2 * tp + fp + fn) > 0.99
    heart_rate = 60 * np.diff(lead_ii[1]) / 10.0
    assert np.all((heart_rate > 20) & (heart_rate < 220))


# --- metrics -----------------------------------------------------------------------------------------


def test_scores_perfect_and_empty():
    scores = qrs_detection_scores([10, 50, 90], [10, 50, 90], 100)
    assert scores == {"tp": 3, "fp": 0, "fn": 0, "sensitivity": 1.0, "ppv": 1.0, "f1": 1.0}
    assert qrs_detection_scores([], [], 100)["f1"] == 1.0
    missed = qrs_detection_scores([10, 50], [], 100)
    assert (missed["tp"], missed["fn"], missed["sensitivity"], missed["f1"]) == (0, 2, 0.0, 0.0)
    extra = qrs_detection_scores([], [10], 100)
    assert (extra["fp"], extra["ppv"], extra["f1"]) == (1, 0.0, 0.0)


def test_scores_tolerance_in_seconds():
    # 54 samples at 360 Hz = 150 ms: inside; 55 samples: outside
    assert qrs_detection_scores([1000], [1054], 360)["tp"] == 1
    assert qrs_detection_scores([1000], [1055], 360)["tp"] == 0
    assert qrs_detection_scores([1000], [1055], 360, tolerance=0.2)["tp"] == 1


def test_scores_are_one_to_one():
    # two detections near one beat: one true positive, one false positive
    scores = qrs_detection_scores([100], [98, 103], 100)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 1, 0)
    # one detection between two beats counts once
    scores = qrs_detection_scores([100, 120], [110], 100)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 0, 1)
    # the matching is maximal: 95 pairs with 90 and 110 with 112, although 95 is nearest to 100
    scores = qrs_detection_scores([90, 100, 112], [95, 110], 1000, tolerance=0.008)
    assert scores["tp"] == 2


def test_scores_accept_unsorted_input_and_report_rates():
    scores = qrs_detection_scores([300, 100, 200, 400], [205, 99, 500], 100, tolerance=0.05)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 1, 2)
    assert scores["sensitivity"] == pytest.approx(0.5)
    assert scores["ppv"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(4 / 7)


@pytest.mark.parametrize(
    "kwargs", [{"sampling_rate": 0}, {"sampling_rate": -1}, {"sampling_rate": 100, "tolerance": -0.1}]
)
def test_scores_validation(kwargs):
    with pytest.raises(ValueError):
        qrs_detection_scores([1], [1], **kwargs)


# --- spikes and saturation ---------------------------------------------------------------------------


def _f1(totals):
    tp, fp, fn = totals
    return 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize("sampling_rate", [100, 360])
def test_spikes_up_to_33_mv_in_mitdb_keep_f1_near_clean(mitdb_path, sampling_rate):
    """Real MIT-BIH (MLII, mV) cut in 10 s records, two spikes of up to 33 mV per record on average."""
    from scipy.signal import resample_poly

    from heartlang_sk.datasets.mitdb import load_mitdb

    window = 10 * sampling_rate
    clean_totals, spiky_totals, n_spikes = np.zeros(3), np.zeros(3), 0
    for number, record in enumerate(load_mitdb(mitdb_path)):
        signal, beats = record.signal[: 360 * 300], record.beats[record.beats < 360 * 300]  # 5 minutes
        if sampling_rate == 100:
            signal, beats = resample_poly(signal, 5, 18), np.round(beats * 100 / 360).astype(np.int64)
        records = signal[: signal.size // window * window].reshape(-1, window)
        spiky, count = add_spikes(records, sampling_rate, seed=number)
        n_spikes += count
        for batch, totals in ((records, clean_totals), (spiky, spiky_totals)):
            peaks, indptr = detect_qrs_batch(batch, sampling_rate)
            detected = np.concatenate([peaks[indptr[i] : indptr[i + 1]] + i * window for i in range(len(batch))])
            scores = qrs_detection_scores(beats[beats < records.size], detected, sampling_rate, tolerance=0.15)
            totals += [scores["tp"], scores["fp"], scores["fn"]]
    assert n_spikes > 300
    assert _f1(clean_totals) > 0.99
    assert _f1(spiky_totals) >= _f1(clean_totals) - 0.005, (clean_totals, spiky_totals)


def test_spikes_in_raw_ptbxl_records_leave_the_beats_unchanged(ptbxl_path):
    """Raw PTB-XL lead II (mV, 100 Hz): the beats found with spikes are those found without."""
    import wfdb

    folder = ptbxl_path / "records100" / "00000"
    paths = sorted(folder.glob("*_lr.hea"))[:150]
    lead_ii = np.stack([wfdb.rdrecord(str(p.with_suffix(""))).p_signal[:, 1] for p in paths])
    spiky, count = add_spikes(lead_ii, 100, seed=1)
    assert count > 200
    clean, spiky_peaks = detect_qrs_batch(lead_ii, 100), detect_qrs_batch(spiky, 100)
    totals = np.zeros(3)
    for i in range(len(lead_ii)):
        scores = qrs_detection_scores(
            clean[0][clean[1][i] : clean[1][i + 1]], spiky_peaks[0][spiky_peaks[1][i] : spiky_peaks[1][i + 1]], 100, 0.1
        )
        totals += [scores["tp"], scores["fp"], scores["fn"]]
    assert _f1(totals) > 0.99, totals


def test_spike_removal_leaves_clean_records_untouched():
    """Records without spikes skip the spike removal: same peaks bit for bit with it disabled."""
    from heartlang_sk.preprocessing import qrs

    records = np.stack([synthetic_ecg(100, duration=10, seed=s)[0] for s in range(6)])
    with_removal = detect_qrs_batch(records, 100)
    original = qrs._PARAMS["spike_jump"]
    try:
        qrs._PARAMS["spike_jump"] = np.inf
        without = detect_qrs_batch(records, 100)
    finally:
        qrs._PARAMS["spike_jump"] = original
    for a, b in zip(with_removal, without):
        np.testing.assert_array_equal(a, b)
