"""HeartLangEmbedder: the frozen pre-trained encoder -> one vector per record, for a linear probe."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..._validation import check_sentences
from ...nn import masked_mean
from .._base import is_fitted, share_fitted_params
from .pretrainer import HeartLangPretrainer
from ...training.net import amp_dtype, device_batches, resolve_device

__all__ = ["HeartLangEmbedder"]

POOLINGS = ("mean", "cls", "lead")
POOLING_PARTS = ("mean", "cls", "lead", "std", "max")
"""Parts a ``pooling`` may join with ``"+"`` (e.g. ``"mean+std+lead"``), concatenated in that order."""


def pooling_parts(pooling):
    """The parts of a ``pooling`` string, or a one-line ``ValueError`` naming the bad one."""
    parts = pooling.split("+") if isinstance(pooling, str) else [pooling]
    bad = [part for part in parts if part not in POOLING_PARTS]
    if bad or len(set(parts)) != len(parts):
        raise ValueError(f"pooling must be one of {POOLINGS} or distinct parts of {POOLING_PARTS} joined by "
                         f"'+' (e.g. 'mean+std'), got {pooling!r}")
    return parts


class HeartLangEmbedder(TransformerMixin, BaseEstimator):
    """Embed ECG sentences with the frozen encoder of a pre-trained HeartLang model.

    Parameters
    ----------
    pretrainer : HeartLangPretrainer, default=None
        A fitted pretrainer, used frozen: fitting the embedder never changes it, and cloning the
        embedder (``clone``, ``GridSearchCV``, ``cross_val_score``) keeps the same fitted
        pretrainer instead of an unfitted copy. An unfitted pretrainer is cloned and fitted on the
        data in ``fit``; ``None`` means ``HeartLangPretrainer(max_epochs=0)``, a random-initialised
        encoder (the no-pre-training baseline).
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
        pretrainer = self.pretrainer if self.pretrainer is not None else HeartLangPretrainer(
            max_epochs=0, random_state=0)
        sentences = check_sentences(self, X, reset=True)
        if not is_fitted(pretrainer):
            pretrainer = clone(pretrainer).fit(sentences)
        elif pretrainer.n_features_in_ != self.n_features_in_:
            raise ValueError(f"sentences have t={self.n_features_in_} samples per token, the "
                             f"pretrainer was trained with t={pretrainer.n_features_in_}")
        elif getattr(pretrainer, "n_leads_in_", self.n_leads_in_) != self.n_leads_in_:
            raise ValueError(f"sentences have {self.n_leads_in_} lead(s), but the pretrainer was trained "
                             f"on {pretrainer.n_leads_in_}-lead sentences")
        if "cls" in parts and not pretrainer.encoder_.use_cls:
            raise ValueError("pooling='cls' needs a pretrainer with use_cls=True")
        self.pretrainer_ = pretrainer
        self.n_leads_ = int(sentences.signals.shape[1])
        dim = pretrainer.embed_dim_
        self.n_features_out_ = sum(dim * self.n_leads_ if part == "lead" else dim for part in parts)
        return self

    @torch.inference_mode()
    def transform(self, X):
        """One vector per record.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)

        Returns
        -------
        ndarray of shape (n_records, n_features_out_), float32
            All-padding sentences (no detected beat) embed to zeros.
        """
        check_is_fitted(self, "pretrainer_")
        sentences = check_sentences(self, X, reset=False)
        encoder = self.pretrainer_.encoder_
        device = resolve_device(self.device)
        encoder.to(device).eval()
        dtype = amp_dtype(self.precision, device)
        # One array filled batch by batch: keeping per-batch parts alive between the freed batch
        # buffers fragments the C heap, and a long pass over a large store then creeps upwards.
        embeddings = np.empty((len(sentences), self.n_features_out_), dtype=np.float32)
        start = 0
        needs_times = getattr(encoder, "rhythm", None) is not None
        extra = {"beat_times": sentences.beat_times} if needs_times else {}
        for batch in device_batches(sentences, self.batch_size, device, **extra):
            with torch.autocast(device_type=torch.device(device).type, dtype=dtype,
                                enabled=dtype is not None):
                output = encoder(batch["tokens"], batch["leads"], batch["times"],
                                 beat_times=batch.get("beat_times"))
            pooled = self._pool(output, batch["leads"]).float().cpu().numpy()
            embeddings[start:start + len(pooled)] = pooled
            start += len(pooled)
        return embeddings

    def _pool(self, output, leads):
        hidden = output.hidden.float()
        pooled = [self._pool_part(part, hidden, output, leads) for part in pooling_parts(self.pooling)]
        return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=1)

    def _pool_part(self, part, hidden, output, leads):
        if part == "cls":
            return output.cls.float()
        if part == "mean":
            return masked_mean(hidden, output.padding_mask)
        if part == "std":
            mean = masked_mean(hidden, output.padding_mask)
            return masked_mean((hidden - mean[:, None]) ** 2, output.padding_mask).sqrt()
        if part == "max":
            filled = hidden.masked_fill(output.padding_mask[..., None], float("-inf")).amax(dim=1)
            return torch.where(torch.isfinite(filled), filled, torch.zeros_like(filled))
        per_lead = [masked_mean(hidden, leads != lead) for lead in range(1, self.n_leads_ + 1)]
        return torch.cat(per_lead, dim=1)

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
