"""The ``ptbxl-2k`` array format: pre-processed PTB-XL records with their benchmark label tables."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .ptbxl import _check_folds, _check_task

__all__ = ["load_ptbxl2k"]

_SIGNALS = "signals_100hz.npy"
_LABELS = "labels.csv"
_REPORTS = "reports.csv"


def load_ptbxl2k(path, task="super", folds=None, drop_unlabelled=True, dtype=np.float32):
    """Read the ``ptbxl-2k`` arrays: z-scored 100 Hz 12-lead signals and the labels of one task.

    The folder holds ``signals_100hz.npy`` (float16, shape (n, 12, 1000): band-pass 0.5-40 Hz,
    per-lead z-score, 100 Hz) and ``labels.csv`` (``ecg_id``, ``patient_id``, ``strat_fold`` and the
    one-hot columns ``super_*``, ``sub_*``, ``form_*``, ``rhythm_*``, empty where the benchmark label
    table of that task excludes the record). The signal file is memory-mapped, so selecting folds
    reads only the selected records.

    Parameters
    ----------
    path : str or path-like
        Folder holding ``signals_100hz.npy`` and ``labels.csv``.
    task : {"super", "sub", "form", "rhythm"}, default="super"
        Label set; same classes and column order as :func:`load_ptbxl`.
    folds : int or iterable of int, optional
        ``strat_fold`` values to read (1-9 in ``ptbxl-2k``: train on 1-8, report on 9). Default: all.
    drop_unlabelled : bool, default=True
        Records without a label for ``task`` are dropped with a :class:`UserWarning`; with ``False``
        they are kept, with all-zero rows in ``Y`` and ``meta["labelled"] == False``.
    dtype : dtype, default=np.float32
        dtype of ``X``.

    Returns
    -------
    X : ndarray of shape (n_records, 12, 1000)
        z-scored signals at 100 Hz (not mV), leads I, II, III, aVR, aVL, aVF, V1-V6.
    Y : DataFrame of shape (n_records, n_classes), int8
        One-hot labels, columns the task's classes (without the ``super_`` etc. prefix), index
        ``ecg_id``.
    meta : DataFrame
        ``patient_id``, ``strat_fold`` and ``labelled``, indexed by ``ecg_id``; when ``reports.csv``
        sits beside the arrays, also ``report`` (PTB-XL's free-text report, NaN for the records the
        file does not cover). ``meta.attrs`` holds ``task``, ``sampling_rate`` (100),
        ``n_unlabelled`` and, with reports, ``n_reports`` (selected records that have one).

    Raises
    ------
    FileNotFoundError
        If the folder, ``signals_100hz.npy`` or ``labels.csv`` is missing.
    ValueError
        On an unknown task or fold, or when the array and the label table do not match.

    Warns
    -----
    UserWarning
        When records without a label for ``task`` are dropped.

    Examples
    --------
    >>> from heartlang_sk.datasets import load_ptbxl2k
    >>> X, Y, meta = load_ptbxl2k("data/ptbxl-2k", task="super", folds=[9])  # doctest: +SKIP
    >>> X.shape, Y.shape  # doctest: +SKIP
    ((248, 12, 1000), (248, 5))
    >>> meta.attrs["n_unlabelled"]  # 11 fold-9 records have no diagnostic label  # doctest: +SKIP
    11
    >>> int(meta["report"].notna().sum())  # reports.csv covers 92 of them  # doctest: +SKIP
    92
    """
    classes = _check_task(task)
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"ptbxl-2k folder not found: {root}")
    for name in (_SIGNALS, _LABELS):
        if not (root / name).is_file():
            raise FileNotFoundError(f"ptbxl-2k folder {root} is incomplete: {root / name} not found")

    table = pd.read_csv(root / _LABELS)
    signals = np.load(root / _SIGNALS, mmap_mode="r")
    if signals.ndim != 3 or signals.shape[0] != len(table):
        raise ValueError(f"{root / _SIGNALS} has shape {signals.shape} but {root / _LABELS} has {len(table)} rows")
    columns = [f"{task}_{name}" for name in classes]
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{root / _LABELS} lacks the {task} column(s) {missing}")

    folds = _check_folds(folds, table["strat_fold"].unique())
    rows = np.arange(len(table)) if folds is None else np.flatnonzero(table["strat_fold"].isin(folds).to_numpy())
    labels = table[columns].to_numpy()[rows]
    empty = np.isnan(labels)
    partial = empty.any(axis=1) & ~empty.all(axis=1)
    if partial.any():
        raise ValueError(f"{root / _LABELS}: {int(partial.sum())} record(s) have some but not all {task} columns empty")
    labelled = ~empty.all(axis=1)
    n_unlabelled = int((~labelled).sum())
    if drop_unlabelled and n_unlabelled:
        warnings.warn(
            f"load_ptbxl2k: dropped {n_unlabelled} of {len(rows)} records with no {task!r} label "
            "(drop_unlabelled=False keeps them, flagged in meta['labelled'])",
            UserWarning,
            stacklevel=2,
        )
        rows, labels, labelled = rows[labelled], labels[labelled], labelled[labelled]

    meta = table.iloc[rows][["ecg_id", "patient_id", "strat_fold"]].set_index("ecg_id")
    meta["labelled"] = labelled
    meta.attrs.update(task=task, sampling_rate=100, n_unlabelled=n_unlabelled)
    if (root / _REPORTS).is_file():
        reports = pd.read_csv(root / _REPORTS, usecols=["ecg_id", "report"]).drop_duplicates("ecg_id")
        meta["report"] = meta.index.map(reports.set_index("ecg_id")["report"])
        meta.attrs["n_reports"] = int(meta["report"].notna().sum())
    Y = pd.DataFrame(np.nan_to_num(labels).astype(np.int8), index=meta.index, columns=list(classes))
    # Fancy indexing a memory map reads only the selected records.
    X = np.asarray(signals[rows], dtype=dtype)
    return X, Y, meta
