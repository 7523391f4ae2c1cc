"""Input checking shared by the estimators that read ECG sentences."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from .preprocessing.settings import check_preprocessing
from .sentences import ECGSentences
from .stage_outputs import _StageOutput, refusal


def beats_as_sentences(beats):
    """One-token sentences from a 2-D array whose rows are beats (lead 1, second 1)."""
    n, t = beats.shape
    ones = np.ones((n, 1), dtype=np.int32)
    return ECGSentences(
        signals=np.ascontiguousarray(beats, dtype=np.float32)[:, None, :],
        r_peaks=ones * (t // 2), starts=ones * 0, stops=ones * t,
        leads=np.ones((n, 1), dtype=np.int16), n_beats=np.ones(n, dtype=np.int64),
        n_dropped=np.zeros(n, dtype=np.int64), t=t, sampling_rate=1.0)


def check_sentences(estimator, X, reset):
    """Return ``X`` as :class:`ECGSentences`, recording or checking the beat length ``t``.

    ``X`` is the output of a tokenizer, or a 2-D array of beats (each row one beat: a one-token
    sentence), which is what scikit-learn's common checks pass.

    Fitting (``reset=True``) records the tokenizer settings of the sentences (``preprocessing_``,
    ``None`` when unknown); later calls refuse sentences made with other settings
    (:func:`~heartlang_sk.preprocessing.settings.check_preprocessing`).
    Fitting on sentences without a single beat is an error: there is nothing to
    learn. Estimators whose model reads the whole sentence (``_checks_lead_count = True``) record
    the number of leads, ``n_leads_in_``, and refuse sentences with another number of leads.
    """
    name = type(estimator).__name__
    if isinstance(X, _StageOutput):  # word indices or embeddings are never read as beats
        raise ValueError(refusal(name, X))
    if isinstance(X, ECGSentences):
        if len(X) == 0:
            raise ValueError("no ECG sentences: got 0 records")
        n_leads = int(X.signals.shape[1])
        preprocessing = getattr(X, "preprocessing", None)
        if reset:
            estimator.preprocessing_ = None if preprocessing is None else dict(preprocessing)
            if not np.any(X.leads):
                raise ValueError(f"{name}: none of the {len(X)} records has a detected beat (flat or "
                                 "beat-less signals); there is nothing to learn from")
            estimator.n_features_in_ = X.t
            if getattr(estimator, "_checks_lead_count", False):
                estimator.n_leads_in_ = n_leads
        elif X.t != estimator.n_features_in_:
            raise ValueError(f"sentences have t={X.t} samples per token, but {name}"
                             f" was fitted with t={estimator.n_features_in_}")
        elif getattr(estimator, "n_leads_in_", n_leads) != n_leads:
            raise ValueError(f"sentences have {n_leads} lead(s), but {name} was fitted on "
                             f"{estimator.n_leads_in_}-lead sentences")
        else:
            check_preprocessing(name, getattr(estimator, "preprocessing_", None), preprocessing)
        return X
    if isinstance(X, np.ndarray) and X.ndim == 3:
        raise ValueError("got a 3-D array: tokenize signals first (QRSTokenizer) and pass the "
                         "ECGSentences, or pass a 2-D array of beats (one beat per row)")
    beats = validate_data(estimator, X, reset=reset, dtype=np.float32)
    if reset:
        estimator.preprocessing_ = None  # rows of beats: how they were made is not known
    return beats_as_sentences(beats)
