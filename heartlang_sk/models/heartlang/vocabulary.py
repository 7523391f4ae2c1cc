"""ECGVocabulary: the codebook of ECG words, learned by vector-quantized heartbeat reconstruction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..._param_validation import Boolean, Integer, Options, Real
from ..._validation import check_sentences
from ...stage_outputs import ECGWords
from ...nn.quantizer import perplexity as usage_perplexity
from ...training.callbacks import CodebookMonitor, EpochR2
from ...training.net import SentenceDataset, device_batches, validation_split
from .._base import NeuralEstimator
from ..heartlang_official import estimator_hooks as official
from ..heartlang_official.objectives import OfficialVocabularyObjective
from ._vocabulary_size import warn_if_too_few_beats
from .objectives import VocabularyObjective

__all__ = ["ECGVocabulary"]

PADDING_WORD = -1
"""Word index :meth:`ECGVocabulary.transform` gives padding tokens."""

_LOGGED_TERMS = ("reconstruction_loss", "commit_loss")


def _quantizer_of(net):
    return net.module_.model.quantizer


class ECGVocabulary(TransformerMixin, NeuralEstimator):
    """The ECG vocabulary: each heartbeat becomes one of ``n_words`` ECG words (HeartLang's VQ-HBR).

    An ST-ECGFormer encoder turns each beat of a sentence into a vector, which is L2-normalised and
    replaced by the nearest word (cosine similarity) of a codebook of ``n_words`` x ``word_dim``;
    a transformer decoder reconstructs every 96-sample beat from its word. The loss is the
    reconstruction MSE over real (non-padding) beats plus the commitment term; the codebook follows
    the encoder by exponential moving average (``decay``) instead of a gradient codebook term, is
    initialised by k-means on the first batch, and words left unused are re-seeded from recent
    encoder outputs (``dead_word_restart``). Padding tokens never touch the loss or the codebook.

    Training runs through skorch (``net_``); every loss term, the epoch R², and codebook use are in
    :attr:`history_`.

    Two architectures, side by side (``architecture``):

    ==========================  ==========================================  ==========================================
    ..                          ``"heartlang"`` (default)                   ``"official"`` (the released code)
    ==========================  ==========================================  ==========================================
    beat embedding              per-beat convolution (within each beat)     kernel-3 circular convolution *across*
                                                                            neighbouring beats
    positions                   RoPE on queries and keys                    CLS token + learned absolute positions
    padding                     hidden from attention                       attended to (as released)
    decoder input               linear map of the word vector               the same circular convolution
    codebook                    NormEMA + dead-word restarts                NormEMA (official), no restarts
    loads released weights      no                                          :meth:`from_official`
    ==========================  ==========================================  ==========================================

    Both train with the same objective (reconstruction MSE over real beats + commitment; padding
    never enters the loss or the codebook).

    Parameters
    ----------
    size : {"tiny", "small", "base", "large", "released"}, default="tiny"
        Width and heads of encoder and decoder (see :data:`heartlang_sk.nn.ECGFORMER_SIZES`);
        ``"released"`` (only with ``architecture="official"``): the released VQ-HBR's width 768,
        2 heads x 64, MLP 2,048.
    encoder_depth, decoder_depth : int, default=4, 2
        Transformer blocks in encoder and decoder (the official HeartLang code's values).
    n_words : int, default=8192
        Vocabulary size K.
    word_dim : int, default=128
        Dimension of a word vector.
    decay : float, default=0.99
        EMA decay of the codebook.
    beta : float, default=1.0
        Weight of the commitment loss.
    kmeans_init : bool, default=True
        Initialise the codebook by spherical k-means on the first training batch.
    dead_word_restart : bool, default=True
        Re-seed unused words from recent encoder outputs.
    max_epochs : int, default=10
    batch_size : int, default=64
        Sentences per batch.
    lr : float, default=1e-3
        Peak learning rate of AdamW (betas 0.9, 0.99), reached after ``warmup_epochs`` and decayed
        to ``min_lr`` by a cosine over the remaining epochs. The official code uses 5e-5 for 100
        epochs on 800k records; a few epochs on thousands of records need a larger rate.
    weight_decay : float, default=1e-4
    warmup_epochs : float, default=1.0
    min_lr : float, default=1e-5
    gradient_clip : float or None, default=3.0
    valid_fraction : float, default=0.0
        Fraction of the sentences held out for validation (``valid_*`` history columns);
        ``fit(..., validation_sentences=S_val)`` passes a fixed validation set instead.
    checkpoint_dir : str or None, default=None
        Save parameters, optimizer, history and a fingerprint of the run (``run.json``: the
        parameters and the training data's shape and content hash) there after every epoch.
    resume : bool, default=True
        With ``checkpoint_dir``: a fit of the same run (same fingerprint) continues after the last
        saved epoch (raise ``max_epochs`` to train longer); a checkpoint of another run there raises
        ``ValueError`` instead of returning the old model. ``False`` starts afresh, replacing it.
    device : str, default="auto"
        ``"auto"`` trains on CUDA when available, else CPU.
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
        Mixed precision: bfloat16 autocast on CUDA for ``"auto"``, float32 on CPU.
    random_state : int, RandomState or None, default=None
        Seeds weights, batch order and k-means; with an int, CPU runs repeat exactly.
    verbose : bool, default=False
        Progress bar and per-epoch table.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``): started with
        ``accelerate launch`` or ``torchrun``, every process trains the same model under
        DistributedDataParallel on its share of the batches (``batch_size`` per process), in the
        accelerator's device and mixed precision, which replace ``device`` and ``precision``.
        See :mod:`heartlang_sk.training.distributed`.
    architecture : {"heartlang", "official"}, default="heartlang"
        This toolkit's VQ-HBR, or the released code's layer for layer
        (:class:`~heartlang_sk.models.heartlang_official.OfficialVQHBR`), whose weights
        :meth:`to_official` writes in the official layout. ``dead_word_restart`` does not apply to it.

    Attributes
    ----------
    net_ : HeartLangNet
        The fitted skorch net; ``net_.module_.model`` is the
        :class:`~heartlang_sk.nn.VQHeartbeatReconstructor` (or, for ``architecture="official"``,
        the :class:`~heartlang_sk.models.heartlang_official.OfficialVQHBR`).
    codebook_ : ndarray of shape (n_words, word_dim)
        Unit-norm word vectors.
    word_counts_ : ndarray of shape (n_words,)
        How often each word is used by the training sentences (final model).
    n_active_words_ : int
        Words used at least once by the training sentences.
    perplexity_ : float
        Perplexity of the word usage (``exp`` of its entropy): the effective vocabulary size.
    train_r2_ : float
        Reconstruction R² over the real beats of the training sentences, final model (the history's
        ``train_r2`` is measured during each epoch, while the model changes). A fit on too few
        beats for ``n_words`` warns with these numbers and a smaller ``n_words``.
    history_ : pandas.DataFrame
        Per epoch: every loss term, ``train_r2`` (and ``valid_*``), active words, utilisation,
        perplexity, words restarted, learning rate, duration.
    n_features_in_ : int
        Samples per beat token (``t``).
    preprocessing_ : dict or None
        Tokenizer settings of the training sentences (band-pass, normalisation, truncation, ``t``,
        ``l``, input sampling rate; :mod:`heartlang_sk.preprocessing.settings`): sentences made with
        other settings are refused; ``tokenizer_for(model, sampling_rate)`` tokenizes new records
        with them. ``None`` when the training sentences did not carry them.

    See Also
    --------
    QRSTokenizer : makes the sentences the vocabulary reads.
    HeartLangPretrainer : pre-trains the encoder to predict masked ECG words.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.
    .. [2] A. van den Oord, O. Vinyals and K. Kavukcuoglu, "Neural discrete representation
       learning", NeurIPS 2017.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer, ECGVocabulary
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(16, random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> vocab = ECGVocabulary(n_words=32, word_dim=16, max_epochs=2, random_state=0).fit(S)
    >>> words = vocab.transform(S)
    >>> words.shape, int(words[0, -1])  # -1 marks padding
    ((16, 256), -1)
    >>> vocab.codebook_.shape
    (32, 16)
    >>> {"train_reconstruction_loss", "train_commit_loss", "active_words"} <= set(vocab.history_)
    True
    """

    def __init__(self, size="tiny", *, encoder_depth=4, decoder_depth=2, n_words=8192, word_dim=128,
                 decay=0.99, beta=1.0, kmeans_init=True, dead_word_restart=True, max_epochs=10,
                 batch_size=64, lr=1e-3, weight_decay=1e-4, warmup_epochs=1.0, min_lr=1e-5,
                 gradient_clip=3.0, valid_fraction=0.0, checkpoint_dir=None, resume=True, device="auto",
                 precision="auto", random_state=None, verbose=False, accelerator=None, architecture="heartlang"):
        self.size = size
        self.encoder_depth = encoder_depth
        self.decoder_depth = decoder_depth
        self.n_words = n_words
        self.word_dim = word_dim
        self.decay = decay
        self.beta = beta
        self.kmeans_init = kmeans_init
        self.dead_word_restart = dead_word_restart
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.min_lr = min_lr
        self.gradient_clip = gradient_clip
        self.valid_fraction = valid_fraction
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.accelerator = accelerator
        self.architecture = architecture

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    _parameter_constraints = {
        **NeuralEstimator.COMMON_CONSTRAINTS,
        "size": Options(*official.OFFICIAL_SIZE_NAMES),
        "architecture": Options(*official.ARCHITECTURES),
        "encoder_depth": Integer(1),
        "decoder_depth": Integer(1),
        "n_words": Integer(1),
        "word_dim": Integer(1),
        "decay": Real(0, 1, closed="left"),
        "beta": Real(0),
        "kmeans_init": Boolean(),
        "dead_word_restart": Boolean(),
    }
    _logged_terms = tuple((term, True) for term in _LOGGED_TERMS)
    _optimizer_betas = (0.9, 0.99)

    def _check_params(self):
        super()._check_params()
        if self.size == "released" and self.architecture != "official":
            raise ValueError("size='released' is the released model's width: it needs architecture='official'")

    def _objective(self):
        return OfficialVocabularyObjective if self.architecture == "official" else VocabularyObjective

    def _extra_callbacks(self):
        return [EpochR2(), CodebookMonitor(_quantizer_of)]

    # -- building ----------------------------------------------------------------------------------
    def _module_params(self, sentences):
        if self.architecture == "official":
            return official.vocabulary_module_params(self, sentences)
        return {
            "encoder_config": {"size": self.size, "depth": self.encoder_depth},
            "decoder_config": {"size": self.size, "depth": self.decoder_depth},
            "n_words": self.n_words, "word_dim": self.word_dim, "t": sentences.t,
            "n_leads": max(12, sentences.signals.shape[1]),
            "max_time": max(64, int(sentences.times.max(initial=0))),
            "decay": self.decay, "beta": self.beta, "kmeans_init": self.kmeans_init,
            "dead_word_restart": self.dead_word_restart,
        }

    # -- estimator API -----------------------------------------------------------------------------
    def fit(self, X, y=None, *, validation_sentences=None):
        """Learn the vocabulary from ECG sentences.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
            Output of :class:`~heartlang_sk.QRSTokenizer`; a 2-D array is read as one beat per row.
        y : ignored
        validation_sentences : ECGSentences, optional
            A fixed validation set (history gets ``valid_*`` columns); overrides ``valid_fraction``.

        Returns
        -------
        self
        """
        self._fit(X, validation_sentences)
        return self

    def fit_transform(self, X, y=None, *, validation_sentences=None):
        """Fit, then the word of every training beat (the words ``fit`` computes anyway).

        Returns
        -------
        ECGWords of shape (n_records, l)
            As :meth:`transform`.
        """
        return self._fit(X, validation_sentences)

    def _fit(self, X, validation_sentences):
        """Train; returns the training sentences' words."""
        self._check_params()
        sentences = check_sentences(self, X, reset=True)
        seed = self._seed()
        held_out = None
        if validation_sentences is not None:
            held_out = SentenceDataset(check_sentences(self, validation_sentences, reset=False))
        validation = validation_split(held_out, self.valid_fraction, seed)
        self._fit_module(self._objective(), self._module_params(sentences), sentences,
                         SentenceDataset(sentences), seed, validation)
        return self._set_fitted_state(sentences)

    _net_views = ("codebook_",)

    def _restore_derived(self):
        self.codebook_ = self.net_.module_.model.quantizer.codebook.detach().cpu().numpy().copy()

    def _set_fitted_state(self, sentences):
        self._restore_derived()
        words, self.train_r2_ = self._words_and_r2(sentences)
        self._set_word_counts(np.bincount(words[words >= 0], minlength=self.n_words))
        warn_if_too_few_beats(int(sentences.n_tokens.sum()), self.n_words, self.n_active_words_, self.train_r2_)
        return words

    def _set_word_counts(self, counts):
        """``word_counts_`` and what follows from it: words in use and the usage perplexity."""
        self.word_counts_ = counts
        self.n_active_words_ = int(np.count_nonzero(counts))
        self.perplexity_ = float(usage_perplexity(torch.from_numpy(counts)))

    @torch.inference_mode()
    def _words_and_r2(self, sentences):
        """Words of ``sentences`` and the reconstruction R² over their real beats, in one pass."""
        model = self.net_.module_.model
        parts, sse, total, total_sq, n = [], 0.0, 0.0, 0.0, 0
        for batch in self._batches(sentences):
            words = model.encode_indices(**batch)
            beats = model.decode_indices(words, batch["leads"], batch["times"]).double()
            real = batch["leads"] > 0
            target = batch["tokens"][real].double()
            sse += float(((beats[real] - target) ** 2).sum())
            total, total_sq, n = total + float(target.sum()), total_sq + float((target ** 2).sum()), n + target.numel()
            parts.append(words.cpu().numpy())
        variance = total_sq / max(n, 1) - (total / max(n, 1)) ** 2
        r2 = 1.0 - sse / n / variance if n and variance > 0 else float("nan")
        return ECGWords(np.concatenate(parts), sentences=sentences, vocabulary=self), r2

    def _batches(self, X, batch_size=None):
        sentences = check_sentences(self, X, reset=False)
        return device_batches(sentences, batch_size or self.batch_size, self.net_.device)

    @torch.inference_mode()
    def transform(self, X):
        """ECG word of every beat.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)

        Returns
        -------
        ECGWords of shape (n_records, l)
            The int64 array of word indices in ``[0, n_words)``, ``-1`` (:data:`PADDING_WORD`) at
            padding tokens, carrying the sentences and this vocabulary, so that a
            :class:`~heartlang_sk.HeartLangPretrainer` step after this one in a Pipeline trains on
            them (see :mod:`heartlang_sk.stage_outputs`).
        """
        check_is_fitted(self, "net_")
        sentences = check_sentences(self, X, reset=False)
        model = self.net_.module_.model
        words = np.concatenate([model.encode_indices(**batch).cpu().numpy()
                                for batch in self._batches(sentences)])
        return ECGWords(words, sentences=sentences, vocabulary=self)

    @torch.inference_mode()
    def reconstruct(self, X):
        """Beats rebuilt from their ECG words, float32 of shape (n_records, l, t); padding is zero."""
        check_is_fitted(self, "net_")
        model = self.net_.module_.model
        parts = []
        for batch in self._batches(X):
            words = model.encode_indices(**batch)
            parts.append(model.decode_indices(words, batch["leads"], batch["times"]).float().cpu().numpy())
        return np.concatenate(parts)

    def reconstruction_errors(self, X):
        """Mean squared error and R² of the reconstruction over the samples of real beats.

        Returns
        -------
        dict
            ``mse`` and ``r2`` (fraction of the variance of the real beat samples explained).
        """
        sentences = check_sentences(self, X, reset=False)
        reconstruction = self.reconstruct(sentences)
        real = ~sentences.padding_mask
        target = sentences.tokens[real].astype(np.float64)
        error = reconstruction[real] - target
        mse = float(np.mean(error ** 2))
        return {"mse": mse, "r2": 1.0 - mse / float(np.var(target))}

    def score(self, X, y=None):
        """Negative reconstruction MSE over real beats (higher is better; for model selection)."""
        return -self.reconstruction_errors(X)["mse"]

    # -- files that load no code ------------------------------------------------------------------
    @classmethod
    def load_weights(cls, path, device="auto"):
        """Rebuild a fitted vocabulary from :meth:`save_weights`.

        Also reads the ``torch.save`` files (``weights_only=True``) that ``save_weights`` wrote before
        model files were safetensors.
        """
        with open(path, "rb") as handle:
            legacy = handle.read(2) == b"PK"  # torch.save writes a zip archive
        if not legacy:
            return super().load_weights(path, device=device)
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != "heartlang-sk/ECGVocabulary/1":
            raise ValueError(f"{path} is not an ECGVocabulary weights file")
        vocab = cls(**dict(payload["params"], device=device))
        module_params = {k[len("module__"):]: v for k, v in payload["module_params"].items()}
        vocab.net_ = vocab._make_net(vocab._objective(), module_params, seed=0, validation=None)
        vocab.net_.initialize()
        vocab.net_.module_.load_state_dict(payload["state_dict"])
        vocab.n_features_in_ = payload["n_features_in"]
        vocab._restore_derived()
        vocab._set_word_counts(payload["word_counts"].numpy())
        vocab.history_ = pd.DataFrame()
        return vocab

    # -- the released checkpoints ------------------------------------------------------------------
    @classmethod
    def from_official(cls, path, *, device="auto", head_dim=None):
        """A fitted vocabulary holding a released VQ-HBR checkpoint (``architecture="official"``).

        The file is read with ``torch.load(weights_only=True)`` only; every size is inferred from
        its tensors (see :func:`~heartlang_sk.models.heartlang_official.read_official_checkpoint`).
        :meth:`transform` then gives the official VQ-HBR's word of every real beat (-1 at padding),
        computed with the sentences' lead and time indices.

        Parameters
        ----------
        path : str or Path
            The VQ-HBR ``.pth`` file (weights under ``"model"``).
        device : str, default="auto"
        head_dim : int or None, default=None
            Attention head width for files that do not record it (default 64, the official value).

        Returns
        -------
        ECGVocabulary
            Fitted. ``word_counts_`` is all zeros, ``n_active_words_`` 0 and ``perplexity_`` NaN:
            the checkpoint carries no training sentences to count words on.

        Raises
        ------
        ValueError
            One line naming the problem: missing file, not a checkpoint, a missing/unexpected key,
            a wrong shape, or a masked-pre-training checkpoint (use ``HeartLangPretrainer.from_official``).
        """
        return official.vocabulary_from_official(cls, path, device=device, head_dim=head_dim)

    def to_official(self, path):
        """Write this fitted ``architecture="official"`` vocabulary as an official VQ-HBR checkpoint
        (``{"model": state_dict}``), which the official scripts and :meth:`from_official` read."""
        check_is_fitted(self, "net_")
        official.estimator_to_official(self, path)
