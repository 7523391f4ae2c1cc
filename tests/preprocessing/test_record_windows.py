"""Long and unequal records: windows of the model's length, marked, stored, and pooled back."""

import warnings

import numpy as np
import pytest

from heartlang_sk import ECGSentences, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io import read_records, read_windows
from heartlang_sk.preprocessing import RecordWindows, pool_windows, split_windows


def long_records(durations, sampling_rate=100, n_leads=12, seed=0):
    """Synthetic records of the given lengths (s), each cut from one long synthetic ECG."""
    X, _ = make_ecg(len(durations), n_leads=n_leads, sampling_rate=sampling_rate,
                    duration=max(durations), random_state=seed)
    return [X[i][:, :int(d * sampling_rate)] for i, d in enumerate(durations)]


def write_wfdb(folder, name, signal, fs):
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * signal.shape[0],
                sig_name=[f"ch{k}" for k in range(signal.shape[0])],
                p_signal=signal.T.astype(np.float64), fmt=["16"] * signal.shape[0],
                write_dir=str(folder))


def test_windows_cover_every_sample_of_unequal_records():
    records = long_records([41, 516, 10, 25], n_leads=3)  # 41 s to 8.6 min, as in the issue
    windows = split_windows(records, sampling_rate=100, window=10, names=["a", "b", "c", "d"])
    assert isinstance(windows, RecordWindows)
    assert windows.n_windows.tolist() == [5, 52, 1, 3]  # ceil(seconds / 10)
    assert windows.signals.shape == (61, 3, 1000)
    assert windows.dropped_seconds.tolist() == [0, 0, 0, 0]
    assert windows.padded_seconds.tolist() == [0, 0, 0, 0]
    # every window is the record's own samples at its start: nothing shifted, nothing padded
    for row, (name, start) in enumerate(zip(windows.record_ids, windows.window_starts)):
        record = records["abcd".index(name)]
        begin = int(round(start * 100))
        np.testing.assert_array_equal(windows.signals[row], record[:, begin:begin + 1000])
    # the last window of the 41-s record ends at its end (31 s), overlapping the one before
    assert windows.window_starts[windows.record_ids == "a"].tolist() == [0, 10, 20, 30, 31]
    covered = np.zeros(4100, bool)
    for start in windows.window_starts[windows.record_ids == "a"]:
        covered[int(start * 100):int(start * 100) + 1000] = True
    assert covered.all()
    summary = windows.summary()
    assert summary["windows"].tolist() == [5, 52, 1, 3]
    assert summary["seconds"].tolist() == [41, 516, 10, 25]


def test_drop_and_pad_tails_are_counted():
    records = long_records([41, 25], n_leads=1)
    dropped = split_windows(records, 100, window=10, tail="drop")
    assert dropped.n_windows.tolist() == [4, 2]
    assert dropped.dropped_seconds.tolist() == [1, 5]
    padded = split_windows(records, 100, window=10, tail="pad")
    assert padded.n_windows.tolist() == [5, 3]
    assert padded.padded_seconds.tolist() == [9, 5]
    assert (padded.signals[4, :, 100:] == 0).all() and padded.signals[4, :, :100].any()
    strided = split_windows(records, 100, window=10, stride=5, tail="drop")
    assert strided.window_starts[strided.record_ids == 1].tolist() == [0, 5, 10, 15]


def test_short_records_are_padded_with_a_warning():
    records = long_records([4, 30], n_leads=1)
    with pytest.warns(UserWarning, match=r"1 of 2 records are shorter than the 10-s window "
                                         r"\(shortest 4 s\): each is zero-padded"):
        windows = split_windows(records, 100, window=10)
    assert windows.n_windows.tolist() == [1, 3]
    assert windows.padded_seconds.tolist() == [6, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"window": 0}, "window must be a positive number"),
    ({"window": 10, "stride": -1}, "stride must be a positive number"),
    ({"window": 10, "tail": "wrap"}, "tail must be one of"),
    ({"window": 10, "names": ["x"]}, "names has 1 entries for 2 records"),
])
def test_bad_window_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_windows(long_records([20, 20], n_leads=1), 100, **kwargs)


def test_windowed_sentences_keep_their_records_through_slicing_concatenation_and_store(tmp_path):
    windows = split_windows(long_records([35, 22], n_leads=12), 100, window=10, names=["p", "q"])
    S = windows.mark(QRSTokenizer(sampling_rate=100).fit_transform(windows.signals))
    assert S.record_ids.tolist() == ["p"] * 4 + ["q"] * 3
    assert S[5].record_ids.tolist() == ["q"] and S[[0, 6]].window_starts.tolist() == [0, 12]
    assert S[S.record_ids == "q"].window_starts.tolist() == [0, 10, 12]
    joined = ECGSentences.concatenate([S[:2], S[2:]])
    assert joined.record_ids.tolist() == S.record_ids.tolist()
    np.testing.assert_array_equal(joined.window_starts, S.window_starts)
    with pytest.raises(ValueError, match="with and without record_ids"):
        ECGSentences.concatenate([S[:2], QRSTokenizer(sampling_rate=100).fit_transform(
            windows.signals[:1])])
    S.save(tmp_path / "store")
    stored = ECGSentences.load(tmp_path / "store")
    assert type(stored.record_ids).__name__ == "memmap"
    assert stored[2:5].record_ids.tolist() == ["p", "p", "q"]
    np.testing.assert_array_equal(stored.window_starts, S.window_starts)
    np.testing.assert_array_equal(stored[1:3].tokens, S[1:3].tokens)
    # stores written without windows still load, without them
    plain = QRSTokenizer(sampling_rate=100).fit_transform(windows.signals[:2])
    plain.save(tmp_path / "plain")
    assert ECGSentences.load(tmp_path / "plain").record_ids is None
    with pytest.raises(ValueError, match="3 sentences for 7 windows"):
        windows.mark(S[:3])


