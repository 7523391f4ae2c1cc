"""HeartLangEmbedder: the frozen pre-trained encoder -> one vector per record, for a linear probe."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..._validation import check_sentences
from ...io.model_files import load_model, register_model_class, save_model
from ...preprocessing.settings import check_preprocessing
from ...stage_outputs import ECGEmbeddings, ECGWords, WORKING_PIPELINE
from .._base import is_fitted, share_fitted_params
from ._embedding import POOLING_PARTS, POOLINGS, embed_sentences, pool, pooling_parts  # noqa: F401
from .pretrainer import HeartLangPretrainer

__all__ = ["HeartLangEmbedder"]



@register_model_class
class HeartLangEmbedder(TransformerMixin, BaseEstimator):
    """Embed ECG sentences with the frozen encoder of a pre-trained HeartLang model.

    Parameters
    ----------
    pretrainer : HeartLangPretrainer, default=None
        A fitted pretrainer, used frozen: fitting the embedder never changes it, and cloning the
        embedder (``clone``, ``GridSearchCV``, ``cross_val_score``) keeps the same fitted
        pretrainer instead of an unfitted copy. An unfitted pretrainer is cloned and fitted on the
        data in ``fit``; ``None`` means ``HeartLangPretrainer(max_epochs=0)``, a random-initialised
        encoder (the no-pre-training baseline). Placed right after a ``HeartLangPretrainer`` step in
        a Pipeline (``pretrainer=None``), the embedder uses that step's pretrainer, and with
        ``pooling="mean"`` passes its embeddings on as they are (the same mean pooling); right
        after an ``ECGVocabulary`` step, an unfitted ``pretrainer`` is trained with that step's
        words. See :mod:`heartlang_sk.stage_outputs`.
    pooling : {"mean", "cls", "lead"}, default="mean"
        ``"mean"`` over the sentence's real tokens; ``"cls"`` the CLS token state (needs a
        pretrainer built with ``use_cls=True``); ``"lead"`` the mean over each lead's tokens,
        concatenated over leads (``n_leads * D`` features). Beyond the paper, parts may be joined
        with ``"+"`` and are concatenated: ``"std"`` (the standard deviation over real tokens, which
        keeps beat-to-beat variation that the mean averages away) and ``"max"``, e.g.
        ``"mean+std"`` or ``"mean+std+lead"`` (form and rhythm together).
    batch_size : int, default=128
    device : str, default="auto"
        Inference device; ``"auto"`` uses CUDA when available.
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"

    Attributes
    ----------
    pretrainer_ : HeartLangPretrainer
        The fitted pretrainer in use.
    n_features_in_ : int
        Samples per beat token.
    n_leads_ : int
        Leads of the fitted sentences (``"lead"`` pooling makes one block per lead).
    n_leads_in_ : int
        The same number; sentences with another number of leads are refused by ``transform``.
    n_features_out_ : int
    preprocessing_ : dict or None
        Tokenizer settings of the fitted sentences (the pretrainer's); sentences made otherwise are
        refused. ``heartlang_sk.preprocessing.settings.tokenizer_for(embedder, sampling_rate)``
        tokenizes new raw records with them.

    See Also
    --------
    HeartLangPretrainer : trains the encoder this embedder uses.
    heartlang_sk.evaluation.linear_probe : the paper's probe on these embeddings.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from heartlang_sk import HeartLangEmbedder, QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(24, classes=["brady", "tachy"], random_state=0)
    >>> probe = make_pipeline(QRSTokenizer(sampling_rate=100), HeartLangEmbedder(),
    ...                       LogisticRegression(max_iter=1000)).fit(X, y)
    >>> probe.predict_proba(X).shape
    (24, 2)
    >>> probe[:2].transform(X[:2]).shape  # tiny encoder: 64 features
    (2, 64)
    """

    def __init__(self, pretrainer=None, pooling="mean", *, batch_size=128, device="auto",
                 precision="auto"):
        self.pretrainer = pretrainer
        self.pooling = pooling
        self.batch_size = batch_size
        self.device = device
        self.precision = precision

    _checks_lead_count = True

    def __sklearn_clone__(self):
        # The pretrainer is frozen: a clone shares it (a fitted model), everything else is cloned.
        return share_fitted_params(self, ("pretrainer",))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def fit(self, X, y=None):
        """Check the input and get the encoder ready (the pretrainer itself is not refitted).

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
        y : ignored

        Returns
        -------
        self
        """
        parts = pooling_parts(self.pooling)
        X, upstream = self._from_step(X)
        pretrainer = upstream or self.pretrainer or HeartLangPretrainer(max_epochs=0, random_state=0)
        sentences = check_sentences(self, X.sentences if isinstance(X, ECGWords) else X, reset=True)
        if not is_fitted(pretrainer):
            pretrainer = clone(pretrainer).fit(X)
        elif pretrainer.n_features_in_ != self.n_features_in_:
            raise ValueError(f"sentences have t={self.n_features_in_} samples per token, the "
                             f"pretrainer was trained with t={pretrainer.n_features_in_}")
        elif getattr(pretrainer, "n_leads_in_", self.n_leads_in_) != self.n_leads_in_:
            raise ValueError(f"sentences have {self.n_leads_in_} lead(s), but the pretrainer was trained "
                             f"on {pretrainer.n_leads_in_}-lead sentences")
        check_preprocessing("HeartLangEmbedder's pretrainer", getattr(pretrainer, "preprocessing_", None),
                            self.preprocessing_)
        if "cls" in parts and not pretrainer.encoder_.use_cls:
            raise ValueError("pooling='cls' needs a pretrainer with use_cls=True")
        self.pretrainer_ = pretrainer
        self.n_leads_ = int(sentences.signals.shape[1])
        dim = pretrainer.embed_dim_
        self.n_features_out_ = sum(dim * self.n_leads_ if part == "lead" else dim for part in parts)
        return self

    def _from_step(self, X):
        """``X`` and the pretrainer of the Pipeline step before, if that step was a pretrainer.

        Word indices are passed on to an unfitted ``pretrainer`` (which trains on them);
        embeddings of a ``HeartLangPretrainer`` step give their sentences and pretrainer. Any other
        use of them is refused with the Pipeline that works.
        """
        name = type(self).__name__
        if isinstance(X, ECGEmbeddings) and X.producer == "HeartLangPretrainer":
            if X.sentences is None or X.pretrainer is None:
                raise ValueError(f"{name} got embeddings without the sentences they came from (a copy or "
                                 f"a computed array); pass the HeartLangPretrainer step's output as it is")
            if self.pretrainer is not None and self.pretrainer is not X.pretrainer:
                raise ValueError(f"{name} has pretrainer=... and follows a HeartLangPretrainer step: give "
                                 f"the pretrainer once, as in {WORKING_PIPELINE}")
            return X.sentences, X.pretrainer
        if isinstance(X, ECGWords):
            if not X.has_provenance:
                raise ValueError(f"{name} got word indices without the sentences they name (a copy or a "
                                 f"computed array); pass the ECGVocabulary step's output as it is")
            if self.pretrainer is not None and is_fitted(self.pretrainer):
                raise ValueError(f"{name}'s pretrainer is already fitted and does not read the words of the "
                                 f"ECGVocabulary step before it: drop that step, as in make_pipeline("
                                 f"QRSTokenizer(...), HeartLangEmbedder(pretrainer), LogisticRegression())")
            if self.pretrainer is None:
                raise ValueError(f"{name} follows an ECGVocabulary step, whose words only a "
                                 f"HeartLangPretrainer reads; put one between them, as in {WORKING_PIPELINE}")
        return X, None

    @torch.inference_mode()
    def transform(self, X):
        """One vector per record.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
            Or, in a Pipeline, the output of the step before (see ``pretrainer``).

        Returns
        -------
        ECGEmbeddings of shape (n_records, n_features_out_)
            A float32 array; all-padding sentences (no detected beat) embed to zeros.
        """
        check_is_fitted(self, "pretrainer_")
        if isinstance(X, ECGEmbeddings) and X.producer == "HeartLangPretrainer":
            # The pretrainer step's own mean pooling is this one; embeddings of another pretrainer
            # (or of a copy, as a Pipeline's memory cache holds) are recomputed from their sentences.
            if self.pooling == "mean" and X.pretrainer is self.pretrainer_:
                return ECGEmbeddings(np.asarray(X), pretrainer=self.pretrainer_, producer=type(self).__name__)
        if isinstance(X, (ECGEmbeddings, ECGWords)) and X.sentences is not None:
            X = X.sentences
        sentences = check_sentences(self, X, reset=False)
        embeddings = embed_sentences(self.pretrainer_.encoder_, sentences, pooling=self.pooling,
                                     n_leads=self.n_leads_, batch_size=self.batch_size, device=self.device,
                                     precision=self.precision)
        return ECGEmbeddings(embeddings, pretrainer=self.pretrainer_, producer=type(self).__name__)

    def _pool(self, output, leads):
        return pool(output, leads, self.pooling, self.n_leads_)

    def save_weights(self, path):
        """Write the fitted embedder (with its pre-trainer) to a ``.safetensors`` model file that loads
        without running code; see :mod:`heartlang_sk.io.model_files`."""
        check_is_fitted(self, "pretrainer_")
        save_model(self, path)

    @classmethod
    def load_weights(cls, path, device="auto"):
        """Rebuild a fitted embedder from :meth:`save_weights`."""
        return load_model(path, device=device, expected=cls)

    def get_feature_names_out(self, input_features=None):
        """``heartlang0``, ``heartlang1``, ... (``heartlang_<lead>_<i>`` for lead pooling)."""
        check_is_fitted(self, "pretrainer_")
        dim = self.pretrainer_.embed_dim_
        parts = pooling_parts(self.pooling)
        if len(parts) == 1 and parts[0] != "lead":
            return np.array([f"heartlang{i}" for i in range(self.n_features_out_)], dtype=object)
        names = []
        for part in parts:
            if part == "lead":
                names += [f"heartlang_lead{lead}_{i}" for lead in range(1, self.n_leads_ + 1) for i in range(dim)]
            else:
                names += [f"heartlang_{part}{i}" for i in range(dim)]
        return np.array(names, dtype=object)
