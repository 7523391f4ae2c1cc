"""HeartLang's evaluation protocol: linear probes on frozen record embeddings, macro ROC-AUC.

The paper (SPEC section 5) freezes the encoder, fits a linear classifier on the embeddings of
1 %, 10 % or 100 % of the PTB-XL training records, selects it on the validation fold and reports the
macro ROC-AUC on the test fold, for four multi-label tasks. This module is that protocol as
functions, for any embedding (a callable ``X -> Z``):

- :func:`few_shot_indices` -- draw a training regime with every class represented where possible;
- :func:`macro_auc` -- macro ROC-AUC over the classes both labels of which are present;
- :func:`linear_probe` -- standardize, fit a logistic regression (scikit-learn) or a torch linear
  head, choose the hyper-parameter on validation only, score the test set;
- :func:`evaluate_embeddings` -- the whole protocol: patient-grouped validation split from the
  training folds, regimes x seeds x probes, one tidy row per fit; :func:`summarize` gives mean and
  standard deviation per regime;
- :func:`evaluate_embedders` / :func:`evaluate_baselines` -- several named embeddings (the
  hand-made feature and raw-signal baselines included) through the same protocol;
- :data:`PUBLISHED` / :func:`published_table` -- the paper's numbers, to print beside one's own.
"""

from __future__ import annotations

import copy
import numbers
import time
import warnings
from collections import namedtuple
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

__all__ = [
    "PUBLISHED",
    "MacroAUC",
    "baseline_embedders",
    "evaluate_baselines",
    "evaluate_embedders",
    "evaluate_embeddings",
    "few_shot_indices",
    "linear_probe",
    "macro_auc",
    "patient_groups",
    "protocol_split",
    "published_table",
    "summarize",
]

PROBE_METHODS = ("sklearn", "torch")

#: Published linear-probe macro ROC-AUC (%) on PTB-XL, as ``{model: {task: (1 %, 10 %, 100 %)}}``
#: (``None`` where not reported). Sources (SPEC section 5): HeartLang, MERL and MELP from the ICLR
#: 2025 HeartLang paper (pre-trained on MIMIC-IV-ECG); the two "workshop" rows from the workshop
#: version (pre-trained on PTB-XL only, Small model, 100 % regime only).
PUBLISHED = {
    "HeartLang": {
        "super": (78.94, 85.59, 87.52), "sub": (64.68, 79.34, 88.91),
        "form": (58.70, 63.99, 80.23), "rhythm": (62.08, 76.22, 90.34),
    },
    "MERL": {
        "super": (82.39, 86.27, 88.67), "sub": (64.90, 80.56, 84.72),
        "form": (58.26, 72.43, 79.65), "rhythm": (53.33, 82.88, 88.34),
    },
    "MELP": {
        "super": (85.82, 87.61, 87.87), "sub": (79.22, 84.40, 87.46),
        "form": (63.41, 76.71, 83.30), "rhythm": (88.83, 94.65, 96.91),
    },
    "HeartLang Small (workshop, PTB-XL pre-training)": {
        "super": (None, None, 87.89), "sub": (None, None, 87.12),
        "form": (None, None, 77.61), "rhythm": (None, None, 92.36),
    },
    "random-init Small (workshop)": {
        "super": (None, None, 80.75), "sub": (None, None, 75.51),
        "form": (None, None, 61.46), "rhythm": (None, None, 76.95),
    },
}

#: The training-data regimes of the paper, as fractions of the training records.
PUBLISHED_FRACTIONS = (0.01, 0.1, 1.0)

#: Macro ROC-AUC with the classes it was computed over. ``score`` is the mean of ``per_class``
#: (which is what ``roc_auc_score(average="macro")`` computes); ``classes`` are the column names
#: (DataFrame input) or indices of the classes that have both labels in ``Y_true``.
MacroAUC = namedtuple("MacroAUC", ["score", "classes", "per_class"])


def regime_name(fraction):
    """Label of a training regime: ``0.01 -> "1%"``."""
    return f"{100 * fraction:g}%"


