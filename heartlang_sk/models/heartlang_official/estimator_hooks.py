"""The official architecture inside this toolkit's estimators: sizes, network configs, checkpoints.

``ECGVocabulary``, ``HeartLangPretrainer`` (``architecture="official"``) and
``HeartLangClassifier`` (fine-tuning an official pretrainer) call these functions; this module
never imports those estimators (they pass their class or themselves in).

Contract:

* ``size`` names the widths of the official networks: ``"tiny"``/``"small"``/``"base"``/``"large"``
  the widths, heads and MLP of :data:`~heartlang_sk.models.heartlang.ecgformer.ECGFORMER_SIZES`;
  ``"released"`` those of the released checkpoints (pre-training: width 768, 12 blocks, 8 heads x
  64, MLP 1,024; VQ-HBR: width 768, 2 heads x 64, MLP 2,048, encoder 4 and decoder 2 blocks).
* :func:`pretrainer_from_official` / :func:`vocabulary_from_official` return *fitted* estimators
  holding the checkpoint's weights exactly; :func:`estimator_to_official` writes one back in the
  official layout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..heartlang.ecgformer import ECGFORMER_SIZES
from .objectives import (OfficialClassificationObjective, OfficialPretrainingObjective,
                         OfficialVocabularyObjective)
from .vqhbr import OfficialVQHBR
from .weights import PRETRAINING, VQHBR, read_official_checkpoint, write_official_checkpoint

__all__ = ["ARCHITECTURES", "OFFICIAL_SIZE_NAMES", "classifier_objective", "estimator_to_official",
           "official_widths", "pretrainer_from_official", "pretraining_module_params", "vocabulary_from_official",
           "vocabulary_module_params"]

ARCHITECTURES = ("heartlang", "official")
"""``architecture`` values: this toolkit's ST-ECGFormer / VQ-HBR, or the released code's."""

_RELEASED = {
    PRETRAINING: dict(embed_dim=768, heads=8, head_dim=64, mlp_dim=1024, depth=12),
    VQHBR: dict(embed_dim=768, heads=2, head_dim=64, mlp_dim=2048),
}
OFFICIAL_SIZE_NAMES = (*ECGFORMER_SIZES, "released")
"""``size`` values an ``architecture="official"`` estimator takes."""

_WIDTHS = ("embed_dim", "heads", "head_dim", "mlp_dim")


def official_widths(size, kind):
    """Width, heads, head width, MLP (and default depth) of a named size for ``kind``'s network."""
    if size == "released":
        return dict(_RELEASED[kind])
    if size not in ECGFORMER_SIZES:
        raise ValueError(f"size must be one of {OFFICIAL_SIZE_NAMES}, got {size!r}")
    named = ECGFORMER_SIZES[size]
    return dict(embed_dim=named["embed_dim"], heads=named["num_heads"], head_dim=named["head_dim"],
                mlp_dim=named["mlp_dim"], depth=named["depth"])


def _size_of(config, kind):
    """The size name whose widths are ``config``'s, or None."""
    for name in ("released", *ECGFORMER_SIZES):
        widths = official_widths(name, kind)
        if all(config[key] == widths[key] for key in _WIDTHS):
            return name
    return None


def _index_rows(sentences):
    return max(16, int(sentences.leads.max(initial=0)) + 1, int(sentences.times.max(initial=0)) + 1)


def pretraining_module_params(estimator, sentences, n_words):
    """``OfficialPretrainingObjective`` arguments of a ``HeartLangPretrainer(architecture="official")``."""
    widths = official_widths(estimator.size, PRETRAINING)
    depth = widths.pop("depth") if estimator.depth is None else int(estimator.depth)
    widths.pop("depth", None)
    network = dict(widths, depth=depth, n_positions=sentences.shape[1] + 1, in_channels=sentences.t,
                   n_words=n_words, index_rows=_index_rows(sentences), dropout=0.1, emb_dropout=0.1)
    return {"network_config": network, "mask_ratio": estimator.mask_ratio, "mask_unit": estimator.mask_unit}


def vocabulary_module_params(estimator, sentences):
    """``OfficialVocabularyObjective`` arguments of an ``ECGVocabulary(architecture="official")``."""
    widths = official_widths(estimator.size, VQHBR)
    widths.pop("depth", None)
    shared = dict(widths, n_positions=sentences.shape[1] + 1, index_rows=_index_rows(sentences))
    return {"encoder": dict(shared, depth=estimator.encoder_depth), "decoder": dict(shared, depth=estimator.decoder_depth),
            "n_words": estimator.n_words, "word_dim": estimator.word_dim, "t": sentences.t,
            "decay": estimator.decay, "beta": estimator.beta}


def classifier_objective(pretrainer):
    """Objective class and network config for fine-tuning an official pretrainer's encoder."""
    network = {k: v for k, v in pretrainer.encoder_.config().items() if k not in ("n_words", "zero_empty_tokens")}
    return OfficialClassificationObjective, network


