"""PTB-XL: read the PhysioNet folder and derive the benchmark label tables.

Labels follow the PTB-XL benchmark protocol of Strodthoff et al. (2021), ``compute_label_aggregations``
in ``ecg_ptbxl_benchmarking``: a record's ``scp_codes`` are mapped through ``scp_statements.csv``
(the likelihood attached to each code is not used), and a record with no code of a task is left out
of that task.
"""

from __future__ import annotations

import ast
import os
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "LEAD_NAMES",
    "SUPERCLASSES",
    "SUBCLASSES",
    "FORM_CLASSES",
    "RHYTHM_CLASSES",
    "TASK_CLASSES",
    "load_ptbxl",
]

#: Lead order of every array this package returns.
LEAD_NAMES = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# The full class lists of the four tasks, in the column order of ``ptbxl-2k/labels.csv``. PTB-XL pads
# some names with underscores (``NST_``, ``_AVB``); here they are stripped, as in that table.
#: Diagnostic superclasses (``diagnostic_class`` of the diagnostic statements).
SUPERCLASSES = ("HYP", "NORM", "MI", "CD", "STTC")
#: Diagnostic subclasses (``diagnostic_subclass`` of the diagnostic statements).
SUBCLASSES = (
    "AMI", "LAFB/LPFB", "LVH", "STTC", "IMI", "SEHYP", "CRBBB", "WPW", "LAO/LAE", "NORM", "AVB",
    "RAO/RAE", "ISC", "LMI", "ISCI", "ISCA", "NST", "CLBBB", "ILBBB", "IRBBB", "PMI", "RVH", "IVCD",
)  # fmt: skip
#: Form statements (codes with ``form == 1``).
FORM_CLASSES = (
    "PAC", "DIG", "HVOLT", "STD", "LPR", "QWAVE", "VCLVH", "NDT", "TAB", "LOWT", "ABQRS", "LNGQT",
    "PRC(S)", "NT", "STE", "NST", "PVC", "INVT", "LVOLT",
)  # fmt: skip
#: Rhythm statements (codes with ``rhythm == 1``).
RHYTHM_CLASSES = ("SVARR", "BIGU", "STACH", "SARRH", "SBRAD", "TRIGU", "AFIB", "SR", "SVTAC", "PSVT", "AFLT", "PACE")
#: Class list of each task.
TASK_CLASSES = {"super": SUPERCLASSES, "sub": SUBCLASSES, "form": FORM_CLASSES, "rhythm": RHYTHM_CLASSES}

_SAMPLING_RATES = {100: ("records100", "filename_lr"), 500: ("records500", "filename_hr")}
_UNITS_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3}
_CHUNK_SIZE = 64  # records per joblib task: large enough to amortise the dispatch overhead


def _check_task(task):
    if task not in TASK_CLASSES:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(map(repr, TASK_CLASSES))}")
    return TASK_CLASSES[task]


def _check_folds(folds, available):
    """Normalise ``folds`` to a sorted list of ints, all present in ``available``."""
    if folds is None:
        return None
    if isinstance(folds, Integral):
        folds = [folds]
    folds = sorted({int(f) for f in folds})
    if not folds:
        raise ValueError("folds is empty; pass None to read every fold")
    available = sorted({int(f) for f in available})
    unknown = [f for f in folds if f not in available]
    if unknown:
        raise ValueError(f"strat_fold {unknown} not in the data; available folds: {available}")
    return folds


def _task_labels(scp_codes, statements, task):
    """One-hot labels of ``task`` from parsed ``scp_codes``, as in ``compute_label_aggregations``.

    Returns a (n_records, n_classes) int8 array and a boolean mask of the records with at least one
    label. Codes absent from the statement table are ignored, as in the reference code.
    """
    classes = TASK_CLASSES[task]
    if task in ("super", "sub"):
        column = "diagnostic_class" if task == "super" else "diagnostic_subclass"
        rows = statements[statements["diagnostic"] == 1]
        code_to_class = {code: value for code, value in rows[column].items() if pd.notna(value)}
    else:
        rows = statements[statements[task] == 1]
        code_to_class = {code: code for code in rows.index}
    column_of = {name: j for j, name in enumerate(classes)}
    code_to_column = {}
    for code, value in code_to_class.items():
        name = str(value).strip("_")
        if name not in column_of:
            raise ValueError(
                f"scp_statements.csv maps code {code!r} to {task} class {name!r}, which is not one of the "
                f"{len(classes)} PTB-XL {task} classes; is this the PTB-XL statement table?"
            )
        code_to_column[code] = column_of[name]
    Y = np.zeros((len(scp_codes), len(classes)), dtype=np.int8)
    for i, codes in enumerate(scp_codes):
        for code in codes:
            j = code_to_column.get(code)
            if j is not None:
                Y[i, j] = 1
    return Y, Y.any(axis=1)