# -- labels and scores ---------------------------------------------------------------------------
def _label_matrix(Y, name="Y"):
    values = np.asarray(Y)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"{name} must be a one-hot matrix (n_records, n_classes), got shape "
                         f"{values.shape}")
    if values.size and not np.isin(values, (0, 1)).all():
        raise ValueError(f"{name} must hold 0/1 labels")
    return values.astype(np.int8, copy=False)


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


def macro_auc(Y_true, Y_score):
    """Macro ROC-AUC over the classes that have both a positive and a negative record.

    A class without positives (or without negatives) in ``Y_true`` has no ROC curve; it is left
    out rather than failing the whole score, and the classes used are returned with it.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_records, n_classes)
        0/1 labels; DataFrame column names name the classes in the result.
    Y_score : array-like of shape (n_records, n_classes)
        Scores (probabilities, logits, any monotone score) per class.

    Returns
    -------
    MacroAUC
        ``(score, classes, per_class)``: the macro AUC (NaN, with a warning, when no class has
        both labels), the classes used (names or column indices) and a dict class -> AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.evaluation import macro_auc
    >>> Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    >>> S = np.array([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5], [0.7, 0.25, 0.5], [0.3, 0.3, 0.5]])
    >>> score, classes, per_class = macro_auc(Y, S)    # class 2 has no positive: left out
    >>> round(score, 3), classes.tolist(), {k: round(v, 2) for k, v in per_class.items()}
    (0.875, [0, 1], {0: 1.0, 1: 0.75})
    """
    names = list(Y_true.columns) if isinstance(Y_true, pd.DataFrame) else None
    truth = _label_matrix(Y_true, "Y_true")
    scores = np.asarray(Y_score, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.shape != truth.shape:
        raise ValueError(f"Y_true has shape {truth.shape} but Y_score has shape {scores.shape}")
    used = np.flatnonzero(truth.min(axis=0) != truth.max(axis=0)) if len(truth) else np.zeros(0, int)
    classes = np.asarray(names, dtype=object)[used] if names is not None else used
    if used.size == 0:
        warnings.warn("macro_auc: no class has both positive and negative records; the score is "
                      "undefined (NaN)", UserWarning, stacklevel=2)
        return MacroAUC(float("nan"), classes, {})
    per_class = np.atleast_1d(roc_auc_score(truth[:, used], scores[:, used], average=None))
    keys = [c.item() if isinstance(c, np.generic) else c for c in classes]
    return MacroAUC(float(per_class.mean()), classes, dict(zip(keys, per_class.tolist())))


# -- the probes ----------------------------------------------------------------------------------
def _as_embedding(Z, name):
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"{name} must be a 2-D embedding matrix (n_records, n_dims), got shape "
                         f"{Z.shape}")
    if not np.isfinite(Z).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return Z


def _limit_threads(n_threads):
    if n_threads is None:
        from contextlib import nullcontext
        return nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n_threads)


def _valid_key(score):
    return -np.inf if np.isnan(score) else score


def _probe_sklearn(Z_train, Y_train, Z_valid, Y_valid, Cs, max_iter):
    best = None
    for C in Cs:
        model = make_pipeline(StandardScaler(),
                              OneVsRestClassifier(LogisticRegression(C=C, max_iter=max_iter)))
        with warnings.catch_warnings():
            # A class with no positive in a small draw gets a constant predictor (OvR warns), and
            # lbfgs may stop at max_iter on weakly regularized fits; neither is an error here.
            warnings.filterwarnings("ignore", message="Label .* is present in all training")
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            model.fit(Z_train, Y_train)
        valid = macro_auc(Y_valid, model.predict_proba(Z_valid))
        # Strictly better only: ties keep the smaller C (Cs are tried in increasing order).
        if best is None or _valid_key(valid.score) > _valid_key(best[1].score):
            best = (model, valid, {"C": C})
    return best


