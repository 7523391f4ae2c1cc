"""Tests of the PTB-XL, ptbxl-2k and synthetic ECG data sets."""

import shutil
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from heartlang_sk.datasets import (
    ECG_CLASSES,
    FORM_CLASSES,
    LEAD_NAMES,
    RHYTHM_CLASSES,
    SUBCLASSES,
    SUPERCLASSES,
    TASK_CLASSES,
    load_ptbxl,
    load_ptbxl2k,
    make_ecg,
)

TASKS = ["super", "sub", "form", "rhythm"]
# Shared PTB-XL folder: 434 records (ecg_id 1-500, folds 1-9), all of them also in ptbxl-2k.
N_PTBXL = 434
# ptbxl-2k records without any label: the benchmark table of that task excludes them.
N2K_UNLABELLED = {"super": 21, "sub": 21, "form": 1374, "rhythm": 78}
N2K_FOLDS = {1: 223, 2: 235, 3: 212, 4: 226, 5: 228, 6: 219, 7: 228, 8: 202, 9: 259}
# ptbxl-2k rows with no patient_id and every label column empty: absent from its reference label
# tables altogether, although their scp_codes are ordinary (e.g. 145: NORM + SR). No rule of the
# benchmark protocol excludes them, so the label comparison leaves them out and checks they are these.
ABSENT_FROM_REFERENCE = {137, 139, 140, 141, 142, 143, 145, 456, 458, 459, 461, 462}


def _load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_ptbxl(*args, **kwargs)


@pytest.fixture(scope="module")
def ptbxl_all(ptbxl_path):
    """Every record of the shared folder, unlabelled ones kept: signals, and labels of each task."""
    X, Y, meta = load_ptbxl(ptbxl_path, task="super", drop_unlabelled=False)
    labels = {"super": (Y, meta)}
    for task in TASKS[1:]:
        _, Y_task, meta_task = load_ptbxl(ptbxl_path, task=task, drop_unlabelled=False)
        labels[task] = (Y_task, meta_task)
    return X, labels


@pytest.fixture(scope="module")
def reference_labels(ptbxl2k_path):
    return pd.read_csv(ptbxl2k_path / "labels.csv", index_col="ecg_id")