def test_record_ids_are_checked():
    S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(2, random_state=0)[0])
    with pytest.raises(ValueError, match="record_ids has 3 records, signals has 2"):
        S.with_windows([0, 1, 2])
    with pytest.raises(ValueError, match="record_ids must be integers or strings"):
        S.with_windows([0.5, 1.5])
    assert S.with_windows([7, 7]).record_ids.dtype.kind == "i"


def test_pool_windows_averages_each_records_windows():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(7, 3)).astype(np.float32)
    ids = np.array(["q", "p", "q", "p", "p", "r", "q"])
    pooled, records = pool_windows(Z, ids)
    assert records.tolist() == ["q", "p", "r"]  # first appearance
    for row, record in enumerate(records):
        np.testing.assert_allclose(pooled[row], Z[ids == record].mean(axis=0), rtol=1e-6)
    assert pooled.dtype == np.float32
    maxed, _ = pool_windows(Z, ids, how="max")
    np.testing.assert_array_equal(maxed[1], Z[ids == "p"].max(axis=0))
    with pytest.raises(ValueError, match="not windows of longer records"):
        pool_windows(Z, None)
    with pytest.raises(ValueError, match="record_ids has shape"):
        pool_windows(Z, ids[:3])
    with pytest.raises(ValueError, match="how must be one of"):
        pool_windows(Z, ids, how="sum")


def test_unequal_wfdb_folder_is_windowed_or_cropped_with_the_loss_named(tmp_path):
    for name, record in zip(["short", "long"], long_records([41, 516], sampling_rate=100,
                                                             n_leads=3)):
        write_wfdb(tmp_path / "records", name, record, 100)
    with pytest.warns(UserWarning, match=r"41 s to 8.6 min long; all are cropped to the shortest, "
                                         r"4100 samples \(41 s\), which drops 85% of the signal"):
        X, _, _ = read_records(tmp_path / "records")
    assert X.shape == (2, 3, 4100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # windowing drops nothing, so it warns about nothing
        windows = read_windows(tmp_path / "records", window=10)
    assert windows.records.tolist() == ["long", "short"]
    assert windows.n_windows.tolist() == [52, 5]
    assert windows.signals.shape[0] == 57 and windows.sampling_rate == 100


def test_mat_records_read_like_dat_records(tmp_path):
    """PhysioNet/CinC Challenge records: a .hea header naming a .mat signal file."""
    from wfdb.io.convert.matlab import wfdb_to_mat

    record = long_records([12], n_leads=3)[0]
    write_wfdb(tmp_path, "r0", record, 100)
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        wfdb_to_mat("r0")  # writes r0m.hea + r0m.mat
    finally:
        os.chdir(cwd)
    (tmp_path / "mat").mkdir()
    for suffix in (".hea", ".mat"):
        (tmp_path / f"r0m{suffix}").rename(tmp_path / "mat" / f"r0m{suffix}")
    X, rate, names = read_records(tmp_path / "mat")
    assert names == ["r0m"] and rate == 100 and X.shape == (1, 3, 1200)
    np.testing.assert_allclose(X[0], record, atol=2e-3)


def test_real_long_records_from_mit_bih_are_windowed(mitdb_path):
    windows = read_windows(mitdb_path, window=10, max_records=2)
    assert windows.sampling_rate == 360
    assert (windows.durations > 1800).all()  # 30-min Holter excerpts
    assert windows.n_windows.tolist() == np.ceil(windows.durations / 10).astype(int).tolist()
    S = windows.mark(QRSTokenizer(sampling_rate=360).fit_transform(windows.signals))
    assert np.median(S.n_beats) >= 10  # about 12 beats per 10 s in these rhythms
    assert S[S.record_ids == "100"].window_starts[:3].tolist() == [0, 10, 20]
    # one record's beats over its windows: about 2,270 annotated beats in record 100's 30 min
    assert 2000 < S.n_beats[S.record_ids == "100"].sum() < 2600


def test_sentences_pickled_before_windows_existed_load_without_them():
    import pickle

    S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(2, random_state=0)[0])
    reduced = list(S.__reduce_ex__(2))
    _, slots = reduced[2]
    old_slots = {k: v for k, v in slots.items() if k not in ECGSentences.WINDOW_ARRAYS}
    reduced[2] = (None, old_slots)  # the state a pickle written before this change holds
    old = reduced[0](*reduced[1])
    old.__setstate__(reduced[2])
    assert old.record_ids is None and old.window_starts is None
    np.testing.assert_array_equal(old.tokens, S.tokens)
    W = pickle.loads(pickle.dumps(S.with_windows([3, 4], [0.0, 10.0])))
    assert W.record_ids.tolist() == [3, 4] and W.window_starts.tolist() == [0, 10]


def test_a_store_overwritten_without_windows_loses_its_window_arrays(tmp_path):
    windows = split_windows(long_records([25], n_leads=12), 100, window=10)
    S = windows.mark(QRSTokenizer(sampling_rate=100).fit_transform(windows.signals))
    S.save(tmp_path / "store")
    assert (tmp_path / "store" / "record_ids.npy").is_file()
    plain = QRSTokenizer(sampling_rate=100).fit_transform(windows.signals)
    plain.save(tmp_path / "store", overwrite=True)
    assert not (tmp_path / "store" / "record_ids.npy").exists()
    assert ECGSentences.load(tmp_path / "store").record_ids is None
    S.save(tmp_path / "store", overwrite=True)
    assert ECGSentences.load(tmp_path / "store").record_ids.tolist() == [0, 0, 0]