def _named_size(config, kind, path):
    size = _size_of(config, kind)
    if size is None:
        warnings.warn(f"{path}: the checkpoint's widths (embed_dim {config['embed_dim']}, {config['heads']} heads x "
                      f"{config['head_dim']}, MLP {config['mlp_dim']}) match no named size; the estimator's size "
                      "says 'released', so refitting a clone of it trains the released widths", UserWarning,
                      stacklevel=3)
        size = "released"
    return size


def _checkpoint(path, kind, head_dim):
    checkpoint = read_official_checkpoint(path, head_dim=head_dim)
    if checkpoint.kind != kind:
        other = "ECGVocabulary" if checkpoint.kind == VQHBR else "HeartLangPretrainer"
        raise ValueError(f"{path} is a {checkpoint.kind} checkpoint, not a {kind} one: load it with "
                         f"{other}.from_official")
    return checkpoint


def pretrainer_from_official(cls, path, vocabulary=None, device="auto", head_dim=None):
    """A fitted ``HeartLangPretrainer(architecture="official")`` holding a masked-pre-training checkpoint."""
    checkpoint = _checkpoint(path, PRETRAINING, head_dim)
    config = checkpoint.config
    if vocabulary is not None and getattr(vocabulary, "codebook_", None) is not None \
            and vocabulary.codebook_.shape[0] != config["n_words"]:
        raise ValueError(f"the vocabulary has {vocabulary.codebook_.shape[0]} words, the checkpoint's lm_head "
                         f"predicts {config['n_words']}")
    size = _named_size(config, PRETRAINING, path)
    widths = official_widths(size, PRETRAINING)
    depth = None if widths.get("depth") == config["depth"] else config["depth"]
    pretrainer = cls(vocabulary, size, depth=depth, use_cls=True, architecture="official", device=device)
    network = dict(config, dropout=0.1, emb_dropout=0.1)
    module_params = {"network_config": network, "mask_ratio": pretrainer.mask_ratio,
                     "mask_unit": pretrainer.mask_unit}
    pretrainer.net_ = pretrainer._make_net(OfficialPretrainingObjective, module_params, seed=0, validation=None)
    pretrainer.net_.initialize()
    pretrainer.net_.module_.model.encoder.load_state_dict(checkpoint.state_dict, strict=True)
    pretrainer.vocabulary_ = vocabulary
    pretrainer.encoder_ = pretrainer.net_.module_.model.encoder
    pretrainer.embed_dim_ = int(config["embed_dim"])
    pretrainer.n_features_in_ = int(config["in_channels"])
    # No n_leads_in_: like the official code (fine-tuned on 1-, 3-, 6- and 12-lead PTB-XL), the
    # released model reads sentences of any number of leads its lead table covers.
    pretrainer.history_ = pd.DataFrame()
    return pretrainer


def vocabulary_from_official(cls, path, device="auto", head_dim=None):
    """A fitted ``ECGVocabulary(architecture="official")`` holding a VQ-HBR checkpoint."""
    checkpoint = _checkpoint(path, VQHBR, head_dim)
    config = checkpoint.config
    encoder, decoder = config["encoder"], config["decoder"]
    size = _named_size(encoder, VQHBR, path)
    vocabulary = cls(size, encoder_depth=encoder["depth"], decoder_depth=decoder["depth"], n_words=config["n_words"],
                     word_dim=config["word_dim"], architecture="official", device=device)
    module_params = dict(config, decay=vocabulary.decay, beta=vocabulary.beta)
    vocabulary.net_ = vocabulary._make_net(OfficialVocabularyObjective, module_params, seed=0, validation=None)
    vocabulary.net_.initialize()
    vocabulary.net_.module_.model.load_state_dict(checkpoint.state_dict, strict=True)
    vocabulary.n_features_in_ = int(config["t"])
    vocabulary.codebook_ = vocabulary.net_.module_.model.quantize.codebook.detach().cpu().numpy().copy()
    # The checkpoint carries no training sentences to count words on.
    vocabulary.word_counts_ = np.zeros(config["n_words"], dtype=np.int64)
    vocabulary.n_active_words_ = 0
    vocabulary.perplexity_ = float("nan")
    vocabulary.history_ = pd.DataFrame()
    return vocabulary


def estimator_to_official(estimator, path):
    """Write a fitted official-architecture vocabulary or pretrainer in the official layout."""
    if getattr(estimator, "architecture", "heartlang") != "official":
        raise ValueError(f"to_official needs architecture='official'; this {type(estimator).__name__} has "
                         f"architecture={getattr(estimator, 'architecture', 'heartlang')!r}, whose weights the "
                         "official code cannot read")
    model = estimator.net_.module_.model
    write_official_checkpoint(model if isinstance(model, OfficialVQHBR) else model.encoder, path)