def _read_chunk(paths, n_samples, sampling_rate):
    """Read WFDB records into a (len(paths), 12, n_samples) float32 array in mV, leads in LEAD_NAMES order."""
    import wfdb

    wanted = [name.upper() for name in LEAD_NAMES]
    out = np.empty((len(paths), len(LEAD_NAMES), n_samples), dtype=np.float32)
    for i, path in enumerate(paths):
        record = wfdb.rdrecord(path)
        names = [name.upper() for name in record.sig_name]
        missing = [LEAD_NAMES[k] for k, name in enumerate(wanted) if name not in names]
        if missing:
            raise ValueError(f"{path}.hea: lead(s) {missing} missing; header leads: {record.sig_name}")
        if record.fs != sampling_rate or record.sig_len != n_samples:
            raise ValueError(
                f"{path}.hea: {record.sig_len} samples at {record.fs} Hz, expected {n_samples} at {sampling_rate} Hz"
            )
        order = [names.index(name) for name in wanted]
        scale = np.ones(len(order))
        for k, channel in enumerate(order):
            unit = str(record.units[channel]).strip().lower()
            if unit not in _UNITS_TO_MV:
                raise ValueError(f"{path}.hea: lead {record.sig_name[channel]} has unit {record.units[channel]!r}")
            scale[k] = _UNITS_TO_MV[unit]
        out[i] = (record.p_signal[:, order] * scale).T
    return out


def _first_header(path):
    import wfdb

    header = wfdb.rdheader(path)
    return int(header.sig_len)


