"""ZeroShotECGClassifier: classify ECGs by their similarity to class descriptions, with no labels."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..._validation import check_sentences
from .._base import is_fitted, share_fitted_params

__all__ = ["ZeroShotECGClassifier", "check_prompts"]


def check_prompts(prompts):
    """``{class: [description, ...]}`` with every class given at least one non-empty text.

    A single string per class is taken as a one-description list.

    Raises
    ------
    ValueError
        Not a dict, no class, or a class with no text (named).

    Examples
    --------
    >>> check_prompts({"AFIB": "atrial fibrillation", "SR": ["sinus rhythm", "sinusrhythmus"]})
    {'AFIB': ['atrial fibrillation'], 'SR': ['sinus rhythm', 'sinusrhythmus']}
    >>> check_prompts({"AFIB": [], "SR": ["sinus rhythm"]})
    Traceback (most recent call last):
    ...
    ValueError: prompts for class 'AFIB' have no text; give each class at least one non-empty description
    """
    if not isinstance(prompts, dict):
        raise ValueError(f"prompts must be a dict of class name -> list of descriptions, got {type(prompts).__name__}")
    if not prompts:
        raise ValueError("prompts is empty: give at least one class with its descriptions")
    checked = {}
    for name, texts in prompts.items():
        texts = [texts] if isinstance(texts, str) else texts
        try:
            texts = [t for t in texts if isinstance(t, str) and t.strip()]
        except TypeError:
            texts = []
        if not texts:
            raise ValueError(f"prompts for class {name!r} have no text; give each class at least one non-empty "
                             "description")
        checked[name] = list(texts)
    return checked


class ZeroShotECGClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label ECG classification from class descriptions, through a fitted ECG–report aligner.

    Each class is represented by the mean of its descriptions' text vectors (renormalised, CLIP's
    prompt ensembling); an ECG's score for a class is the cosine similarity of its ECG vector to
    that class vector. ``fit`` learns nothing from the data: it only records ``classes_`` (the
    prompt table's keys, in order) and the class vectors.

    Parameters
    ----------
    aligner : ECGReportAligner
        A fitted aligner. It is used frozen and kept (not refitted, not copied unfitted) by
        ``clone``, so the classifier works in ``cross_val_score``, ``GridSearchCV`` and Pipelines.
    prompts : dict of str to list of str
        Class name -> descriptions, e.g. ``heartlang_sk.prompts.PTBXL_PROMPTS["rhythm"]``.
        A class with no text is an error.
    scale : float or None, default=None
        Inverse temperature of :meth:`predict_proba`; ``None`` takes the aligner's learned one.

    Attributes
    ----------
    classes_ : ndarray of str
        The class names (keys of ``prompts``), the columns of every output.
    class_embeddings_ : ndarray of shape (n_classes, embed_dim)
        Unit class vectors.
    scale_ : float
        The inverse temperature in use.
    n_features_in_ : int
        Samples per beat token (the aligner's).
    n_leads_in_ : int
        Leads the aligner was trained on.

    See Also
    --------
    ECGReportAligner : trains the ECG and text towers this classifier compares.
    heartlang_sk.prompts.PTBXL_PROMPTS : prompt tables for PTB-XL super and rhythm classes.

    References
    ----------
    .. [1] C. Liu et al., "Zero-Shot ECG Classification with Multimodal Learning and Test-time
       Clinical Knowledge Enhancement" (MERL), ICML 2024.
    .. [2] F. Wang, J. Xu, L. Yu, "From Token to Rhythm: A Multi-Scale Approach for ECG-Language
       Pretraining", ICML 2025.

    Examples
    --------
    >>> from heartlang_sk import ECGReportAligner, QRSTokenizer, ZeroShotECGClassifier
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(16, classes=["normal", "afib"], random_state=0)
    >>> reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern" for c in y]
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> aligner = ECGReportAligner(depth=1, text_depth=1, max_epochs=2, random_state=0).fit(S, reports)
    >>> clf = ZeroShotECGClassifier(aligner, {"SR": ["sinusrhythmus"], "AFIB": ["vorhofflimmern"]}).fit(S)
    >>> clf.classes_.tolist(), clf.decision_function(S).shape, clf.predict(S).shape
    (['SR', 'AFIB'], (16, 2), (16, 2))
    """

    def __init__(self, aligner=None, prompts=None, *, scale=None):
        self.aligner = aligner
        self.prompts = prompts
        self.scale = scale

    _checks_lead_count = True

    def __sklearn_clone__(self):
        return share_fitted_params(self, ("aligner",))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.required = False
        return tags

    def fit(self, X=None, y=None):
        """Record the classes and their vectors; ``X`` only fixes the input checks, ``y`` is checked.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t), optional
        y : array-like of shape (n_records, n_classes), optional
            Ignored apart from its number of columns, which must match the prompts' classes
            (so that a mis-ordered or wrong-task label table is caught in ``cross_val_score``).

        Returns
        -------
        self
        """
        if self.aligner is None or not is_fitted(self.aligner):
            raise ValueError("aligner must be a fitted ECGReportAligner")
        prompts = check_prompts(self.prompts)
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 2 or y.shape[1] != len(prompts):
                raise ValueError(f"y must be a multi-label indicator of shape (n_records, {len(prompts)}) for the "
                                 f"{len(prompts)} prompt classes, got shape {y.shape}")
        self.classes_ = np.array(list(prompts), dtype=object)
        rows = []
        for texts in prompts.values():
            mean = self.aligner.encode_text(texts).mean(axis=0)
            rows.append(mean / max(np.linalg.norm(mean), 1e-12))
        self.class_embeddings_ = np.stack(rows).astype(np.float32)
        module_scale = float(self.aligner.net_.module_.logit_scale.detach().exp().clamp(max=100.0))
        self.scale_ = module_scale if self.scale is None else float(self.scale)
        self.n_features_in_ = self.aligner.n_features_in_
        self.n_leads_in_ = self.aligner.n_leads_in_
        if X is not None:
            check_sentences(self, X, reset=False)
        return self

    def decision_function(self, X):
        """Cosine similarity of each ECG to each class vector.

        Returns
        -------
        ndarray of shape (n_records, n_classes)
        """
        check_is_fitted(self, "class_embeddings_")
        check_sentences(self, X, reset=False)
        return self.aligner.encode_ecg(X) @ self.class_embeddings_.T

    def predict_proba(self, X):
        """Multi-label probabilities: ``sigmoid(scale_ * (similarity - the record's mean similarity))``.

        Each column is the probability that the class applies, independently of the others (rows
        need not sum to one).

        Returns
        -------
        ndarray of shape (n_records, n_classes)
        """
        scores = self.decision_function(X)
        centred = self.scale_ * (scores - scores.mean(axis=1, keepdims=True))
        return 1.0 / (1.0 + np.exp(-centred))

    def predict(self, X):
        """Multi-label indicator: the classes with probability >= 0.5 (always at least the top one).

        Returns
        -------
        ndarray of shape (n_records, n_classes), int
        """
        proba = self.predict_proba(X)
        labels = (proba >= 0.5).astype(int)
        labels[np.arange(len(proba)), proba.argmax(axis=1)] = 1
        return labels
