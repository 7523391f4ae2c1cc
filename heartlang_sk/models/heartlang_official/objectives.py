"""Training objectives of the official architecture: every loss term and metric as a dict of scalars.

The same objectives as this toolkit's HeartLang (masked-word cross-entropy, VQ-HBR reconstruction
+ commitment, classification), returning the same terms, so the estimators, their history columns
and callbacks do not depend on the architecture. The networks inside are the official ones
(:class:`OfficialECGFormer`, :class:`OfficialVQHBR`), with the official key layout under
``.model.encoder`` (masked pre-training) and ``.model`` (VQ-HBR).

Training choices shared with this toolkit rather than the official scripts: masks never fall on
padding, and padding tokens never enter a loss or the codebook update.
"""

from __future__ import annotations

import torch
from torch import nn

from ...nn.pooling import masked_mean
from ...nn.label_objective import LabelObjective
from ...nn.masked_words import MaskedWordObjective
from ..heartlang.objectives import reconstruction_sums
from ..heartlang.vqhbr import vqhbr_loss
from .ecgformer import OfficialECGFormer
from .vqhbr import OfficialVQHBR

__all__ = ["OfficialClassificationObjective", "OfficialClassifierNetwork", "OfficialMaskedWordPredictor",
           "OfficialPretrainingObjective", "OfficialVocabularyObjective"]


class OfficialVocabularyObjective(nn.Module):
    """VQ-HBR training on the official network: reconstruction MSE over real beats + commitment.

    Parameters
    ----------
    **config
        :class:`OfficialVQHBR` arguments (the network is ``.model``).
    """

    def __init__(self, **config):
        super().__init__()
        self.model = OfficialVQHBR(**config)

    def forward(self, tokens, leads, times):
        output = self.model(tokens, leads, times)
        terms = vqhbr_loss(output, tokens)
        with torch.no_grad():
            terms.update(reconstruction_sums(output.reconstruction, tokens, output.padding_mask))
            terms["perplexity"] = output.perplexity.detach().float()
            terms["active_words"] = output.n_active.detach().float()
        return terms


class OfficialMaskedWordPredictor(nn.Module):
    """The official masked-pre-training model (``.encoder``, whose ``lm_head`` gives the word logits),
    called like this toolkit's ``MaskedWordPredictor``."""

    def __init__(self, **config):
        super().__init__()
        self.encoder = OfficialECGFormer(**config)

    def forward(self, tokens, leads, times, mask_positions=None, only_masked=False):
        """Word logits (B, l, n_words), or (n_masked, n_words) with ``only_masked``."""
        hidden = self.encoder(tokens, leads, times, mask_positions).hidden
        if only_masked:
            if mask_positions is None:
                raise ValueError("only_masked=True needs mask_positions")
            hidden = hidden[mask_positions.bool()]
        return self.encoder.word_logits(hidden)


class OfficialPretrainingObjective(MaskedWordObjective):
    """Masked ECG-sentence pre-training of the official ST-ECGFormer.

    ``mask_ratio`` of each sentence's real beats (or of its leads) take the mask token; ``lm_head``
    predicts their words; cross-entropy over the masked beats.

    Parameters
    ----------
    network_config : dict
        :class:`OfficialECGFormer` arguments (with ``n_words``).
    mask_ratio : float, default=0.5
    mask_unit : {"token", "lead"}, default="token"
    """

    def __init__(self, network_config, mask_ratio=0.5, mask_unit="token"):
        super().__init__(OfficialMaskedWordPredictor(**network_config), mask_ratio, mask_unit)


class OfficialClassifierNetwork(nn.Module):
    """Official encoder (no ``lm_head``) + dropout + a linear head on the CLS state or the mean of
    the real tokens' states (the official fine-tuning model with ``pooling="cls"``)."""

    def __init__(self, network_config, n_outputs, pooling="cls", dropout=0.0):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.pooling = pooling
        self.encoder = OfficialECGFormer(**{**network_config, "n_words": None})
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.embed_dim, n_outputs)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens, leads, times):
        out = self.encoder(tokens, leads, times)
        pooled = out.cls if self.pooling == "cls" else masked_mean(out.hidden, out.padding_mask)
        return self.head(self.dropout(pooled))


class OfficialClassificationObjective(LabelObjective):
    """Fine-tuning the official encoder: multi-label BCE or single-label cross-entropy, plus accuracy."""

    def __init__(self, network_config, n_outputs, multilabel=True, pooling="cls", dropout=0.0):
        super().__init__(OfficialClassifierNetwork(network_config, n_outputs, pooling=pooling, dropout=dropout),
                         multilabel)
