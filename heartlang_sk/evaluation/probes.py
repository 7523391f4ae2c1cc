"""Linear probes: a linear classifier on frozen embeddings, selected on a validation set and scored
once on the test set -- the measure of an embedding in the paper's protocol.

- :func:`linear_probe` -- ``"sklearn"`` (standardize, one-vs-rest logistic regression, ``C`` chosen
  on validation) or ``"torch"`` (the paper's linear head, epoch chosen on validation);
- :class:`LinearProbe` -- the ``"sklearn"`` probe as a scikit-learn classifier.
"""

from __future__ import annotations

import copy
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._labels import _label_matrix
from .metrics import macro_auc

__all__ = ["PROBE_METHODS", "LinearProbe", "linear_probe"]

PROBE_METHODS = ("sklearn", "torch")


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


@contextmanager
def _expected_fit_warnings():
    """Silence what a probe fit expects: a class with no positive in a small draw gets a constant
    predictor (OvR warns), and lbfgs may stop at max_iter on weakly regularized fits; neither is an
    error here (the validation AUC judges the fit)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Label .* is present in all training")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        yield


def _probe_sklearn(Z_train, Y_train, Z_valid, Y_valid, Cs, max_iter):
    best = None
    for C in Cs:
        model = make_pipeline(StandardScaler(),
                              OneVsRestClassifier(LogisticRegression(C=C, max_iter=max_iter)))
        with _expected_fit_warnings():
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


class LinearProbe(ClassifierMixin, BaseEstimator):
    """The paper's linear probe as a classifier: standardized embeddings, one logistic regression per
    class, the regularization chosen on validation data by macro ROC-AUC.

    For each ``C`` in ``Cs`` (smallest first) a ``StandardScaler`` + one-vs-rest
    ``LogisticRegression(C)`` is fitted on the training records and scored on the validation
    records; the ``C`` with the best validation macro AUC (:func:`~heartlang_sk.evaluation.macro_auc`)
    is kept, a tie keeping the smaller one. The final model is fitted on all of ``X`` with it.
    Validation records are ``X_valid, y_valid`` when given to :meth:`fit` (the paper's fixed
    validation fold), else a random ``valid_fraction`` of ``X``. When no ``C`` has a defined
    validation AUC (a class missing from a small split), the smallest ``C`` is kept and
    ``valid_auc_`` is NaN. This is the ``"sklearn"`` probe of :func:`linear_probe`, and like it
    lets lbfgs stop at ``max_iter`` and gives a class constant in the training records a constant
    score without warning (the validation AUC judges the fit).

    Parameters
    ----------
    Cs : sequence of float, default=(0.001, 0.01, 0.1, 1.0)
        Inverse regularization strengths tried, smallest (strongest regularization) first.
    valid_fraction : float, default=0.15
        Fraction of ``X`` held out for the choice of ``C`` when ``fit`` gets no validation data.
    max_iter : int, default=1000
        lbfgs iterations per logistic regression.
    random_state : int, RandomState instance or None, default=0
        Seed of the validation draw.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (for multi-label ``y``, the column indices).
    C_ : float
        The chosen inverse regularization strength.
    valid_auc_ : float
        Validation macro ROC-AUC of the chosen ``C`` (NaN when undefined).
    valid_scores_ : dict
        ``C`` -> validation macro ROC-AUC, for every ``C`` tried.
    model_ : Pipeline
        ``StandardScaler`` + ``OneVsRestClassifier(LogisticRegression(C_))`` fitted on ``X``.
    n_iter_ : int
        Most lbfgs iterations of the final model's logistic regressions (0 when every class is
        constant in ``y``).
    n_features_in_ : int
        Number of embedding dimensions seen in ``fit``.

    See Also
    --------
    linear_probe : the same probe with a test set, and the paper's torch linear head.
    evaluate_embeddings : the whole protocol (regimes, seeds, patient-disjoint validation).

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025 (linear-probe evaluation, section 5).

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.evaluation import LinearProbe
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(300, 5))
    >>> y = (Z[:, 0] + 0.5 * Z[:, 1] > 0).astype(int)
    >>> probe = LinearProbe(random_state=0).fit(Z[:200], y[:200])
    >>> probe.C_, probe.predict_proba(Z[200:]).shape, round(float(probe.score(Z[200:], y[200:])), 2)
    (0.01, (100, 2), 0.9)
    """

    def __init__(self, Cs=(0.001, 0.01, 0.1, 1.0), valid_fraction=0.15, max_iter=1000, random_state=0):
        self.Cs = Cs
        self.valid_fraction = valid_fraction
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _model(self, C):
        return make_pipeline(StandardScaler(),
                             OneVsRestClassifier(LogisticRegression(C=C, max_iter=self.max_iter)))

    def _indicator(self, y):
        """0/1 matrix of ``y`` with one column per class the scores have (binary: the positive)."""
        if self._multilabel:
            return np.asarray(y)
        Y = label_binarize(y, classes=self.classes_)
        return Y if len(self.classes_) > 2 else Y[:, -1:]

    def _scores(self, model, X):
        """Scores aligned with :meth:`_indicator`; classes a split did not see score 0."""
        proba = model.predict_proba(X)
        if self._multilabel:
            return proba
        full = np.zeros((len(X), len(self.classes_)))
        full[:, np.searchsorted(self.classes_, model.classes_)] = proba
        return full if len(self.classes_) > 2 else full[:, -1:]

    def fit(self, X, y, X_valid=None, y_valid=None):
        """Choose ``C`` on the validation records, then fit on ``X`` with it.

        Parameters
        ----------
        X : array-like of shape (n_records, n_dims)
            Embeddings.
        y : array-like of shape (n_records,) or (n_records, n_classes)
            Class labels, or a 0/1 multi-label matrix.
        X_valid, y_valid : array-like, optional
            Validation records (both or neither); default a random ``valid_fraction`` of ``X``.

        Returns
        -------
        self
        """
        if not (0 < self.valid_fraction < 1):
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction!r}")
        if len(self.Cs) == 0 or any(not C > 0 for C in self.Cs):
            raise ValueError(f"Cs must be positive numbers, got {self.Cs!r}")
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float64)
        self._multilabel = type_of_target(y) == "multilabel-indicator"
        if not self._multilabel:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            self.classes_ = unique_labels(y)
            if len(self.classes_) < 2:
                raise ValueError(f"LinearProbe needs at least 2 classes in y, got "
                                 f"{len(self.classes_)} class")
        else:
            self.classes_ = np.arange(y.shape[1])
        if (X_valid is None) != (y_valid is None):
            raise ValueError("give both X_valid and y_valid, or neither")
        if X_valid is None:
            train, valid = next(ShuffleSplit(1, test_size=self.valid_fraction,
                                             random_state=self.random_state).split(X))
            X_train, y_train, X_valid, y_valid = X[train], y[train], X[valid], y[valid]
        else:
            X_train, y_train = X, y
            X_valid = validate_data(self, X_valid, reset=False, dtype=np.float64)
        self.valid_scores_, best = {}, None
        for C in self.Cs:
            if not self._multilabel and len(np.unique(y_train)) < 2:
                score = float("nan")  # the draw left one class to train on: nothing to choose
            else:
                with _expected_fit_warnings():
                    warnings.filterwarnings("ignore", message="macro_auc: no class")  # NaN: counted
                    model = self._model(C).fit(X_train, y_train)
                    score = macro_auc(self._indicator(y_valid), self._scores(model, X_valid)).score
            self.valid_scores_[C] = score
            if best is None or _valid_key(score) > _valid_key(self.valid_scores_[best]):
                best = C
        self.C_, self.valid_auc_ = best, self.valid_scores_[best]
        with _expected_fit_warnings():
            self.model_ = self._model(self.C_).fit(X, y)
        self.n_iter_ = max((int(np.max(e.n_iter_)) for e in self.model_[-1].estimators_
                            if hasattr(e, "n_iter_")), default=0)
        return self

    def decision_function(self, X):
        """Logit per class (binary: of the second class), shape (n_records,) or (n_records, n_classes)."""
        check_is_fitted(self)
        return self.model_.decision_function(validate_data(self, X, reset=False, dtype=np.float64))

    def predict_proba(self, X):
        """Probability per class, shape (n_records, n_classes) (multi-label: independent per class)."""
        check_is_fitted(self)
        return self.model_.predict_proba(validate_data(self, X, reset=False, dtype=np.float64))

    def predict(self, X):
        """Class labels, or the 0/1 matrix for multi-label ``y``."""
        check_is_fitted(self)
        return self.model_.predict(validate_data(self, X, reset=False, dtype=np.float64))
