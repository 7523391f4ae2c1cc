"""HeartLangPretrainer: masked ECG-sentence pre-training of the ST-ECGFormer encoder."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..._param_validation import Boolean, Estimator, Integer, Options, Real
from ..._validation import check_sentences
from ...stage_outputs import ECGEmbeddings, ECGWords, WORKING_PIPELINE
from ...training.net import SentenceDataset, beat_time_arrays, device_batches, validation_split
from .._base import NeuralEstimator, is_fitted
from ..heartlang_official import estimator_hooks as official
from ..heartlang_official.objectives import OfficialPretrainingObjective
from ._embedding import embed_sentences
from .ecgformer import TEMPORAL_ENCODINGS
from .objectives import MASK_UNITS, PretrainingObjective
from .auxiliary_objective import RHYTHM_TARGETS, AuxiliaryPretrainingObjective

__all__ = ["HeartLangPretrainer"]


class HeartLangPretrainer(TransformerMixin, NeuralEstimator):
    """Pre-train the ST-ECGFormer encoder by predicting masked ECG words (HeartLang, paper §2.4).

    ``mask_ratio`` of every sentence's real beats (never padding) are replaced by a learnable mask
    token after the per-beat embedding; the encoder and a linear head predict each masked beat's
    ECG word, as assigned by ``vocabulary`` with the same lead and time indices it was trained with;
    the loss is the cross-entropy over masked beats. Optimiser defaults follow the paper: AdamW
    (betas 0.9, 0.98, weight decay 0.05), peak lr 5e-4 with warm-up and cosine decay to 1e-5,
    gradient clipping at 3.0.

    Two architectures, side by side (``architecture``), trained by the same objective:

    ==========================  ==========================================  ==========================================
    ..                          ``"heartlang"`` (default)                   ``"official"`` (the released code)
    ==========================  ==========================================  ==========================================
    beat embedding              per-beat convolution (within each beat)     kernel-3 circular convolution *across*
                                                                            neighbouring beats
    positions                   RoPE on queries and keys                    CLS token + learned absolute positions
                                                                            (sentences up to the length it was
                                                                            built for)
    padding                     hidden from attention                       attended to (as released)
    CLS token                   with ``use_cls=True``                       always
    word head                   ``head``                                    ``lm_head`` (official name)
    loads released weights      no                                          :meth:`from_official`
    ==========================  ==========================================  ==========================================

    The defaults are the paper's objective. Beyond the paper, ``temporal_encoding``,
    ``rhythm_target`` and ``waveform_weight`` let the encoder see and predict the rhythm and the
    masked beats' samples; :data:`~heartlang_sk.models.heartlang.PRETRAINING_RECIPES` names the
    measured combinations (``HeartLangPretrainer(vocab, **PRETRAINING_RECIPES["rhythm"])``).

    Parameters
    ----------
    vocabulary : ECGVocabulary or None, default=None
        Gives the target words. A fitted vocabulary is used as is (wrap it in
        ``sklearn.frozen.FrozenEstimator`` to keep it fitted through ``clone``); an unfitted one is
        cloned and fitted on the same sentences first. ``None`` is allowed only with
        ``max_epochs=0``, or in a Pipeline right after an ``ECGVocabulary`` step, whose words and
        sentences the pretrainer then trains on (see :mod:`heartlang_sk.stage_outputs`).
    size : {"tiny", "small", "base", "large", "released"}, default="tiny"
        ``"released"`` (only with ``architecture="official"``): the released model's width 768,
        12 blocks, 8 heads x 64, MLP 1,024.
    depth : int or None, default=None
        Transformer blocks; ``None`` takes the size's depth.
    use_cls : bool, default=False
        Add a CLS token (for ``HeartLangEmbedder(pooling="cls")``).
    mask_ratio : float, default=0.5
        Share of the real beats masked (the paper's 0.5). On ptbxl-2k at ``tiny`` size, 0.85 gave
        the best linear probe of the settings in ``benchmarks/results/pretraining_ablation.md``.
    mask_unit : {"token", "lead"}, default="token"
        ``"token"`` masks ``mask_ratio`` of the real beats (the paper); ``"lead"`` masks every beat
        of ``mask_ratio`` of each sentence's leads (an ablation: the encoder must infer a lead from
        the others; see ``benchmarks/results/pretraining_ablation.md``).
    temporal_encoding : {"second", "rhythm"}, default="second"
        ``"second"``: the paper's whole-second embedding. ``"rhythm"`` adds each beat's R-peak time
        and RR intervals (:class:`~heartlang_sk.nn.rhythm.RhythmEmbedding`; beyond the paper, see
        ``benchmarks/results/pretraining_ablation_issue13.md``).
    rhythm_target : {"none", "beat", "record"}, default="none"
        A rhythm regression beside the masked word (beyond the paper; see
        :mod:`~heartlang_sk.models.heartlang.auxiliary_objective`): ``"beat"`` predicts each masked
        beat's RR intervals, ``"record"`` the sentence's RR statistics from the mean token state.
        ``"none"`` is the paper's loss.
    rhythm_weight : float, default=1.0
        Weight of the rhythm term (``rhythm_target`` other than ``"none"``).
    waveform_weight : float, default=0.0
        Weight of a masked-waveform term beside the word (beyond the paper; see
        :mod:`~heartlang_sk.models.heartlang.auxiliary_objective`): each masked beat's samples are
        regressed from its token state, a target that keeps the amplitude a word index loses.
        ``0`` is the paper's loss.
    max_epochs : int, default=10
        ``0`` gives the random-initialised encoder (the no-pre-training baseline).
    batch_size : int, default=64
    lr, min_lr : float, default=5e-4, 1e-5
    weight_decay : float, default=0.05
    warmup_epochs : float, default=1.0
    gradient_clip : float or None, default=3.0
    valid_fraction : float, default=0.0
    checkpoint_dir : str or None, default=None
        Save parameters, optimizer, history and a fingerprint of the run (``run.json``: the
        parameters and the training data's shape and content hash) there after every epoch.
    resume : bool, default=True
        With ``checkpoint_dir``: a fit of the same run (same fingerprint) continues after the last
        saved epoch (raise ``max_epochs`` to train longer); a checkpoint of another run there raises
        ``ValueError`` instead of returning the old model. ``False`` starts afresh, replacing it.
    init_from : HeartLangPretrainer or None, default=None
        Start from this fitted pretrainer's weights (continued pre-training / warm start); the word
        head is copied too when the vocabulary sizes match.
    device : str, default="auto"
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``): started with
        ``accelerate launch`` or ``torchrun``, every process trains the same model under
        DistributedDataParallel on its share of the batches (``batch_size`` per process), in the
        accelerator's device and mixed precision, which replace ``device`` and ``precision``.
        See :mod:`heartlang_sk.training.distributed`.
    architecture : {"heartlang", "official"}, default="heartlang"
        This toolkit's ST-ECGFormer, or the released code's layer for layer
        (:class:`~heartlang_sk.models.heartlang_official.OfficialECGFormer`, dropout 0.1 in
        training as released), whose weights :meth:`to_official` writes in the official layout.

    Attributes
    ----------
    net_ : HeartLangNet
    encoder_ : heartlang_sk.nn.ECGFormer or OfficialECGFormer
        The pre-trained encoder (``net_.module_.model.encoder``).
    vocabulary_ : ECGVocabulary or None
        The vocabulary that gave the targets.
    history_ : pandas.DataFrame
        Per epoch: ``train_loss`` (masked cross-entropy, plus the rhythm term), ``train_masked_accuracy``,
        ``train_word_loss`` and ``train_rhythm_loss`` with a ``rhythm_target``,
        ``train_waveform_loss`` with a ``waveform_weight``, validation
        columns when validating, learning rate, duration.
    embed_dim_ : int
    n_features_in_ : int
        Samples per beat token (``t``).
    n_leads_in_ : int
        Leads of the training sentences; sentences with another number of leads are refused.
    preprocessing_ : dict or None
        Tokenizer settings of the training sentences (band-pass, normalisation, truncation, ``t``,
        ``l``, input sampling rate; :mod:`heartlang_sk.preprocessing.settings`): sentences made with
        other settings are refused; ``tokenizer_for(model, sampling_rate)`` tokenizes new records
        with them. ``None`` when the training sentences did not carry them.

    See Also
    --------
    ECGVocabulary : the ECG words the masked beats are predicted as.
    HeartLangEmbedder : the frozen encoder as a transformer, for linear probes.
    HeartLangClassifier : fine-tunes the pre-trained encoder.

    References
    ----------
    .. [1] J. Jin et al., "Reading Your Heart: Learning ECG Words and Sentences via Pre-training
       ECG Language Model", ICLR 2025.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer, ECGVocabulary, HeartLangPretrainer
    >>> from heartlang_sk.datasets import make_ecg
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(16, random_state=0)[0])
    >>> vocab = ECGVocabulary(n_words=32, word_dim=16, max_epochs=1, random_state=0).fit(S)
    >>> pre = HeartLangPretrainer(vocab, depth=2, max_epochs=2, random_state=0).fit(S)
    >>> {"train_loss", "train_masked_accuracy"} <= set(pre.history_)
    True
    >>> pre.embed_dim_
    64
    """

    def __init__(self, vocabulary=None, size="tiny", *, depth=None, use_cls=False, mask_ratio=0.5,
                 mask_unit="token",
                 max_epochs=10, batch_size=64, lr=5e-4, min_lr=1e-5, weight_decay=0.05,
                 warmup_epochs=1.0, gradient_clip=3.0, valid_fraction=0.0, checkpoint_dir=None,
                 resume=True, init_from=None, device="auto", precision="auto", random_state=None,
                 verbose=False, accelerator=None, architecture="heartlang", temporal_encoding="second",
                 rhythm_target="none", rhythm_weight=1.0, waveform_weight=0.0):
        self.vocabulary = vocabulary
        self.size = size
        self.depth = depth
        self.use_cls = use_cls
        self.mask_ratio = mask_ratio
        self.mask_unit = mask_unit
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
        self.init_from = init_from
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.accelerator = accelerator
        self.architecture = architecture
        self.temporal_encoding = temporal_encoding
        self.rhythm_target = rhythm_target
        self.rhythm_weight = rhythm_weight
        self.waveform_weight = waveform_weight

    _parameter_constraints = {
        **NeuralEstimator.COMMON_CONSTRAINTS,
        "vocabulary": (Estimator("ECGVocabulary"), None),
        "size": Options(*official.OFFICIAL_SIZE_NAMES),
        "architecture": Options(*official.ARCHITECTURES),
        "depth": (Integer(1), None),
        "use_cls": Boolean(),
        "mask_ratio": Real(0, 1, closed="neither"),
        "mask_unit": Options(*MASK_UNITS),
        "init_from": (Estimator("HeartLangPretrainer"), None),
        "temporal_encoding": Options(*TEMPORAL_ENCODINGS),
        "rhythm_target": Options(*RHYTHM_TARGETS),
        "rhythm_weight": Real(0, None, closed="left"),
        "waveform_weight": Real(0, None, closed="left"),
    }
    _optimizer_betas = (0.9, 0.98)
    _frozen_params = ("vocabulary", "init_from")
    _checks_lead_count = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _check_params(self, words_given=False):
        super()._check_params()
        if self.vocabulary is None and self.max_epochs > 0 and not words_given:
            raise ValueError("pre-training needs a vocabulary (an ECGVocabulary) for its target words,"
                             " as a parameter or as the Pipeline step before, as in " + WORKING_PIPELINE +
                             "; vocabulary=None is only for max_epochs=0 (random-initialised encoder)")
        if self.init_from is not None and not is_fitted(self.init_from):
            raise ValueError("init_from must be a fitted HeartLangPretrainer")
        if self.init_from is not None and getattr(self.init_from, "architecture", "heartlang") != self.architecture:
            raise ValueError(f"init_from has architecture={self.init_from.architecture!r}, this pretrainer "
                             f"{self.architecture!r}: weights move only between the same architecture")
        if self.architecture == "official" and (self._uses_rhythm() or self._uses_waveform()):
            raise ValueError("temporal_encoding, rhythm_target and waveform_weight are options of "
                             "architecture='heartlang'; the official architecture reads whole seconds "
                             "and predicts words only")
        if self.size == "released" and self.architecture != "official":
            raise ValueError("size='released' is the released model's width: it needs architecture='official'")

    @property
    def _logged_terms(self):
        if self._uses_rhythm() or self._uses_waveform():
            terms = (("masked_accuracy", False), ("word_loss", True))
            terms += (("rhythm_loss", True),) if self.rhythm_target != "none" else ()
            return terms + ((("waveform_loss", True),) if self._uses_waveform() else ())
        return (("masked_accuracy", False),)

    def _uses_waveform(self):
        return getattr(self, "waveform_weight", 0.0) > 0

    def _uses_rhythm(self):
        """Whether the network reads ``beat_times`` (a rhythm encoding or a rhythm target)."""
        return (getattr(self, "temporal_encoding", "second") != "second"
                or getattr(self, "rhythm_target", "none") != "none")

    def _beat_times(self, sentences):
        return beat_time_arrays(sentences, self._uses_rhythm())

    def _encoder_config(self, sentences):
        config = {"size": self.size, "t": sentences.t, "use_cls": bool(self.use_cls),
                  "n_leads": max(12, sentences.signals.shape[1]),
                  "max_time": max(64, int(sentences.times.max(initial=0)))}
        if self.depth is not None:
            config["depth"] = int(self.depth)
        if self.temporal_encoding != "second":
            config["temporal_encoding"] = self.temporal_encoding
        return config

    def fit(self, X, y=None, *, validation_sentences=None):
        """Pre-train on ECG sentences.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
            Or, in a Pipeline, the word indices of an ``ECGVocabulary`` step (:class:`ECGWords`):
            the pretrainer trains on their sentences with their vocabulary.
        y : ignored
        validation_sentences : ECGSentences, optional
            Fixed validation set (``valid_*`` history columns).

        Returns
        -------
        self
        """
        X, words = self._words_from_step(X)
        self._check_params(words_given=words is not None)
        sentences = check_sentences(self, X, reset=True)
        seed = self._seed()
        vocabulary = self.vocabulary if words is None else words.vocabulary
        if vocabulary is not None and not is_fitted(vocabulary):
            vocabulary = clone(vocabulary)
            words = vocabulary.fit_transform(sentences)
        self.vocabulary_ = vocabulary
        if words is None and vocabulary is not None:
            words = vocabulary.transform(sentences)
        words = None if words is None else np.asarray(words)
        n_words = 1 if vocabulary is None else int(vocabulary.codebook_.shape[0])
        validation = None
        if validation_sentences is not None:
            held_out = check_sentences(self, validation_sentences, reset=False)
            validation = SentenceDataset(held_out, words=vocabulary.transform(held_out),
                                         **self._beat_times(held_out))
        if self.architecture == "official":
            objective = OfficialPretrainingObjective
            module_params = official.pretraining_module_params(self, sentences, n_words)
        else:
            objective = PretrainingObjective
            module_params = {"encoder_config": self._encoder_config(sentences), "n_words": n_words,
                             "mask_ratio": self.mask_ratio, "mask_unit": self.mask_unit}
            if self._uses_rhythm() or self._uses_waveform():
                objective = AuxiliaryPretrainingObjective
                module_params.update(rhythm_target=self.rhythm_target, rhythm_weight=self.rhythm_weight,
                                     waveform_weight=self.waveform_weight)
        self._fit_module(objective, module_params, sentences,
                         SentenceDataset(sentences, words=words, **self._beat_times(sentences)),
                         seed, validation_split(validation, self.valid_fraction, seed),
                         initial_state=None if self.init_from is None else self._copy_initial_weights)
        self._restore_derived()
        self.embed_dim_ = int(self.encoder_.embed_dim)
        return self

    _net_views = ("encoder_",)

    def _restore_derived(self):
        self.encoder_ = self.net_.module_.model.encoder

    def _words_from_step(self, X):
        """``(sentences, words)`` for word indices from an ``ECGVocabulary`` step, else ``(X, None)``."""
        if not isinstance(X, ECGWords):
            return X, None
        if not X.has_provenance:
            raise ValueError("HeartLangPretrainer got word indices without the sentences they name (a copy "
                             "or a computed array); pass the ECGVocabulary step's output as it is")
        if self.vocabulary is not None and self.vocabulary is not X.vocabulary:
            raise ValueError("HeartLangPretrainer has vocabulary=... and follows an ECGVocabulary step: give "
                             "the vocabulary once, as the step before (" + WORKING_PIPELINE + ") or as the "
                             "parameter (make_pipeline(QRSTokenizer(...), HeartLangPretrainer(ECGVocabulary()),"
                             " LogisticRegression()))")
        return X.sentences, X

    @torch.inference_mode()
    def transform(self, X):
        """Embed with the pre-trained encoder, mean-pooled: the pretrainer as a Pipeline step.

        The same vectors as ``HeartLangEmbedder(self).fit(X).transform(X)``, so that
        ``make_pipeline(QRSTokenizer(...), HeartLangPretrainer(ECGVocabulary()), LogisticRegression())``
        pre-trains and probes in one go.

        Parameters
        ----------
        X : ECGSentences, ECGWords or array-like of shape (n_beats, t)

        Returns
        -------
        ECGEmbeddings of shape (n_records, embed_dim_)
            A float32 array that also carries the sentences and this pretrainer, so that a
            ``HeartLangEmbedder`` step after this one can pool otherwise.
        """
        check_is_fitted(self, "net_")
        if isinstance(X, ECGWords) and X.has_provenance:
            X = X.sentences
        sentences = check_sentences(self, X, reset=False)
        embeddings = embed_sentences(self.encoder_, sentences, batch_size=self.batch_size, device=self.net_.device,
                                     precision=self.precision)
        return ECGEmbeddings(embeddings, sentences=sentences, pretrainer=self, producer=type(self).__name__)

    def _copy_initial_weights(self, module):
        source = self.init_from.net_.module_.model
        if self.architecture == "official":
            # lm_head sits inside the official encoder: copy it only when the vocabulary sizes match.
            target = module.model.encoder.state_dict()
            state = {k: v for k, v in source.encoder.state_dict().items() if v.shape == target[k].shape}
            module.model.encoder.load_state_dict(state, strict=False)
            return
        module.model.encoder.load_state_dict(source.encoder.state_dict())
        if source.head.weight.shape == module.model.head.weight.shape:
            module.model.head.load_state_dict(source.head.state_dict())

    @torch.inference_mode()
    def score(self, X, y=None):
        """Masked-word accuracy on ``X`` (fixed mask, seed 0): higher is better."""
        check_is_fitted(self, "net_")
        if self.vocabulary_ is None:
            raise ValueError("score needs the vocabulary's target words; this pretrainer has none")
        sentences = check_sentences(self, X, reset=False)
        words = self.vocabulary_.transform(sentences)
        objective = self.net_.module_
        model = objective.model.eval()
        device = self.net_.device
        generator = torch.Generator().manual_seed(0)
        hits = total = 0
        for batch in device_batches(sentences, self.batch_size, device, words=words,
                                    **self._beat_times(sentences)):
            mask = objective.draw_mask(batch["leads"], generator)
            rhythm = {"beat_times": batch["beat_times"]} if "beat_times" in batch else {}
            logits = model(batch["tokens"], batch["leads"], batch["times"], mask, only_masked=True, **rhythm)
            target = batch["words"][mask]
            keep = target >= 0
            hits += int((logits.argmax(-1)[keep] == target[keep]).sum())
            total += int(keep.sum())
        return hits / total if total else float("nan")

    # -- the released checkpoints ------------------------------------------------------------------
    @classmethod
    def from_official(cls, path, vocabulary=None, *, device="auto", head_dim=None):
        """A fitted pretrainer holding a released masked-pre-training checkpoint (``architecture="official"``).

        The file is read with ``torch.load(weights_only=True)`` only; depth, heads, widths and
        vocabulary size are inferred from its tensors (see
        :func:`~heartlang_sk.models.heartlang_official.read_official_checkpoint`).
        ``HeartLangEmbedder(pre, pooling="cls")`` then gives the official model's CLS state, the
        representation of the official linear probe.

        Parameters
        ----------
        path : str or Path
            The masked-pre-training ``.pth`` file (weights under ``"model"``).
        vocabulary : ECGVocabulary or None, default=None
            The fitted vocabulary whose words ``lm_head`` predicts (e.g.
            ``ECGVocabulary.from_official(vq_path)``), for :meth:`score` and continued
            pre-training; not needed to embed. The official pre-training computed its target words
            without the lead and time indices; ``ECGVocabulary.transform`` uses them (as the
            VQ-HBR was trained), so :meth:`score` of the released pair measures a close but not
            identical task.
        device : str, default="auto"
        head_dim : int or None, default=None
            Attention head width for files that do not record it (default 64, the official value).

        Returns
        -------
        HeartLangPretrainer
            Fitted; its ``history_`` is empty. It has no ``n_leads_in_``: like the official code
            (fine-tuned on 1-, 3-, 6- and 12-lead PTB-XL), it reads sentences of any number of
            leads (lead indices up to 15).

        Raises
        ------
        ValueError
            One line naming the problem: missing file, not a checkpoint, a missing/unexpected key,
            a wrong shape, a VQ-HBR checkpoint (use ``ECGVocabulary.from_official``), or a
            vocabulary of another size than ``lm_head``.
        """
        return official.pretrainer_from_official(cls, path, vocabulary, device=device, head_dim=head_dim)

    def to_official(self, path):
        """Write this fitted ``architecture="official"`` pretrainer as an official masked-pre-training
        checkpoint (``{"model": state_dict}``), which the official scripts and :meth:`from_official` read."""
        check_is_fitted(self, "net_")
        official.estimator_to_official(self, path)