def load_ptbxl(path, task="super", sampling_rate=100, folds=None, drop_unlabelled=True, n_jobs=None, verbose=False):
    """Read a PTB-XL folder: 12-lead signals, benchmark labels of one task and record metadata.

    Labels are derived from ``scp_codes`` and ``scp_statements.csv`` as in the PTB-XL benchmark of
    Strodthoff et al. (2021): ``"super"`` and ``"sub"`` take the ``diagnostic_class`` and
    ``diagnostic_subclass`` of the codes whose statement has ``diagnostic == 1``, ``"form"`` and
    ``"rhythm"`` take the codes with ``form == 1`` and ``rhythm == 1``. The likelihood value of each
    code is not used. Labels are computed before any signal is read, so records that are dropped
    (other folds, unlabelled) are never read.

    Parameters
    ----------
    path : str or path-like
        PTB-XL root folder, holding ``ptbxl_database.csv``, ``scp_statements.csv`` and
        ``records100/`` (or ``records500/``).
    task : {"super", "sub", "form", "rhythm"}, default="super"
        Label set: 5 diagnostic superclasses, 23 subclasses, 19 form or 12 rhythm statements
        (:data:`SUPERCLASSES`, :data:`SUBCLASSES`, :data:`FORM_CLASSES`, :data:`RHYTHM_CLASSES`).
    sampling_rate : {100, 500}, default=100
        100 reads ``records100/`` (``filename_lr``), 500 reads ``records500/`` (``filename_hr``).
    folds : int or iterable of int, optional
        ``strat_fold`` values to read (PTB-XL has folds 1-10; the benchmark uses 1-8 for training,
        9 for validation and 10 for testing). Default: all.
    drop_unlabelled : bool, default=True
        Records without any label of ``task`` (e.g. a record with only rhythm codes for
        ``task="super"``) are dropped with a :class:`UserWarning`. With ``False`` they are kept, with
        all-zero rows in ``Y`` and ``meta["labelled"] == False``.
    n_jobs : int, optional
        Parallel jobs (joblib) reading the records; ``None`` means 1, ``-1`` all cores.
    verbose : bool, default=False
        Show a tqdm progress bar while reading.

    Returns
    -------
    X : ndarray of shape (n_records, 12, n_samples), float32
        Signals in mV, leads in the order of :data:`LEAD_NAMES` (I, II, III, aVR, aVL, aVF, V1-V6);
        ``n_samples`` is 1000 at 100 Hz, 5000 at 500 Hz.
    Y : DataFrame of shape (n_records, n_classes), int8
        One-hot labels, columns the task's classes, index ``ecg_id`` (same as ``meta``).
    meta : DataFrame
        The database columns (``patient_id``, ``age``, ``sex``, ``strat_fold``, ``scp_codes`` parsed to
        dicts, ...), indexed by ``ecg_id``, plus ``filename`` (the record read, relative to ``path``)
        and ``labelled``. ``meta.attrs`` holds ``task``, ``sampling_rate`` and ``n_unlabelled`` (the
        number of selected records without a label for the task, dropped or not).

    Raises
    ------
    FileNotFoundError
        If the folder, ``ptbxl_database.csv``, ``scp_statements.csv``, the records folder or a record
        file (``.hea``/``.dat``) is missing; the message names the first missing file.
    ValueError
        On an unknown task, sampling rate or fold, or a record with unexpected leads or length.

    Warns
    -----
    UserWarning
        When records without a label for ``task`` are dropped.

    See Also
    --------
    load_ptbxl2k : the pre-processed 2,032-record subset, same labels.

    Examples
    --------
    >>> from heartlang_sk.datasets import load_ptbxl
    >>> X, Y, meta = load_ptbxl("data/ptbxl", task="super", folds=[9])  # doctest: +SKIP
    >>> X.shape[1:], X.dtype  # doctest: +SKIP
    ((12, 1000), dtype('float32'))
    >>> list(Y.columns)  # doctest: +SKIP
    ['HYP', 'NORM', 'MI', 'CD', 'STTC']
    >>> meta[["patient_id", "age", "sex", "strat_fold"]].head(2)  # doctest: +SKIP

    The full download, training folds, read in parallel with a progress bar:

    >>> X_train, Y_train, meta_train = load_ptbxl(  # doctest: +SKIP
    ...     "data/ptbxl", task="rhythm", folds=range(1, 9), n_jobs=-1, verbose=True
    ... )
    """
    classes = _check_task(task)
    if sampling_rate not in _SAMPLING_RATES:
        raise ValueError(f"sampling_rate must be 100 or 500 (the PTB-XL record sets), got {sampling_rate!r}")
    records_dir, filename_column = _SAMPLING_RATES[sampling_rate]

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"PTB-XL folder not found: {root}")
    for name in ("ptbxl_database.csv", "scp_statements.csv", records_dir):
        if not (root / name).exists():
            raise FileNotFoundError(f"PTB-XL folder {root} is incomplete: {root / name} not found")

    database = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(root / "scp_statements.csv", index_col=0)
    folds = _check_folds(folds, database["strat_fold"].unique())
    if folds is not None:
        database = database[database["strat_fold"].isin(folds)]
    meta = database.copy()
    meta["scp_codes"] = meta["scp_codes"].apply(ast.literal_eval)
    meta["patient_id"] = meta["patient_id"].astype("int64") if meta["patient_id"].notna().all() else meta["patient_id"]
    meta["filename"] = meta[filename_column]

    Y, labelled = _task_labels(meta["scp_codes"], statements, task)
    meta["labelled"] = labelled
    n_unlabelled = int((~labelled).sum())
    if drop_unlabelled and n_unlabelled:
        warnings.warn(
            f"load_ptbxl: dropped {n_unlabelled} of {len(meta)} records with no {task!r} label "
            "(drop_unlabelled=False keeps them, flagged in meta['labelled'])",
            UserWarning,
            stacklevel=2,
        )
        meta, Y = meta[labelled], Y[labelled]
    meta.attrs.update(task=task, sampling_rate=sampling_rate, n_unlabelled=n_unlabelled)
    Y = pd.DataFrame(Y, index=meta.index, columns=list(classes))

    paths = [os.path.join(root, name) for name in meta["filename"]]
    for record in paths:
        for suffix in (".hea", ".dat"):
            if not os.path.exists(record + suffix):
                raise FileNotFoundError(f"PTB-XL record file not found: {record + suffix}")
    X = _read_records(paths, sampling_rate, n_jobs=n_jobs, verbose=verbose)
    return X, Y, meta


def _read_records(paths, sampling_rate, n_jobs=None, verbose=False):
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if not paths:
        return np.empty((0, len(LEAD_NAMES), 10 * sampling_rate), dtype=np.float32)
    n_samples = _first_header(paths[0])
    X = np.empty((len(paths), len(LEAD_NAMES), n_samples), dtype=np.float32)
    starts = range(0, len(paths), _CHUNK_SIZE)
    # return_as="generator" fills X chunk by chunk, so peak memory stays close to the size of X.
    chunks = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_read_chunk)(paths[start : start + _CHUNK_SIZE], n_samples, sampling_rate) for start in starts
    )
    with tqdm(total=len(paths), desc="PTB-XL", unit="record", disable=not verbose) as progress:
        for start, chunk in zip(starts, chunks):
            X[start : start + len(chunk)] = chunk
            progress.update(len(chunk))
    return X
