"""Masked-word prediction, shared by every architecture's pre-training objective.

Contract: :class:`MaskedWordObjective` holds a word predictor ``model`` — any module called as
``model(tokens, leads, times, mask_positions, only_masked=True)`` that returns one row of word
logits per masked token — draws the mask (``mask_ratio`` of each sentence's real beats, or of its
leads; never padding) and returns the loss terms the training history records: ``loss``,
``masked_accuracy`` and ``n_masked``. :func:`masked_word_loss` is the cross-entropy itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .masking import random_lead_mask, random_token_mask

__all__ = ["MASK_UNITS", "MaskedWordObjective", "masked_word_loss"]

#: What a mask covers: single beats (the paper) or every beat of a share of the leads.
MASK_UNITS = ("token", "lead")


def masked_word_loss(logits, targets, mask_positions):
    """Cross-entropy of the masked tokens' word predictions.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, l, K) or (n_masked, K)
        Word logits of every token, or of the masked ones only.
    targets : torch.Tensor of shape (B, l), int64
        Word index per token (-1 at padding: ignored).
    mask_positions : torch.Tensor of shape (B, l), bool

    Returns
    -------
    dict of str to torch.Tensor
        ``loss`` (mean over masked tokens with a target; 0 when there is
        none), ``accuracy`` (top-1, same tokens) and ``n_targets``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[4.0, 0.0], [0.0, 4.0]])
    >>> out = masked_word_loss(logits, torch.tensor([[0, 0]]), torch.tensor([[True, True]]))
    >>> float(out["accuracy"]), int(out["n_targets"])
    (0.5, 2)
    """
    mask_positions = mask_positions.bool()
    if logits.ndim == 3:
        logits = logits[mask_positions]
    selected = targets[mask_positions].long()
    if logits.shape[0] != selected.shape[0]:
        raise ValueError(f"{logits.shape[0]} logit rows for {selected.shape[0]} masked tokens")
    keep = selected >= 0
    n_targets = keep.sum()
    if int(n_targets) == 0:
        zero = logits.sum() * 0.0
        return {"loss": zero, "accuracy": zero.detach(), "n_targets": n_targets}
    loss = F.cross_entropy(logits[keep].float(), selected[keep])
    with torch.no_grad():
        accuracy = (logits[keep].argmax(dim=-1) == selected[keep]).float().mean()
    return {"loss": loss, "accuracy": accuracy, "n_targets": n_targets}


class MaskedWordObjective(nn.Module):
    """Mask beats, predict their words with ``model``, return the loss terms (see the module).

    Parameters
    ----------
    model : torch.nn.Module
        The word predictor (an architecture's encoder with its word head).
    mask_ratio : float, default=0.5
    mask_unit : {"token", "lead"}, default="token"
    """

    def __init__(self, model, mask_ratio=0.5, mask_unit="token"):
        super().__init__()
        if mask_unit not in MASK_UNITS:
            raise ValueError(f"mask_unit must be one of {sorted(MASK_UNITS)}, got {mask_unit!r}")
        self.model = model
        self.mask_ratio = float(mask_ratio)
        self.mask_unit = mask_unit

    def draw_mask(self, leads, generator=None):
        """The positions to mask, (B, l) bool, by ``mask_unit`` (never padding)."""
        if self.mask_unit == "lead":
            return random_lead_mask(leads, self.mask_ratio, generator)
        return random_token_mask(leads == 0, self.mask_ratio, generator)

    def forward(self, tokens, leads, times, words):
        mask = self.draw_mask(leads)
        logits = self.model(tokens, leads, times, mask, only_masked=True)
        terms = masked_word_loss(logits, words, mask)
        return {"loss": terms["loss"], "masked_accuracy": terms["accuracy"].float(),
                "n_masked": terms["n_targets"].float()}
