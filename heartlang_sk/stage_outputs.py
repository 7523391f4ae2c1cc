"""What one HeartLang stage hands the next in a Pipeline: arrays that remember their sentences.

Contract. :class:`ECGWords` is exactly the int64 array ``ECGVocabulary.transform`` gives (one word
index per token, ``-1`` at padding) and :class:`ECGEmbeddings` exactly the float32 array of one
vector per record; each also carries the :class:`~heartlang_sk.ECGSentences` it was computed from
and the fitted model that computed it. That is what lets the stages compose in the order a user
writes them::

    make_pipeline(QRSTokenizer(sampling_rate=100), ECGVocabulary(), HeartLangPretrainer(),
                  HeartLangEmbedder(), LogisticRegression())

a :class:`~heartlang_sk.HeartLangPretrainer` after an ``ECGVocabulary`` step trains on those
sentences with those words, and a :class:`~heartlang_sk.HeartLangEmbedder` after a
``HeartLangPretrainer`` step embeds those sentences with that pretrainer.

Only record selection (``words[i:j]``, ``words[index]``, ``words[mask]``, scikit-learn's
``_safe_indexing``) keeps the provenance, selecting the same records of the sentences. Any other
result (arithmetic, comparisons, copies, a row, a column) is a plain array or carries no
provenance. A pickle keeps it (so a Pipeline's ``memory=`` cache works). An estimator that reads
sentences refuses word indices or embeddings it cannot use with a one-line message that shows the
Pipeline that works (:func:`refusal`): they are never read as beats.

Examples
--------
>>> import numpy as np
>>> from heartlang_sk import ECGVocabulary, QRSTokenizer
>>> from heartlang_sk.datasets import make_ecg
>>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(8, random_state=0)[0])
>>> words = ECGVocabulary(n_words=16, word_dim=8, max_epochs=1, random_state=0).fit_transform(S)
>>> type(words).__name__, words.dtype, words.shape
('ECGWords', dtype('int64'), (8, 256))
>>> words[2:5].sentences.shape, type(words + 1).__name__
((3, 256, 96), 'ndarray')
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ECGEmbeddings", "ECGWords", "WORKING_PIPELINE", "refusal"]

WORKING_PIPELINE = ("make_pipeline(QRSTokenizer(sampling_rate=...), ECGVocabulary(), HeartLangPretrainer(), "
                    "HeartLangEmbedder(), LogisticRegression())")
"""The Pipeline, in the order a user writes it, quoted by the refusals."""


def _record_key(key):
    """The record selection in ``key``, or None when ``key`` does more than select records."""
    if isinstance(key, tuple):
        if len(key) == 2 and (key[1] is Ellipsis or isinstance(key[1], slice) and key[1] == slice(None)):
            key = key[0]
        else:
            return None
    if key is None or key is Ellipsis or isinstance(key, numbers.Integral):
        return None
    if not isinstance(key, slice):
        key = np.asarray(key)
        if key.ndim != 1:
            return None
    return key


class _StageOutput(np.ndarray):
    """An ndarray with references to the sentences and model that produced it (see module)."""

    _provenance = ()

    def __new__(cls, array, **provenance):
        unknown = set(provenance) - set(cls._provenance)
        if unknown:
            raise TypeError(f"{cls.__name__} has no {sorted(unknown)}")
        obj = np.asarray(array).view(cls)
        for name in cls._provenance:
            setattr(obj, name, provenance.get(name))
        return obj

    def __array_finalize__(self, obj):
        # Views, copies and other derived arrays do not inherit the provenance: it would name
        # records or values they no longer hold. Record selection sets it in __getitem__.
        for name in self._provenance:
            setattr(self, name, None)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        result = super().__array_wrap__(array, context, return_scalar)
        return result.view(np.ndarray) if isinstance(result, _StageOutput) else result

    def __getitem__(self, key):
        result = super().__getitem__(key)
        if not isinstance(result, _StageOutput):
            return result
        records = _record_key(key)
        if records is None or result.ndim != self.ndim or self.sentences is None:
            return result.view(np.ndarray)
        for name in self._provenance:
            setattr(result, name, getattr(self, name))
        result.sentences = self.sentences[records]
        return result

    def __reduce__(self):
        reconstruct, arguments, state = super().__reduce__()
        return reconstruct, arguments, (state, {name: getattr(self, name) for name in self._provenance})

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state, provenance = state
            super().__setstate__(state)
            for name, value in provenance.items():
                setattr(self, name, value)
        else:
            super().__setstate__(state)

    @property
    def has_provenance(self):
        """True when the sentences it was computed from are known (fresh from a stage)."""
        return self.sentences is not None


class ECGWords(_StageOutput):
    """Word indices from :meth:`ECGVocabulary.transform <heartlang_sk.ECGVocabulary.transform>`.

    An int64 ndarray of shape ``(n_records, l)`` (``-1`` at padding) that also carries:

    Attributes
    ----------
    sentences : ECGSentences or None
        The sentences whose beats these words name.
    vocabulary : ECGVocabulary or None
        The fitted vocabulary that named them.
    """

    _provenance = ("sentences", "vocabulary")


class ECGEmbeddings(_StageOutput):
    """Embeddings from ``HeartLangPretrainer.transform`` or ``HeartLangEmbedder.transform``.

    A float32 ndarray of shape ``(n_records, n_features)`` that also carries:

    Attributes
    ----------
    sentences : ECGSentences or None
        The sentences embedded (kept by ``HeartLangPretrainer.transform``, so that a
        ``HeartLangEmbedder`` step after it can pool them otherwise).
    pretrainer : HeartLangPretrainer or None
        The fitted pretrainer whose encoder embedded them.
    producer : str or None
        Name of the estimator that produced them.
    """

    _provenance = ("sentences", "pretrainer", "producer")


def refusal(estimator_name, X):
    """The one-line message refusing word indices or embeddings where ECG sentences are needed."""
    if isinstance(X, ECGWords):
        got = "ECG word indices (the output of an ECGVocabulary step)"
        use = "only a HeartLangPretrainer step reads them"
    else:
        got = f"embeddings (the output of a {X.producer or 'HeartLang'} step)"
        use = "use them as features, or put a HeartLangEmbedder right after a HeartLangPretrainer step"
    return (f"{estimator_name} needs ECG sentences but got {got}; {use}, as in "
            f"{WORKING_PIPELINE}")