def _probe_torch(Z_train, Y_train, Z_valid, Y_valid, lr, epochs, batch_size, weight_decay,
                 random_state, device):
    import torch
    from torch import nn

    scaler = StandardScaler().fit(Z_train)
    as_tensor = (lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device))
    x_train, y_train = as_tensor(scaler.transform(Z_train)), as_tensor(Y_train)
    x_valid = as_tensor(scaler.transform(Z_valid))
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the caller's global torch RNG stays untouched
        torch.manual_seed(seed)
        head = nn.Linear(x_train.shape[1], y_train.shape[1]).to(device)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    n = len(x_train)
    best = None
    for epoch in range(1, epochs + 1):
        head.train()
        for batch in torch.randperm(n, generator=generator).split(batch_size):
            batch = batch.to(device)
            optimizer.zero_grad()
            loss_fn(head(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        head.eval()
        with torch.no_grad():
            valid = macro_auc(Y_valid, head(x_valid).cpu().numpy())
        if best is None or _valid_key(valid.score) > _valid_key(best[1].score):
            best = (copy.deepcopy(head.state_dict()), valid, {"epoch": epoch})
    head.load_state_dict(best[0])
    # Fold the standardization into the layer: the returned model reads raw embeddings.
    with torch.no_grad():
        scale = torch.as_tensor(1.0 / scaler.scale_, dtype=torch.float32, device=device)
        mean = torch.as_tensor(scaler.mean_, dtype=torch.float32, device=device)
        head.weight.mul_(scale)
        head.bias.sub_(head.weight @ mean)
    head = head.cpu().eval()

    def predict(Z):
        with torch.no_grad():
            return head(torch.as_tensor(np.asarray(Z, dtype=np.float32))).numpy()

    return head, predict, best[1], best[2]


def linear_probe(Z_train, Y_train, Z_valid, Y_valid, Z_test, Y_test, method="sklearn", *,
                 Cs=(0.001, 0.01, 0.1, 1.0), max_iter=1000, lr=5e-3, epochs=100, batch_size=64,
                 weight_decay=0.0, random_state=0, device="cpu", n_threads=1):
    """Fit a linear classifier on embeddings, select it on validation, score the test set.

    ``"sklearn"``: standardize, then one logistic regression per class
    (``OneVsRestClassifier(LogisticRegression(C))``), for each ``C`` in ``Cs``; the ``C`` with the
    best validation macro AUC is kept. ``"torch"``: the paper's linear head -- one ``nn.Linear`` on
    standardized embeddings, ``BCEWithLogitsLoss``, AdamW at ``lr`` (5e-3 as in the paper) for up
    to ``epochs`` epochs; the epoch with the best validation macro AUC is kept. The test set is
    scored once, with the selected model: it never takes part in any choice.

    Parameters
    ----------
    Z_train, Z_valid, Z_test : array-like of shape (n_records, n_dims)
        Embeddings.
    Y_train, Y_valid, Y_test : array-like or DataFrame of shape (n_records, n_classes)
        0/1 labels (multi-label). Column names, if any, name the classes in ``per_class_auc``.
    method : {"sklearn", "torch"}, default="sklearn"
    Cs : sequence of float, default=(0.001, 0.01, 0.1, 1.0)
        Inverse regularization strengths tried by the ``"sklearn"`` probe, smallest first (a tie
        in validation AUC keeps the stronger regularization).
    max_iter : int, default=1000
        lbfgs iterations per logistic regression.
    lr, epochs, batch_size, weight_decay : float, int, int, float
        ``"torch"`` probe: AdamW learning rate, maximum number of epochs, mini-batch size and
        weight decay.
    random_state : int, default=0
        Seed of the torch probe's initialization and batch order.
    device : str, default="cpu"
        torch device of the ``"torch"`` probe.
    n_threads : int or None, default=1
        BLAS/OpenMP threads during the fits (``threadpoolctl``). These problems are small: one
        thread is fastest, and many threads on a shared machine are many times slower. ``None``
        leaves the thread pools alone.

    Returns
    -------
    dict
        ``method``, ``test_auc``, ``valid_auc``, ``params`` (the selected ``{"C": ...}`` or
        ``{"epoch": ...}``), ``per_class_auc`` (test, class -> AUC), ``test_classes`` (classes
        scored on test), ``n_train``, ``n_train_classes`` (classes with a positive training
        record), ``fit_seconds``, and ``model``: a fitted scikit-learn pipeline (``"sklearn"``;
        ``predict_proba``) or a ``torch.nn.Linear`` giving logits of raw embeddings (``"torch"``).

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.evaluation import linear_probe
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(300, 5))
    >>> Y = np.stack([Z[:, 0] > 0, Z[:, 1] + Z[:, 2] > 0], axis=1).astype(int)
    >>> result = linear_probe(Z[:200], Y[:200], Z[200:250], Y[200:250], Z[250:], Y[250:])
    >>> result["test_auc"] > 0.95, sorted(result["params"])
    (True, ['C'])
    """
    if method not in PROBE_METHODS:
        raise ValueError(f"method must be one of {PROBE_METHODS}, got {method!r}")
    Z_train, Z_valid, Z_test = (_as_embedding(Z, name) for Z, name in (
        (Z_train, "Z_train"), (Z_valid, "Z_valid"), (Z_test, "Z_test")))
    labels = [_label_matrix(Y, name) for Y, name in (
        (Y_train, "Y_train"), (Y_valid, "Y_valid"), (Y_test, "Y_test"))]
    if len({Y.shape[1] for Y in labels}) != 1:
        raise ValueError(f"Y_train, Y_valid and Y_test have different numbers of classes: "
                         f"{[Y.shape[1] for Y in labels]}")
    for Z, Y, name in zip((Z_train, Z_valid, Z_test), labels, ("train", "valid", "test")):
        if len(Z) != len(Y):
            raise ValueError(f"Z_{name} has {len(Z)} records but Y_{name} has {len(Y)}")
    if len({Z.shape[1] for Z in (Z_train, Z_valid, Z_test)}) != 1:
        raise ValueError("Z_train, Z_valid and Z_test have different numbers of dimensions")
    # Test scores keep the caller's class names.
    Y_test_named = (Y_test if isinstance(Y_test, pd.DataFrame) else labels[2])
    Y_train, Y_valid = labels[0], labels[1]

    start = time.perf_counter()
    with _limit_threads(n_threads):
        if method == "sklearn":
            model, valid, params = _probe_sklearn(Z_train, Y_train, Z_valid, Y_valid, Cs, max_iter)
            test_scores = model.predict_proba(Z_test)
        else:
            model, predict, valid, params = _probe_torch(
                Z_train, Y_train, Z_valid, Y_valid, lr, epochs, batch_size, weight_decay,
                random_state, device)
            test_scores = predict(Z_test)
    seconds = time.perf_counter() - start
    test = macro_auc(Y_test_named, test_scores)
    return {
        "method": method,
        "test_auc": test.score,
        "valid_auc": valid.score,
        "params": params,
        "per_class_auc": test.per_class,
        "test_classes": list(test.per_class),
        "n_train": len(Z_train),
        "n_train_classes": int((Y_train.max(axis=0) > 0).sum()),
        "fit_seconds": seconds,
        "model": model,
    }


# -- the protocol --------------------------------------------------------------------------------
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


def _compute_embeddings(embed, X, rows):
    """Embeddings of ``X[rows]``: ``embed`` is precomputed (array), a transformer or a callable."""
    if isinstance(embed, (np.ndarray, pd.DataFrame)):
        if len(embed) != len(X):
            raise ValueError(f"precomputed embeddings have {len(embed)} rows but X has {len(X)}")
        Z = np.asarray(embed)[rows]
    else:
        in_order = len(rows) == len(X) and np.array_equal(rows, np.arange(len(X)))
        subset = X if in_order else X[rows]
        if hasattr(embed, "transform"):
            Z = embed.transform(subset)
        elif callable(embed):
            Z = embed(subset)
        else:
            raise TypeError(f"embed must be a callable X -> Z, a fitted transformer or an array of "
                            f"embeddings; got {type(embed).__name__}")
        if hasattr(Z, "detach"):  # a torch tensor
            Z = Z.detach().cpu().numpy()
    Z = np.asarray(Z)
    if Z.ndim != 2 or len(Z) != len(rows):
        raise ValueError(f"the embedding must return one vector per record, shape ({len(rows)}, "
                         f"n_dims); got {Z.shape}")
    return Z


def evaluate_embeddings(embed, X, Y, meta, *, train_folds=range(1, 9), test_folds=(9,),
                        fractions=(0.01, 0.1, 1.0), seeds=(0, 1, 2), valid_fraction=0.15,
                        methods=("sklearn",), valid_random_state=0, resplit_valid=False,
                        probe_params=None, task=None, name=None, verbose=False):
    """Run the linear-probe protocol of the paper on one embedding of one task.

    1. The embedding is computed once, for every record of ``train_folds`` and ``test_folds``.
    2. A validation set (about ``valid_fraction`` of the patients) is carved out of the training
       folds with ``GroupShuffleSplit`` on ``patient_id`` (seed ``valid_random_state``;
       :func:`protocol_split`), so no patient is in both; a record without patient id is its own
       group. It is the same for every regime and seed, as the paper's fixed validation fold is
       (``resplit_valid=True`` draws a new one per seed instead).
    3. For each fraction and seed, a training set is drawn from the remaining training records
       with :func:`few_shot_indices` (every class represented where possible).
    4. Each probe in ``methods`` is fitted by :func:`linear_probe`, selected on validation, and
       scored (macro ROC-AUC) on the test folds.

    The scikit-learn probe is deterministic, so a draw that repeats with the same validation set
    (the 100 % regime is the same for every seed) is fitted once and its row repeated.

    Parameters
    ----------
    embed : callable, fitted transformer or array-like
        ``embed(X_subset) -> Z`` of shape (n_records, n_dims); an object with ``transform``
        (e.g. a fitted ``HeartLangEmbedder`` or pipeline) is called as ``embed.transform``; an
        array of shape (len(X), n_dims) is taken as precomputed embeddings.
    X : array-like or ECGSentences
        Records, indexable by an integer array (``X[rows]``).
    Y : DataFrame or array-like of shape (n_records, n_classes)
        0/1 labels of the task, aligned with ``X``.
    meta : DataFrame
        ``strat_fold`` and ``patient_id`` per record, aligned with ``X`` (as returned by
        :func:`heartlang_sk.datasets.load_ptbxl2k`); ``meta.attrs["task"]`` names the task.
    train_folds, test_folds : iterable of int, default=1-8 and (9,)
        ``strat_fold`` values to train on (validation included) and to report on.
    fractions : iterable of float, default=(0.01, 0.1, 1.0)
        Training regimes, as fractions of the training records left after validation.
    seeds : iterable of int, default=(0, 1, 2)
        One draw (and torch initialization) per seed.
    valid_fraction : float, default=0.15
        Fraction of the training patients held out for validation.
    methods : iterable of {"sklearn", "torch"}, default=("sklearn",)
    valid_random_state : int, default=0
        Seed of the validation split.
    resplit_valid : bool, default=False
        Draw a new validation split for every seed (with that seed) instead of one fixed split,
        so the spread over seeds includes the choice of validation patients. On small data sets
        with classes of one or two training records (e.g. rhythm on ``ptbxl-2k``) that choice
        decides whether such a class can be learned at all.
    probe_params : dict, optional
        Extra keyword arguments of :func:`linear_probe` (e.g. ``{"Cs": (0.01, 0.1)}``).
    task : str, optional
        Task name in the results; default ``meta.attrs.get("task")``.
    name : str, optional
        Embedding name in the ``model`` column; default the callable's name.
    verbose : bool, default=False
        Progress bar (tqdm) over the fits.

    Returns
    -------
    DataFrame
        One row per (regime, seed, method): ``model``, ``task``, ``regime``, ``fraction``,
        ``seed``, ``method``, ``test_auc``, ``valid_auc``, ``params``, ``n_train``,
        ``n_train_classes``, ``n_valid``, ``n_test``, ``n_test_classes``, ``n_dims``,
        ``fit_seconds``, ``per_class_auc``. ``attrs["embed_seconds"]`` is the embedding time. The
        split is :func:`protocol_split` with the same arguments (``valid_random_state=seed``
        with ``resplit_valid=True``).

    See Also
    --------
    summarize : mean and standard deviation per regime.
    evaluate_embedders : several embeddings through the same protocol.

    Examples
    --------
    A toy protocol on synthetic records (folds and patients made up), the heart-rate feature
    baseline on a one-class-per-record task:

    >>> import numpy as np, pandas as pd
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.evaluation import evaluate_embeddings, summarize
    >>> from heartlang_sk.baselines.features import ECGFeatures
    >>> X, y = make_ecg(120, classes=["normal", "brady", "tachy"], random_state=0)
    >>> Y = pd.get_dummies(pd.Series(y)).astype(int)
    >>> meta = pd.DataFrame({"strat_fold": np.arange(120) % 3 + 1, "patient_id": np.arange(120)})
    >>> embed = lambda X: ECGFeatures().fit_transform(X)[:, :21]  # the rhythm features
    >>> results = evaluate_embeddings(embed, X, Y, meta, train_folds=(1, 2), test_folds=(3,),
    ...                               fractions=(0.1, 1.0), seeds=(0, 1), task="rate", name="rr")
    >>> results[["regime", "seed", "n_train"]].values.tolist()
    [['10%', 0, 7], ['10%', 1, 7], ['100%', 0, 68], ['100%', 1, 68]]
    >>> bool(results.query("regime == '100%'")["test_auc"].min() > 0.9)
    True
    >>> summarize(results)[["regime", "n_seeds"]].values.tolist()
    [['10%', 2], ['100%', 2]]
    """
    methods = tuple(methods)
    for method in methods:
        if method not in PROBE_METHODS:
            raise ValueError(f"methods must be among {PROBE_METHODS}, got {method!r}")
    if not len(X) == len(Y) == len(meta):
        raise ValueError(f"X, Y and meta must be aligned: {len(X)}, {len(Y)} and {len(meta)} rows")
    labels = Y if isinstance(Y, pd.DataFrame) else pd.DataFrame(_label_matrix(Y))
    split_seeds = list(seeds) if resplit_valid else [valid_random_state]
    splits = {split_seed: protocol_split(meta, train_folds=train_folds, test_folds=test_folds,
                                         valid_fraction=valid_fraction,
                                         valid_random_state=split_seed)
              for split_seed in split_seeds}

    # Embed every record of the training and test folds once, in record order (a memory map or a
    # sentence store reads sequentially); the splits pick their rows from it.
    pool_rows, valid_rows, test_rows = splits[split_seeds[0]]
    rows = np.union1d(np.union1d(pool_rows, valid_rows), test_rows)
    start = time.perf_counter()
    Z = _compute_embeddings(embed, X, rows)
    embed_seconds = time.perf_counter() - start

    task = task if task is not None else meta.attrs.get("task")
    name = name if name is not None else getattr(embed, "__name__", type(embed).__name__)
    probe_params = dict(probe_params or {})
    jobs = [(fraction, seed, method) for fraction in fractions for seed in seeds
            for method in methods]
    if verbose:
        from tqdm.auto import tqdm
        jobs = tqdm(jobs, desc=f"{name} {task or ''}".strip(), unit="fit")
    done = {}
    records = []
    for fraction, seed, method in jobs:
        pool_rows, valid_rows, test_rows = splits[seed if resplit_valid else valid_random_state]
        Y_pool = labels.iloc[pool_rows]
        draw = pool_rows[few_shot_indices(Y_pool, fraction, random_state=seed)]
        # The scikit-learn probe is deterministic: a repeated (draw, validation) pair is fitted once.
        key = ((method, draw.tobytes(), valid_rows.tobytes()) if method == "sklearn" else None)
        if key is not None and key in done:
            result = done[key]
        else:
            Z_train, Z_valid, Z_test = (Z[np.searchsorted(rows, part)]
                                        for part in (draw, valid_rows, test_rows))
            result = linear_probe(Z_train, labels.iloc[draw], Z_valid, labels.iloc[valid_rows],
                                  Z_test, labels.iloc[test_rows], method=method,
                                  random_state=seed, **probe_params)
            if key is not None:
                done[key] = result
        records.append({
            "model": name, "task": task, "regime": regime_name(fraction), "fraction": fraction,
            "seed": seed, "method": method, "test_auc": result["test_auc"],
            "valid_auc": result["valid_auc"], "params": result["params"],
            "n_train": result["n_train"], "n_train_classes": result["n_train_classes"],
            "n_valid": len(valid_rows), "n_test": len(test_rows),
            "n_test_classes": len(result["test_classes"]), "n_dims": Z.shape[1],
            "fit_seconds": result["fit_seconds"], "per_class_auc": result["per_class_auc"],
        })
    results = pd.DataFrame.from_records(records)
    results.attrs["embed_seconds"] = embed_seconds
    return results


def summarize(results, by=("model", "task", "method", "regime")):
    """Mean and standard deviation over seeds of the results of :func:`evaluate_embeddings`.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`evaluate_embeddings` (or several concatenated).
    by : sequence of str, default=("model", "task", "method", "regime")
        Grouping columns (those absent from ``results`` are skipped).

    Returns
    -------
    DataFrame
        One row per group, regimes in increasing fraction: ``test_auc_mean``, ``test_auc_std``
        (sample standard deviation, 0 for one seed), ``valid_auc_mean``, ``n_train`` (mean),
        ``n_seeds``, and ``test_auc``: ``"mean ± std"`` in percent, as the paper reports it.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.evaluation import summarize
    >>> results = pd.DataFrame({"model": "m", "task": "t", "method": "sklearn", "regime": "1%",
    ...                         "fraction": 0.01, "seed": [0, 1], "test_auc": [0.80, 0.84],
    ...                         "valid_auc": [0.8, 0.8], "n_train": [10, 10]})
    >>> summarize(results)["test_auc"].tolist()
    ['82.00 ± 2.83']
    """
    by = [column for column in by if column in results]
    grouped = results.groupby(by, sort=False)
    summary = grouped.agg(
        fraction=("fraction", "first"), test_auc_mean=("test_auc", "mean"),
        test_auc_std=("test_auc", "std"), valid_auc_mean=("valid_auc", "mean"),
        n_train=("n_train", "mean"), n_seeds=("test_auc", "size"),
    ).reset_index()
    summary["test_auc_std"] = summary["test_auc_std"].fillna(0.0)
    summary["test_auc"] = [f"{100 * m:.2f} ± {100 * s:.2f}"
                           for m, s in zip(summary["test_auc_mean"], summary["test_auc_std"])]
    order = [column for column in by if column != "regime"] + ["fraction"]
    return summary.sort_values(order, kind="stable").reset_index(drop=True)


# -- several embeddings, baselines ---------------------------------------------------------------
def evaluate_embedders(embedders, X, Y, meta, **protocol):
    """Run :func:`evaluate_embeddings` for each named embedding and stack the results.

    Parameters
    ----------
    embedders : mapping of str to embed
        Name -> embedding (a callable ``X -> Z``, a fitted transformer or precomputed array; see
        :func:`evaluate_embeddings`). HeartLang, random-init and fixed-window embedders plug in
        here beside the baselines of :func:`baseline_embedders`.
    X, Y, meta
        As for :func:`evaluate_embeddings`.
    **protocol
        Keyword arguments of :func:`evaluate_embeddings` (folds, fractions, seeds, methods, ...).

    Returns
    -------
    DataFrame
        The concatenated rows, ``model`` being the name. ``attrs["embed_seconds"]`` maps each name
        to its embedding time.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.evaluation import baseline_embedders, evaluate_embedders
    >>> X, y = make_ecg(90, classes=["normal", "afib", "wide_qrs"], random_state=0)
    >>> Y = pd.get_dummies(pd.Series(y)).astype(int)
    >>> meta = pd.DataFrame({"strat_fold": np.arange(90) % 3 + 1, "patient_id": np.arange(90)})
    >>> results = evaluate_embedders(baseline_embedders(), X, Y, meta, train_folds=(1, 2),
    ...                              test_folds=(3,), fractions=(1.0,), seeds=(0,))
    >>> results["model"].tolist()
    ['features', 'raw']
    >>> bool(results.set_index("model").loc["features", "test_auc"] > 0.9)
    True
    """
    if not isinstance(embedders, Mapping) or not embedders:
        raise ValueError("embedders must be a non-empty mapping name -> embed")
    if "name" in protocol:
        raise TypeError("evaluate_embedders names each run by its key in embedders; drop 'name'")
    parts, seconds = [], {}
    for name, embed in embedders.items():
        part = evaluate_embeddings(embed, X, Y, meta, name=name, **protocol)
        seconds[name] = part.attrs["embed_seconds"]
        parts.append(part)
    results = pd.concat(parts, ignore_index=True)
    results.attrs["embed_seconds"] = seconds
    return results


class _Stateless:
    """A stateless transformer as an embedding callable: ``clone(t).fit_transform(X)``.

    Fitting on the records being embedded is only sound because the transformer learns nothing
    from them (it records the input shape); do not wrap a transformer that learns.
    """

    def __init__(self, transformer):
        self.transformer = transformer

    def __call__(self, X):
        return clone(self.transformer).fit_transform(X)

    def __repr__(self):
        return f"_Stateless({self.transformer!r})"


def baseline_embedders(names=("features", "raw"), *, sampling_rate=100, downsample=10):
    """The non-learned baselines as embedding callables for :func:`evaluate_embedders`.

    - ``"features"``: :class:`heartlang_sk.baselines.features.ECGFeatures` (rhythm, amplitude and spectrum
      features, about 370 per 12-lead record);
    - ``"raw"``: :class:`heartlang_sk.baselines.features.RawSignal` (the signal averaged over
      ``downsample`` samples and flattened).

    Both transformers are stateless, so each callable fits and transforms the records it gets.

    Parameters
    ----------
    names : iterable of {"features", "raw"}, default=("features", "raw")
    sampling_rate : float, default=100
        Sampling rate of the records (``ECGFeatures`` resamples to 100 Hz).
    downsample : int, default=10
        Window of ``RawSignal``.

    Returns
    -------
    dict
        Name -> callable ``X -> Z``.
    """
    from ..baselines.features import ECGFeatures, RawSignal

    available = {
        "features": lambda: ECGFeatures(sampling_rate=sampling_rate),
        "raw": lambda: RawSignal(downsample=downsample),
    }
    names = list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; available: {sorted(available)}")
    return {name: _Stateless(available[name]()) for name in names}


def evaluate_baselines(X, Y, meta, names=("features", "raw"), *, sampling_rate=100,
                       downsample=10, extra=None, **protocol):
    """Run the named baselines (and any ``extra`` embedders) through the linear-probe protocol.

    Parameters
    ----------
    X, Y, meta
        As for :func:`evaluate_embeddings`.
    names : iterable of {"features", "raw"}, default=("features", "raw")
        Baselines of :func:`baseline_embedders`.
    sampling_rate, downsample
        Passed to :func:`baseline_embedders`.
    extra : mapping of str to embed, optional
        More named embeddings evaluated after the baselines, with the same protocol and probe.
    **protocol
        Keyword arguments of :func:`evaluate_embeddings`.

    Returns
    -------
    DataFrame
        As :func:`evaluate_embedders`.
    """
    embedders = baseline_embedders(names, sampling_rate=sampling_rate, downsample=downsample)
    for name, embed in (extra or {}).items():
        if name in embedders:
            raise ValueError(f"extra embedder name {name!r} clashes with a baseline")
        embedders[name] = embed
    return evaluate_embedders(embedders, X, Y, meta, **protocol)


def published_table(models=None):
    """The published numbers of :data:`PUBLISHED` as a tidy table.

    Parameters
    ----------
    models : iterable of str, optional
        Keys of :data:`PUBLISHED`; default all.

    Returns
    -------
    DataFrame
        Columns ``model``, ``task``, ``regime``, ``fraction``, ``test_auc`` (percent), for the
        reported entries only.

    Examples
    --------
    >>> from heartlang_sk.evaluation import published_table
    >>> table = published_table(["HeartLang"])
    >>> table.query("task == 'rhythm'")["test_auc"].tolist()
    [62.08, 76.22, 90.34]
    """
    models = list(PUBLISHED) if models is None else list(models)
    rows = []
    for model in models:
        if model not in PUBLISHED:
            raise ValueError(f"unknown model {model!r}; published: {list(PUBLISHED)}")
        for task, values in PUBLISHED[model].items():
            for fraction, value in zip(PUBLISHED_FRACTIONS, values):
                if value is not None:
                    rows.append({"model": model, "task": task, "regime": regime_name(fraction),
                                 "fraction": fraction, "test_auc": value})
    return pd.DataFrame(rows, columns=["model", "task", "regime", "fraction", "test_auc"])