def _partial_ptbxl(src, dst, ecg_ids=None, records=True):
    """A PTB-XL folder in ``dst``: the database (optionally restricted), statements, record symlinks."""
    dst.mkdir(exist_ok=True)
    database = pd.read_csv(src / "ptbxl_database.csv", index_col="ecg_id")
    if ecg_ids is not None:
        database = database.loc[list(ecg_ids)]
    database.to_csv(dst / "ptbxl_database.csv")
    (dst / "scp_statements.csv").symlink_to(src / "scp_statements.csv")
    if records:
        for name in database["filename_lr"]:
            for suffix in (".hea", ".dat"):
                target = dst / (name + suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(src / (name + suffix))
    return database


# --------------------------------------------------------------------------------------------------
# Class constants


def test_class_constants_match_ptbxl2k_columns(ptbxl2k_path):
    columns = pd.read_csv(ptbxl2k_path / "labels.csv", nrows=0).columns
    for task, classes in TASK_CLASSES.items():
        expected = [c[len(task) + 1 :] for c in columns if c.startswith(task + "_")]
        assert list(classes) == expected
    assert (len(SUPERCLASSES), len(SUBCLASSES), len(FORM_CLASSES), len(RHYTHM_CLASSES)) == (5, 23, 19, 12)


# --------------------------------------------------------------------------------------------------
# load_ptbxl


def test_load_ptbxl_shapes_meta_and_warning(ptbxl_path):
    with pytest.warns(UserWarning, match=r"dropped 10 of 434 records with no 'super' label"):
        X, Y, meta = load_ptbxl(ptbxl_path)
    assert X.shape == (N_PTBXL - 10, 12, 1000) and X.dtype == np.float32
    assert Y.shape == (N_PTBXL - 10, 5) and list(Y.columns) == list(SUPERCLASSES)
    assert (Y.dtypes == np.int8).all()
    assert Y.index.equals(meta.index) and meta.index.name == "ecg_id"
    assert (Y.sum(axis=1) > 0).all() and meta["labelled"].all()
    for column in ("patient_id", "strat_fold", "age", "sex", "filename", "scp_codes"):
        assert column in meta.columns
    assert isinstance(meta["scp_codes"].iloc[0], dict)
    assert meta["filename"].str.startswith("records100/").all()
    assert meta.attrs == {"task": "super", "sampling_rate": 100, "n_unlabelled": 10}
    # Real mV: QRS amplitudes of a few tenths to a few mV.
    assert 0.3 < np.median(np.ptp(X[:, 1], axis=1)) < 5


def test_load_ptbxl_keeps_and_flags_unlabelled(ptbxl_all):
    _, labels = ptbxl_all
    Y, meta = labels["super"]
    assert len(Y) == N_PTBXL
    assert (~meta["labelled"]).sum() == meta.attrs["n_unlabelled"] == 10
    assert (Y[~meta["labelled"]].sum(axis=1) == 0).all()
    assert (Y[meta["labelled"]].sum(axis=1) > 0).all()


def test_load_ptbxl_no_warning_when_kept(ptbxl_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_ptbxl(ptbxl_path, task="form", folds=[3], drop_unlabelled=False)


@pytest.mark.parametrize("task", TASKS)
def test_labels_match_reference_tables(ptbxl_all, reference_labels, task):
    """Labels derived from scp_codes equal the ptbxl-2k reference tables, unlabelled records included."""
    _, labels = ptbxl_all
    Y, meta = labels[task]
    shared = meta.index.intersection(reference_labels.index)
    assert len(shared) == N_PTBXL
    reference = reference_labels.loc[shared]
    absent = set(reference.index[reference["patient_id"].isna()])
    assert absent == ABSENT_FROM_REFERENCE
    compared = shared.difference(sorted(absent))
    assert len(compared) == 422

    ref = reference.loc[compared, [f"{task}_{c}" for c in TASK_CLASSES[task]]]
    ref_labelled = ref.notna().all(axis=1)
    assert ref.notna().any(axis=1).equals(ref_labelled)  # a task's columns are all empty or all set
    assert (meta.loc[compared, "labelled"] == ref_labelled).all()
    mismatched = (Y.loc[compared].to_numpy() != ref.fillna(0).to_numpy().astype(np.int8)).any(axis=1)
    assert mismatched.sum() == 0


def test_likelihood_is_not_a_filter(ptbxl_all, reference_labels):
    """Rhythm codes carry likelihood 0 (e.g. 'SR': 0.0) yet the reference labels them."""
    _, labels = ptbxl_all
    _, meta = labels["rhythm"]
    reference = reference_labels.loc[meta.index]
    zero_sr = meta["scp_codes"].apply(lambda codes: codes.get("SR") == 0.0)
    assert zero_sr.sum() > 300
    assert (reference.loc[zero_sr & reference["patient_id"].notna(), "rhythm_SR"] == 1).all()


def test_load_ptbxl_lead_order_and_units(ptbxl_path, ptbxl_all):
    import wfdb

    X, labels = ptbxl_all
    meta = labels["super"][1]
    record = wfdb.rdrecord(str(ptbxl_path / meta["filename"].iloc[0]))
    header_names = [name.upper() for name in record.sig_name]
    for k, name in enumerate(LEAD_NAMES):
        np.testing.assert_allclose(X[0, k], record.p_signal[:, header_names.index(name.upper())], atol=1e-6)
    # Einthoven and Goldberger up to the 1 uV quantisation of the stored leads.
    I, II, III, aVR, aVL, aVF = (X[:, LEAD_NAMES.index(n)] for n in ("I", "II", "III", "aVR", "aVL", "aVF"))
    np.testing.assert_allclose(II, I + III, atol=0.003)
    np.testing.assert_allclose(aVR, -(I + II) / 2, atol=0.003)
    np.testing.assert_allclose(aVF, (II + III) / 2, atol=0.003)
    np.testing.assert_allclose(aVL, (I - III) / 2, atol=0.003)


def test_load_ptbxl_agrees_with_ptbxl2k_signals(ptbxl_all, ptbxl2k_path):
    """Band-passed, z-scored load_ptbxl leads correlate with the independently processed ptbxl-2k ones."""
    from scipy.signal import butter, sosfiltfilt

    X, labels = ptbxl_all
    ids = labels["super"][1].index[:20]
    table = pd.read_csv(ptbxl2k_path / "labels.csv", usecols=["ecg_id"])
    rows = table.index[table["ecg_id"].isin(ids)].to_numpy()
    reference = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")[rows].astype(np.float64)
    ours = sosfiltfilt(butter(4, [0.5, 40], btype="band", fs=100, output="sos"), X[:20], axis=-1)
    ours = (ours - ours.mean(-1, keepdims=True)) / ours.std(-1, keepdims=True)
    correlation = (ours * reference).mean(-1)
    assert np.median(correlation) > 0.95
    assert (np.median(correlation, axis=0) > 0.9).all()  # every lead in the right place


def test_load_ptbxl_reorders_leads_from_the_header(ptbxl_path, tmp_path):
    import wfdb

    database = _partial_ptbxl(ptbxl_path, tmp_path / "ptbxl", ecg_ids=[1, 2], records=False)
    originals = []
    for name in database["filename_lr"]:
        record = wfdb.rdrecord(str(ptbxl_path / name))
        originals.append(record.p_signal.T)
        order = np.random.default_rng(0).permutation(12)
        target = tmp_path / "ptbxl" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        wfdb.wrsamp(
            target.name, fs=100, units=["mV"] * 12, sig_name=[record.sig_name[k] for k in order],
            p_signal=record.p_signal[:, order], fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
            write_dir=str(target.parent),
        )  # fmt: skip
    X, _, _ = load_ptbxl(tmp_path / "ptbxl", drop_unlabelled=False)
    np.testing.assert_allclose(X, np.stack(originals), atol=1e-6)


def test_load_ptbxl_folds(ptbxl_path, ptbxl_all):
    _, labels = ptbxl_all
    meta_all = labels["super"][1]
    X, Y, meta = _load_quietly(ptbxl_path, folds=[1, 3])
    expected = meta_all[meta_all["strat_fold"].isin([1, 3]) & meta_all["labelled"]]
    assert list(meta.index) == list(expected.index)
    assert set(meta["strat_fold"]) == {1, 3} and len(X) == len(Y) == len(meta)
    _, _, single = _load_quietly(ptbxl_path, folds=9)
    assert set(single["strat_fold"]) == {9}
    with pytest.raises(ValueError, match="strat_fold"):
        load_ptbxl(ptbxl_path, folds=[10])


def test_load_ptbxl_reads_only_the_selected_folds(ptbxl_path, tmp_path):
    """Record files of other folds are never opened: a folder holding only fold 9's records works."""
    database = pd.read_csv(ptbxl_path / "ptbxl_database.csv", index_col="ecg_id")
    _partial_ptbxl(ptbxl_path, tmp_path / "ptbxl", records=False)
    fold9 = database[database["strat_fold"] == 9]
    for name in fold9["filename_lr"]:
        for suffix in (".hea", ".dat"):
            target = tmp_path / "ptbxl" / (name + suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(ptbxl_path / (name + suffix))
    X, _, meta = load_ptbxl(tmp_path / "ptbxl", folds=[9], drop_unlabelled=False)
    assert len(X) == len(fold9)
    with pytest.raises(FileNotFoundError, match=r"_lr\.(hea|dat)"):
        load_ptbxl(tmp_path / "ptbxl", folds=[1], drop_unlabelled=False)


def test_load_ptbxl_missing_files(ptbxl_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="PTB-XL folder not found"):
        load_ptbxl(tmp_path / "nowhere")

    root = tmp_path / "ptbxl"
    _partial_ptbxl(ptbxl_path, root, ecg_ids=[1, 2, 3])
    (root / "ptbxl_database.csv").rename(tmp_path / "database.csv")
    with pytest.raises(FileNotFoundError, match="ptbxl_database.csv"):
        load_ptbxl(root)
    (tmp_path / "database.csv").rename(root / "ptbxl_database.csv")

    (root / "scp_statements.csv").rename(tmp_path / "statements.csv")
    with pytest.raises(FileNotFoundError, match="scp_statements.csv"):
        load_ptbxl(root)
    (tmp_path / "statements.csv").rename(root / "scp_statements.csv")

    with pytest.raises(FileNotFoundError, match="records500"):
        load_ptbxl(root, sampling_rate=500)

    (root / "records100/00000/00002_lr.dat").unlink()
    with pytest.raises(FileNotFoundError, match="00002_lr.dat"):
        load_ptbxl(root)

    shutil.rmtree(root / "records100")
    with pytest.raises(FileNotFoundError, match="records100"):
        load_ptbxl(root)


def test_load_ptbxl_invalid_arguments(ptbxl_path):
    with pytest.raises(ValueError, match="'super', 'sub', 'form', 'rhythm'"):
        load_ptbxl(ptbxl_path, task="diagnostic")
    with pytest.raises(ValueError, match="100 or 500"):
        load_ptbxl(ptbxl_path, sampling_rate=250)


def test_load_ptbxl_parallel_and_verbose(ptbxl_path, capsys):
    X1, Y1, meta1 = _load_quietly(ptbxl_path, folds=[3])
    X2, Y2, meta2 = _load_quietly(ptbxl_path, folds=[3], n_jobs=2, verbose=True)
    np.testing.assert_array_equal(X1, X2)
    assert Y1.equals(Y2) and meta1.index.equals(meta2.index)
    assert "PTB-XL" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# load_ptbxl2k


@pytest.mark.parametrize("task", TASKS)
def test_load_ptbxl2k_tasks(ptbxl2k_path, task):
    with pytest.warns(UserWarning, match=f"dropped {N2K_UNLABELLED[task]} of 2032 records with no '{task}'"):
        X, Y, meta = load_ptbxl2k(ptbxl2k_path, task=task)
    n = 2032 - N2K_UNLABELLED[task]
    assert X.shape == (n, 12, 1000) and X.dtype == np.float32
    assert Y.shape == (n, len(TASK_CLASSES[task])) and list(Y.columns) == list(TASK_CLASSES[task])
    assert (Y.dtypes == np.int8).all() and (Y.sum(axis=1) > 0).all()
    assert Y.index.equals(meta.index) and meta.index.name == "ecg_id"
    assert {"patient_id", "strat_fold", "labelled"} <= set(meta.columns)
    assert meta.attrs == {"task": task, "sampling_rate": 100, "n_unlabelled": N2K_UNLABELLED[task],
                          "n_reports": int(meta["report"].notna().sum())}  # reports.csv sits beside
    if task == "form":
        assert n == 658


def test_load_ptbxl2k_signals_are_z_scores(ptbxl2k_path):
    X, _, _ = load_ptbxl2k(ptbxl2k_path, folds=[2], drop_unlabelled=False)
    np.testing.assert_allclose(X.std(axis=-1).mean(), 1.0, atol=0.1)
    assert abs(X.mean()) < 0.05


def test_load_ptbxl2k_folds_and_unlabelled(ptbxl2k_path):
    X, Y, meta = load_ptbxl2k(ptbxl2k_path, drop_unlabelled=False)
    assert X.shape == (2032, 12, 1000)
    assert meta["strat_fold"].value_counts().sort_index().to_dict() == N2K_FOLDS
    assert (~meta["labelled"]).sum() == N2K_UNLABELLED["super"]
    assert (Y[~meta["labelled"]].sum(axis=1) == 0).all()

    X9, Y9, meta9 = load_ptbxl2k(ptbxl2k_path, folds=[9], drop_unlabelled=False, dtype=np.float16)
    assert X9.dtype == np.float16 and len(X9) == N2K_FOLDS[9] and set(meta9["strat_fold"]) == {9}
    in_fold = (meta["strat_fold"] == 9).to_numpy()
    np.testing.assert_array_equal(X9, X[in_fold].astype(np.float16))
    assert Y9.equals(Y[in_fold])
    _, _, meta_train = load_ptbxl2k(ptbxl2k_path, folds=range(1, 9), drop_unlabelled=False)
    assert len(meta_train) == 2032 - N2K_FOLDS[9]
    with pytest.raises(ValueError, match="strat_fold"):
        load_ptbxl2k(ptbxl2k_path, folds=[10])


def test_load_ptbxl2k_errors(ptbxl2k_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="ptbxl-2k folder not found"):
        load_ptbxl2k(tmp_path / "nowhere")
    root = tmp_path / "ptbxl-2k"
    root.mkdir()
    (root / "labels.csv").symlink_to(ptbxl2k_path / "labels.csv")
    with pytest.raises(FileNotFoundError, match="signals_100hz.npy"):
        load_ptbxl2k(root)
    np.save(root / "signals_100hz.npy", np.zeros((3, 12, 1000), dtype=np.float16))
    with pytest.raises(ValueError, match="2032 rows"):
        load_ptbxl2k(root)
    (root / "labels.csv").unlink()
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        load_ptbxl2k(root)
    with pytest.raises(ValueError, match="valid tasks"):
        load_ptbxl2k(ptbxl2k_path, task="all")


# --------------------------------------------------------------------------------------------------
# make_ecg


def _clean(n, **kwargs):
    return make_ecg(n, noise=0, baseline_wander=0, return_peaks=True, **kwargs)


@pytest.mark.parametrize("n_leads", [1, 3, 6, 8, 12])
def test_make_ecg_shapes(n_leads):
    X, y, peaks = make_ecg(7, n_leads=n_leads, duration=5.0, return_peaks=True, random_state=0)
    assert X.shape == (7, n_leads, 500) and X.dtype == np.float32
    assert y.shape == (7,) and y.dtype.kind == "U"
    assert len(peaks) == 7 and all(p.dtype == np.int64 and p.ndim == 1 and len(p) >= 2 for p in peaks)
    assert np.isfinite(X).all()


def test_make_ecg_lead_subsets_are_the_same_signals():
    X12, _ = make_ecg(4, random_state=3)
    X1, _ = make_ecg(4, n_leads=1, random_state=3)
    X8, _ = make_ecg(4, n_leads=8, random_state=3)
    np.testing.assert_allclose(X1[:, 0], X12[:, 1], atol=1e-6)
    np.testing.assert_allclose(X8, X12[:, [0, 1, 6, 7, 8, 9, 10, 11]], atol=1e-6)


def test_make_ecg_reproducible():
    X1, y1, p1 = make_ecg(12, random_state=42, return_peaks=True)
    X2, y2, p2 = make_ecg(12, random_state=np.random.RandomState(42), return_peaks=True)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2))
    X3, _ = make_ecg(12, random_state=43)
    assert not np.allclose(X1, X3)
    # The noise is the only difference between noise levels.
    X0, _ = make_ecg(12, random_state=42, noise=0)
    residual = X1 - X0
    np.testing.assert_allclose(residual[:, :3].std(), 0.05, rtol=0.05)


def test_make_ecg_class_balance():
    _, y = make_ecg(100, random_state=0)
    counts = pd.Series(y).value_counts()
    assert set(counts.index) == set(ECG_CLASSES) and counts.max() - counts.min() <= 1
    _, y = make_ecg(9, classes=["afib", "normal"], random_state=0)
    assert sorted(pd.Series(y).value_counts().tolist()) == [4, 5]
    assert not np.array_equal(y, np.sort(y))  # shuffled
    _, y = make_ecg(3, classes="tachy", random_state=0)
    assert list(y) == ["tachy"] * 3


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_make_ecg_einthoven(noise):
    X, _ = make_ecg(30, noise=noise, baseline_wander=noise, random_state=1)
    I, II, III, aVR, aVL, aVF = (X[:, k] for k in range(6))
    np.testing.assert_allclose(II, I + III, atol=1e-5)
    np.testing.assert_allclose(aVR, -(I + II) / 2, atol=1e-5)
    np.testing.assert_allclose(aVL, (I - III) / 2, atol=1e-5)
    np.testing.assert_allclose(aVF, (II + III) / 2, atol=1e-5)


@pytest.mark.parametrize("sampling_rate", [50, 100, 128.5, 360, 500])
def test_make_ecg_peaks_and_heart_rates(sampling_rate):
    X, y, peaks = _clean(60, sampling_rate=sampling_rate, random_state=2)
    assert X.shape[-1] == round(10 * sampling_rate)
    lead_ii = np.abs(X[:, 1])
    for signal, label, p in zip(lead_ii, y, peaks):
        assert np.all(np.diff(p) > 0) and p.min() >= 0 and p.max() < X.shape[-1]
        inner = p[(p > 0) & (p < X.shape[-1] - 1)]
        assert np.all(signal[inner] >= signal[inner - 1]) and np.all(signal[inner] >= signal[inner + 1])
        assert signal[inner].min() > 0.2  # the R wave, not a small local bump
        rate = 60 * sampling_rate / np.diff(p).mean()
        low, high = {"brady": (40, 60), "tachy": (100, 150), "afib": (60, 140)}.get(label, (60, 100))
        assert low <= rate <= high, (label, rate)


def test_make_ecg_afib_is_irregular():
    _, y, peaks = _clean(120, random_state=4)
    cv = np.array([np.diff(p).std() / np.diff(p).mean() for p in peaks])
    sinus = np.isin(y, ["normal", "brady", "tachy", "st_shift"])
    assert cv[y == "afib"].min() > 0.06 > cv[sinus].max()


def _qrs_width(x, peaks, fs):
    """Median QRS duration (s): span around each R peak where the steepest lead's slope is above 15%."""
    slope = np.abs(np.diff(x, axis=1)).max(axis=0)
    widths = []
    for p in peaks:
        start, stop = p - int(0.1 * fs), p + int(0.14 * fs)
        if start >= 0 and stop < len(slope):
            above = np.flatnonzero(slope[start:stop] > 0.15 * slope[start:stop].max())
            widths.append((above[-1] - above[0] + 1) / fs)
    return np.median(widths)


def test_make_ecg_wide_qrs_and_st_shift():
    fs = 500
    X, y, peaks = _clean(36, classes=["normal", "wide_qrs", "st_shift"], sampling_rate=fs, random_state=5)
    width = np.array([_qrs_width(x, p, fs) for x, p in zip(X, peaks)])
    assert width[y == "wide_qrs"].min() >= 0.12 > 0.11 > width[y == "normal"].max()
    # ST level in lead II, 80 ms after the R peak (baseline is 0 without wander).
    st = np.array([np.median(np.abs(x[1, p[p + 40 < x.shape[1]] + 40])) for x, p in zip(X, peaks)])
    assert st[y == "st_shift"].min() > 0.1 > 0.05 > st[y == "normal"].max()


def test_make_ecg_afib_has_no_p_waves_but_f_waves():
    """Before each QRS, sinus rhythm repeats the same P wave; AF shows activity not locked to the beat."""
    fs = 500
    X, y, peaks = _clean(32, classes=["normal", "brady", "tachy", "afib"], sampling_rate=fs, random_state=6)
    for x, label, p in zip(X, y, peaks):
        for lead in (1, 6):  # II, V1
            segments = np.array([x[lead, q - 100 : q - 30] for q in p if q >= 100])  # 200-60 ms before R
            locked = np.ptp(segments.mean(axis=0))
            unlocked = segments.std(axis=0).mean()
            assert (unlocked > 0.4 * locked) if label == "afib" else (unlocked < 0.1 * locked), label
            assert label != "afib" or unlocked > 0.01


def test_make_ecg_is_fast():
    start = time.perf_counter()
    X, _ = make_ecg(1000, random_state=0)
    assert X.shape == (1000, 12, 1000)
    assert time.perf_counter() - start < 10  # about 0.7 s on a laptop core


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_records=0), "n_records"),
        (dict(n_records=2.5), "n_records"),
        (dict(classes=["normal", "vfib"]), "vfib"),
        (dict(classes=[]), "empty"),
        (dict(sampling_rate=0), "sampling_rate"),
        (dict(sampling_rate=-100), "sampling_rate"),
        (dict(duration=1.0), "duration"),
        (dict(n_leads=2), "n_leads"),
        (dict(noise=-0.1), "noise"),
        (dict(baseline_wander=-1), "baseline_wander"),
    ],
)
def test_make_ecg_invalid_arguments(kwargs, match):
    kwargs = {"n_records": 6, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_ecg(**kwargs)


def test_add_spikes_is_repeatable_and_leaves_the_input_alone():
    from heartlang_sk.datasets.artefacts import add_spikes

    x = np.zeros((3, 2000))
    a, n = add_spikes(x, 500, per_second=2.0, seed=3)
    b, m = add_spikes(x, 500, per_second=2.0, seed=3)
    assert n == m > 0 and np.array_equal(a, b) and not x.any()
    runs = np.diff(np.concatenate([[0], (a.reshape(-1) != 0).astype(int), [0]]))
    assert (np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1) <= 3).all()  # at most 6 ms at 500 Hz, unless two overlap
    assert 3 <= np.abs(a[a != 0]).min() and np.abs(a).max() <= 66
