"""Which records a probe trains, selects and is scored on: the PTB-XL protocol's patient-disjoint
validation split of the training folds, and the few-label training regimes drawn from the rest.

- :func:`protocol_split` -- training pool, validation and test rows from ``strat_fold`` and
  ``patient_id`` (:func:`patient_groups`);
- :func:`few_shot_indices` -- a regime (1 %, 10 %, ...) with every class represented where possible;
- :func:`regime_name` -- a regime's label.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils import check_random_state

from ._labels import _label_matrix

__all__ = ["few_shot_indices", "patient_groups", "protocol_split", "regime_name"]


def regime_name(fraction):
    """Label of a training regime: ``0.01 -> "1%"``."""
    return f"{100 * fraction:g}%"


def few_shot_indices(Y, fraction, random_state=None):
    """Draw a fraction of the records so that every class present is represented where possible.

    ``round(fraction * n)`` records (at least 1) are drawn. First, while budget is left and some
    class with a positive record in ``Y`` has none in the draw, the rarest such class gets one of
    its positive records -- the one covering most other uncovered classes, ties at random. The rest
    of the budget is filled at random. A budget smaller than the number of classes covers the
    rarest classes first; ``fraction=1`` returns every record.

    Parameters
    ----------
    Y : array-like of shape (n_records, n_classes)
        One-hot (multi-label) labels of the pool to draw from.
    fraction : float
        Fraction of the records, in (0, 1].
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed and labels give the same draw.

    Returns
    -------
    ndarray of int64
        Sorted row indices into ``Y``.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.evaluation import few_shot_indices
    >>> Y = np.zeros((100, 3), dtype=int)
    >>> Y[:90, 0] = 1; Y[90:98, 1] = 1; Y[98:, 2] = 1    # class 2 has two positives
    >>> draw = few_shot_indices(Y, 0.05, random_state=0)
    >>> len(draw), Y[draw].any(axis=0).tolist()
    (5, [True, True, True])
    >>> bool(np.array_equal(draw, few_shot_indices(Y, 0.05, random_state=0)))
    True
    """
    Y = _label_matrix(Y)
    if (not isinstance(fraction, numbers.Real) or isinstance(fraction, bool)
            or not 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    rng = check_random_state(random_state)
    n = len(Y)
    if n == 0:
        raise ValueError("Y has no records to draw from")
    n_draw = n if fraction == 1 else min(n, max(1, int(round(fraction * n))))
    if n_draw == n:
        return np.arange(n, dtype=np.int64)
    positive = Y > 0
    n_positive = positive.sum(axis=0)
    chosen = np.zeros(n, dtype=bool)
    covered = n_positive == 0  # a class without positives cannot be covered: nothing to do
    while chosen.sum() < n_draw and not covered.all():
        rarity = np.where(covered, np.inf, n_positive)
        target = rng.choice(np.flatnonzero(rarity == rarity.min()))
        rows = np.flatnonzero(positive[:, target] & ~chosen)
        gain = positive[rows][:, ~covered].sum(axis=1)
        pick = rng.choice(rows[gain == gain.max()])
        chosen[pick] = True
        covered |= positive[pick]
    rest = np.flatnonzero(~chosen)
    chosen[rng.choice(rest, n_draw - int(chosen.sum()), replace=False)] = True
    return np.flatnonzero(chosen).astype(np.int64)


def patient_groups(meta):
    """Group label per record for patient-wise splits: ``patient_id``, or the record itself if missing.

    Parameters
    ----------
    meta : DataFrame
        With a ``patient_id`` column (NaN where unknown).

    Returns
    -------
    ndarray of str
    """
    patients = meta["patient_id"].to_numpy()
    missing = pd.isna(patients)
    groups = np.array([f"patient:{p:.0f}" if isinstance(p, float) else f"patient:{p}"
                       for p in np.where(missing, 0, patients)], dtype=object)
    groups[missing] = [f"record:{i}" for i in np.flatnonzero(missing)]
    return groups


def protocol_split(meta, *, train_folds=range(1, 9), test_folds=(9,), valid_fraction=0.15,
                   valid_random_state=0):
    """The records of the protocol: training pool, patient-disjoint validation set and test set.

    The validation set is about ``valid_fraction`` of the patients of ``train_folds``, drawn with
    ``GroupShuffleSplit`` on :func:`patient_groups` (seed ``valid_random_state``); the rest of the
    training folds is the pool the training regimes are drawn from. Warns if a patient has
    records in both the training and the test folds.

    Parameters
    ----------
    meta : DataFrame
        ``strat_fold`` and ``patient_id`` per record.
    train_folds, test_folds : iterable of int, default=1-8 and (9,)
    valid_fraction : float, default=0.15
    valid_random_state : int, default=0

    Returns
    -------
    pool_rows, valid_rows, test_rows : ndarray of int64
        Sorted row positions in ``meta``.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.evaluation import protocol_split
    >>> meta = pd.DataFrame({"strat_fold": [1, 1, 2, 2, 3, 3], "patient_id": [7, 7, 8, 9, 10, None]})
    >>> pool, valid, test = protocol_split(meta, train_folds=(1, 2), test_folds=(3,),
    ...                                    valid_fraction=0.34)
    >>> sorted(pool.tolist() + valid.tolist()), test.tolist()
    ([0, 1, 2, 3], [4, 5])
    """
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction!r}")
    for column in ("strat_fold", "patient_id"):
        if column not in meta:
            raise ValueError(f"meta lacks the {column!r} column")
    train_folds, test_folds = set(train_folds), set(test_folds)
    if train_folds & test_folds:
        raise ValueError(f"train_folds and test_folds overlap: {sorted(train_folds & test_folds)}")
    folds = meta["strat_fold"].to_numpy()
    train_rows = np.flatnonzero(np.isin(folds, list(train_folds)))
    test_rows = np.flatnonzero(np.isin(folds, list(test_folds)))
    if not len(train_rows) or not len(test_rows):
        raise ValueError(f"no records in train_folds {sorted(train_folds)} or test_folds "
                         f"{sorted(test_folds)} (meta has folds {sorted(set(folds.tolist()))})")
    groups = patient_groups(meta)
    shared = set(groups[train_rows]) & set(groups[test_rows])
    if shared:
        warnings.warn(f"{len(shared)} patient(s) have records in both the training and the test "
                      f"folds", UserWarning, stacklevel=2)
    split = GroupShuffleSplit(n_splits=1, test_size=valid_fraction, random_state=valid_random_state)
    pool_pos, valid_pos = next(split.split(train_rows, groups=groups[train_rows]))
    return (np.sort(train_rows[pool_pos]).astype(np.int64),
            np.sort(train_rows[valid_pos]).astype(np.int64), test_rows.astype(np.int64))
