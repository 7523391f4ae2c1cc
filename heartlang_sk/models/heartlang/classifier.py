"""HeartLangClassifier: full fine-tuning of the pre-trained encoder with a linear head."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..._param_validation import Estimator, Integer, Options, Real
from ..._validation import check_sentences
from ...preprocessing.settings import check_preprocessing
from ...training.net import SentenceDataset, amp_dtype, beat_time_arrays, device_batches, validation_split
from .._base import NeuralEstimator, is_fitted
from .ecgformer import ECGFORMER_SIZES
from ..heartlang_official import estimator_hooks as official
from .objectives import ClassificationObjective

__all__ = ["HeartLangClassifier"]


class HeartLangClassifier(ClassifierMixin, NeuralEstimator):
    """Fine-tune the whole ST-ECGFormer encoder and a linear head on labelled ECG sentences.

    The paper's full fine-tuning (Table 2): the encoder starts from a fitted
    :class:`~heartlang_sk.HeartLangPretrainer` (or at random without one), a linear head on the
    mean-pooled (or CLS) token states predicts the labels, and every weight is trained. A 2-D
    indicator ``y`` is multi-label (binary cross-entropy, one sigmoid per class, as for PTB-XL's
    tasks); a 1-D ``y`` is single-label (softmax cross-entropy).

    Parameters
    ----------
    pretrainer : HeartLangPretrainer or None, default=None
        Fitted pretrainer whose encoder weights start the fine-tuning (never modified). An
        ``architecture="official"`` pretrainer (e.g. ``HeartLangPretrainer.from_official``) is
        fine-tuned in the official architecture (its CLS state with ``pooling="cls"``, the
        official fine-tuning). Clones
        (``clone``, ``cross_val_score``, ``GridSearchCV``) share it, so each fold fine-tunes its
        own copy of the same pre-trained encoder.
    size : {"tiny", "small", "base", "large"}, default="tiny"
        Encoder size when there is no pretrainer.
    depth : int or None, default=None
        Transformer blocks when there is no pretrainer (``None``: the size's depth).
    pooling : {"mean", "cls"}, default="mean"
    dropout : float, default=0.0
    max_epochs : int, default=20
    batch_size : int, default=64
    lr, min_lr : float, default=1e-3, 1e-5
    weight_decay : float, default=0.05
    warmup_epochs : float, default=1.0
    gradient_clip : float or None, default=3.0
    valid_fraction : float, default=0.0
    checkpoint_dir : str or None, default=None
        Save parameters, optimizer, history and a fingerprint of the run there after every epoch.
    resume : bool, default=True
        With ``checkpoint_dir``: continue the same run (same parameters and data) after its last
        saved epoch; another run's checkpoint raises ``ValueError``; ``False`` starts afresh.
    device : str, default="auto"
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False
    accelerator : accelerate.Accelerator or None, default=None
        Multi-GPU training through Hugging Face Accelerate, as for
        :class:`~heartlang_sk.HeartLangPretrainer`.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (single-label) or column indices (multi-label).
    multilabel_ : bool
        Whether ``y`` was a 2-D indicator matrix (one sigmoid per class).
    preprocessing_ : dict or None
        Tokenizer settings of the training sentences (``None``: unknown); sentences made with other
        settings are refused, naming the setting.
    net_ : HeartLangNet
    history_ : pandas.DataFrame
        Per epoch: ``train_loss``, ``train_accuracy`` (exact match for multi-label), ...
    n_features_in_ : int
    n_leads_in_ : int
        Leads of the training sentences; sentences with another number of leads are refused.

    See Also
    --------
    HeartLangPretrainer : the pre-trained encoder the fine-tuning starts from.
    HeartLangEmbedder : a frozen encoder with a linear probe instead.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.

    Examples
    --------
    >>> from heartlang_sk import HeartLangClassifier, QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(24, classes=["brady", "tachy"], random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> clf = HeartLangClassifier(max_epochs=2, random_state=0).fit(S, y)
    >>> clf.predict_proba(S).shape, clf.classes_.tolist()
    ((24, 2), ['brady', 'tachy'])
    """

    def __init__(self, pretrainer=None, size="tiny", *, depth=None, pooling="mean", dropout=0.0, max_epochs=20,
                 batch_size=64, lr=1e-3, min_lr=1e-5, weight_decay=0.05, warmup_epochs=1.0,
                 gradient_clip=3.0, valid_fraction=0.0, checkpoint_dir=None, resume=True, device="auto",
                 precision="auto", random_state=None, verbose=False, accelerator=None):
        self.pretrainer = pretrainer
        self.size = size
        self.depth = depth
        self.pooling = pooling
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.min_lr = min_lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.gradient_clip = gradient_clip
        self.valid_fraction = valid_fraction
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.accelerator = accelerator

    _parameter_constraints = {
        **NeuralEstimator.COMMON_CONSTRAINTS,
        "pretrainer": (Estimator("HeartLangPretrainer"), None),
        "size": Options(*ECGFORMER_SIZES),
        "depth": (Integer(1), None),
        "pooling": Options("mean", "cls"),
        "dropout": Real(0, 1, closed="left"),
    }
    _logged_terms = (("accuracy", False),)
    _optimizer_betas = (0.9, 0.999)
    _frozen_params = ("pretrainer",)
    _checks_lead_count = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _encoder_config(self, sentences):
        if self.pretrainer is not None:
            if not is_fitted(self.pretrainer):
                raise ValueError("pretrainer must be a fitted HeartLangPretrainer")
            return dict(self.pretrainer.net_.get_params()["module__encoder_config"],
                        use_cls=self.pooling == "cls")
        config = {"size": self.size, "t": sentences.t, "n_leads": max(12, sentences.signals.shape[1]),
                  "max_time": max(64, int(sentences.times.max(initial=0)))}
        if self.depth is not None:
            config["depth"] = int(self.depth)
        return config

    def _objective(self, sentences):
        """The objective class and its network argument: an official pretrainer's encoder is
        fine-tuned in the official architecture."""
        if self.pretrainer is not None and getattr(self.pretrainer, "architecture", "heartlang") == "official":
            if not is_fitted(self.pretrainer):
                raise ValueError("pretrainer must be a fitted HeartLangPretrainer")
            objective, network = official.classifier_objective(self.pretrainer)
            return objective, {"network_config": network}
        return ClassificationObjective, {"encoder_config": self._encoder_config(sentences)}

    def _encode_targets(self, y):
        if y.ndim == 2 and y.shape[1] > 1:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError("a 2-D y must be a binary indicator matrix (multi-label)")
            self.multilabel_ = True
            self.classes_ = np.arange(y.shape[1])
            return y.astype(np.float32)
        y = column_or_1d(y, warn=True)
        self.multilabel_ = False
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(f"HeartLangClassifier needs at least 2 classes; got 1 class")
        return (y[:, None] == self.classes_[None, :]).astype(np.float32)

    def fit(self, X, y):
        """Fine-tune on labelled sentences.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
        y : array-like of shape (n_records,) or (n_records, n_classes)

        Returns
        -------
        self
        """
        self._check_params()
        sentences = check_sentences(self, X, reset=True)
        if self.pretrainer is not None and is_fitted(self.pretrainer):
            check_preprocessing("HeartLangClassifier's pretrainer", getattr(self.pretrainer, "preprocessing_", None),
                                self.preprocessing_)
        if y is None:
            raise ValueError("HeartLangClassifier requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if len(y) != len(sentences):
            raise ValueError(f"X has {len(sentences)} records but y has {len(y)}")
        labels = self._encode_targets(y)
        seed = self._seed()
        objective, module_params = self._objective(sentences)
        module_params.update(n_outputs=labels.shape[1], multilabel=self.multilabel_, pooling=self.pooling,
                             dropout=self.dropout)
        rhythm = beat_time_arrays(sentences, getattr(self.pretrainer, "temporal_encoding", "second") != "second")
        self._fit_module(objective, module_params, sentences,
                         SentenceDataset(sentences, labels=labels, **rhythm), seed,
                         validation_split(None, self.valid_fraction, seed),
                         initial_state=None if self.pretrainer is None else self._copy_pretrained_encoder,
                         targets=labels)
        return self

    def _copy_pretrained_encoder(self, module):
        source = self.pretrainer.encoder_.state_dict()
        # The pre-training mask token is not part of a classifier's encoder.
        source = {k: v for k, v in source.items() if k in module.model.encoder.state_dict()}
        module.model.encoder.load_state_dict(source, strict=False)

    def decision_function(self, X):
        """Logits: (n_records, n_classes), or (n_records,) for a single-label binary problem."""
        logits = self._logits(X)
        if not self.multilabel_ and logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    @torch.inference_mode()
    def _logits(self, X):
        check_is_fitted(self, "net_")
        sentences = check_sentences(self, X, reset=False)
        model = self.net_.module_.model.eval()
        device = self.net_.device
        dtype = amp_dtype(self.precision, device)
        parts = []
        rhythm = beat_time_arrays(sentences, getattr(model.encoder, "rhythm", None) is not None)
        for batch in device_batches(sentences, self.batch_size, device, **rhythm):
            with torch.autocast(device_type=torch.device(device).type, dtype=dtype,
                                enabled=dtype is not None):
                parts.append(model(**batch).float().cpu().numpy())
        return np.concatenate(parts)

    def predict_proba(self, X):
        """Class probabilities: one sigmoid per class (multi-label) or a softmax (single-label)."""
        # float64: saturated float32 probabilities would tie where the logits still differ.
        logits = torch.from_numpy(self._logits(X)).double()
        proba = torch.sigmoid(logits) if self.multilabel_ else torch.softmax(logits, dim=1)
        return proba.numpy()

    def predict(self, X):
        """Labels: a 0/1 indicator matrix (multi-label) or class labels (single-label)."""
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba > 0.5).astype(int)
        return self.classes_[proba.argmax(axis=1)]
