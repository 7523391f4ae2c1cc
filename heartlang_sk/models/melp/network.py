"""The MELP network: ECG tower, text tower, projections into one space, and the training objective.

Contract: :class:`AlignmentObjective` is the module a skorch net trains. ``forward`` takes a batch
of ECG sentences (``tokens``, ``leads``, ``times``) and of tokenized reports (``text_ids``,
``text_ngrams``, ``text_phrases``, ``caption_ids``, ``report_keys``) and returns a dict of scalars:
``loss`` (the weighted sum of the selected terms) and each selected term (``global_loss``,
``local_loss``, ``caption_loss``), plus ``temperature`` (1 / the learnable logit scale). The
``encode_ecg`` / ``encode_text`` methods give unit vectors in the shared space; ``ecg_features``
the pooled ECG tower output (the features of a linear probe). An ECG tower with
``temporal_encoding="rhythm"`` also needs ``beat_times`` (float (B, l), each token's R-peak time in
seconds) in ``forward`` and in every ECG method; the ``"second"`` tower ignores it.

The ECG tower is the ST-ECGFormer of the HeartLang family (so a HeartLang pre-trained encoder can
start it); beats are the mean over leads of a beat's tokens (:func:`~.losses.beat_means`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...nn import masked_mean
from ..heartlang.ecgformer import ECGFormer, resolve_ecgformer_config
from .losses import (CaptionDecoder, beat_means, caption_loss, global_contrastive_loss, local_contrastive_loss,
                     same_report_targets)
from .text_towers import BuiltinTextTower, FrozenVectorTower, HuggingFaceTextTower

__all__ = ["AlignmentObjective", "LOSSES"]

#: The three supervision scales MELP combines.
LOSSES = ("global", "local", "caption")


def _projection(width, dim):
    return nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, dim))


class AlignmentObjective(nn.Module):
    """ECG–report alignment with MELP's global, local and caption losses.

    Parameters
    ----------
    encoder_config : str or dict
        The ECG tower (:class:`~heartlang_sk.models.heartlang.ecgformer.ECGFormer`).
    text_tower : dict
        ``{"kind": "builtin", "n_words", "n_buckets", "width", "depth", "word_dropout"}`` or
        ``{"kind": "huggingface", "path", "freeze_layers"}`` or ``{"kind": "frozen", "width"}``
        (precomputed sentence vectors).
    n_caption_words : int
        Output vocabulary of the caption decoder (the built-in tokenizer's words).
    losses : tuple of str, default=LOSSES
    embed_dim : int, default=128
        Width of the shared ECG–text space.
    caption_depth : int, default=1
    max_words : int, default=64
    loss_weights : dict, optional
        Weight of each term in ``loss`` (default 1 each, as in MELP).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> objective = AlignmentObjective({"size": "tiny", "depth": 1},
    ...     {"kind": "builtin", "n_words": 10, "n_buckets": 16, "width": 64, "depth": 1}, n_caption_words=10,
    ...     max_words=4)
    >>> tokens = torch.randn(2, 6, 96); leads = torch.tensor([[1, 1, 2, 2, 0, 0]] * 2); times = (leads > 0).long()
    >>> text = dict(text_ids=torch.tensor([[4, 5, 0, 0], [6, 7, 8, 0]]), text_ngrams=torch.randint(1, 17, (2, 4, 3)),
    ...             text_phrases=torch.tensor([[0, 0, -1, -1], [0, 1, 1, -1]]),
    ...             caption_ids=torch.tensor([[4, 5, 0, 0], [6, 7, 8, 0]]), report_keys=torch.tensor([0, 1]))
    >>> out = objective(tokens, leads, times, **text)
    >>> sorted(out)
    ['caption_loss', 'global_loss', 'local_loss', 'loss', 'temperature']
    >>> out["loss"].backward()
    """

    def __init__(self, encoder_config, text_tower, n_caption_words, losses=LOSSES, embed_dim=128, caption_depth=1,
                 max_words=64, loss_weights=None):
        super().__init__()
        unknown = set(losses) - set(LOSSES)
        if unknown or not losses:
            raise ValueError(f"losses must be a non-empty subset of {LOSSES}, got {tuple(losses)!r}")
        self.losses = tuple(losses)
        self.loss_weights = {name: 1.0 for name in LOSSES} | dict(loss_weights or {})
        self.ecg = ECGFormer(**resolve_ecgformer_config(encoder_config))
        width = self.ecg.embed_dim
        config = dict(text_tower)
        kind = config.pop("kind")
        if kind == "builtin":
            self.text = BuiltinTextTower(**config)
        elif kind == "huggingface":
            self.text = HuggingFaceTextTower(**config)
        elif kind == "frozen":
            self.text = FrozenVectorTower(**config)
        else:
            raise ValueError(f"unknown text tower kind {kind!r}")
        self.ecg_projection = _projection(width, embed_dim)
        self.text_projection = _projection(self.text.width, embed_dim)
        # CLIP's initial temperature 0.07.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        if "local" in self.losses:
            self.beat_projection = nn.Linear(width, embed_dim)
            self.phrase_projection = nn.Linear(self.text.width, embed_dim)
        if "caption" in self.losses:
            self.caption = CaptionDecoder(n_caption_words, width, width=min(width, 256), depth=caption_depth,
                                          num_heads=4, max_length=max_words + 1)

    # -- the two towers in the shared space --------------------------------------------------------
    def ecg_features(self, tokens, leads, times, beat_times=None):
        """ECG tower output and its mean over real tokens (B, D)."""
        output = self.ecg(tokens, leads, times, beat_times=beat_times)
        return output, masked_mean(output.hidden, output.padding_mask)

    def encode_ecg(self, tokens, leads, times, beat_times=None):
        """Unit ECG vectors (B, embed_dim)."""
        pooled = self.ecg_features(tokens, leads, times, beat_times)[1]
        return F.normalize(self.ecg_projection(pooled).float(), dim=-1)

    def encode_text(self, text_ids, text_ngrams, text_phrases):
        """Unit report vectors (B, embed_dim)."""
        return F.normalize(self.text_projection(self.text(text_ids, text_ngrams, text_phrases).pooled).float(), dim=-1)

    # -- training ----------------------------------------------------------------------------------
    def forward(self, tokens, leads, times, text_ids, text_ngrams, text_phrases, caption_ids, report_keys,
                beat_times=None):
        output, pooled = self.ecg_features(tokens, leads, times, beat_times)
        text = self.text(text_ids, text_ngrams, text_phrases)
        targets = same_report_targets(report_keys)
        terms = {}
        if "global" in self.losses:
            terms["global_loss"] = global_contrastive_loss(self.ecg_projection(pooled), self.text_projection(text.pooled),
                                                           self.logit_scale, targets)
        if "local" in self.losses:
            beats, beat_mask = beat_means(output.hidden, leads, output.padding_mask)
            terms["local_loss"], _ = local_contrastive_loss(self.beat_projection(beats), beat_mask,
                                                            self.phrase_projection(text.phrases), text.phrase_mask,
                                                            targets=targets)
        if "caption" in self.losses:
            logits, caption_targets = self.caption(output.hidden, output.padding_mask, caption_ids)
            terms["caption_loss"] = caption_loss(logits, caption_targets)
        loss = sum(self.loss_weights[name] * terms[f"{name}_loss"] for name in self.losses)
        with torch.no_grad():
            temperature = 1.0 / self.logit_scale.exp().clamp(max=100.0)
        return {"loss": loss, **terms, "temperature": temperature.detach().float()}
