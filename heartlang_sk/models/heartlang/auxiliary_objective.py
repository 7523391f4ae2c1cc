"""Masked pre-training with targets beside the word (beyond the paper): rhythm and waveform.

The paper's objective asks only for each masked beat's ECG word, a morphology label: nothing in it
needs the RR intervals that rhythm classes turn on, and one index of 2,048 words keeps little of a
beat's amplitude. :class:`AuxiliaryPretrainingObjective` adds regression terms computed from the
sentences themselves (self-supervised, no labels).

A rhythm term, from the tokenizer's own R peaks:

- ``rhythm_target="beat"``: each masked beat's ``log(RR / 0.8 s)`` to its previous and next beat in
  its lead (:func:`~heartlang_sk.nn.rhythm.beat_intervals`), read from its token state;
- ``rhythm_target="record"``: the sentence's mean and spread of ``log RR`` and its mean beat-to-beat
  change (:func:`~heartlang_sk.nn.rhythm.record_rhythm_statistics`), read linearly from the mean of
  the token states, the vector the linear probe sees.

A waveform term (``waveform_weight > 0``): each masked beat's samples, regressed linearly from its
token state (as a masked autoencoder does); the loss is the mean squared error divided by the
batch's variance of those samples, so it reads as the share of the masked waveform not explained
(1 - R²).

``loss = word_loss + rhythm_weight * rhythm_loss + waveform_weight * waveform_loss``; every term is
returned (and so recorded in the history) on its own. Targets are divided by fixed scales so that the rhythm term starts near 1.
With ``temporal_encoding="rhythm"`` a masked beat's own rhythm embedding is hidden with its
waveform; its neighbours' intervals and the same beat in other leads remain visible, as its word's
evidence does in the paper's objective.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ...nn.pooling import masked_mean
from ...nn.rhythm import REFERENCE_RR, beat_intervals, record_rhythm_statistics
from ...nn.masked_words import masked_word_loss
from .objectives import PretrainingObjective

__all__ = ["RHYTHM_TARGETS", "AuxiliaryPretrainingObjective", "masked_waveform_loss"]

RHYTHM_TARGETS = ("none", "beat", "record")
_BEAT_SCALE = 0.2
_RECORD_SCALES = (0.2, 0.1, 0.1)


def masked_waveform_loss(prediction, target):
    """Mean squared error of masked beats' samples over their variance (1 - R², batch-wise).

    Parameters
    ----------
    prediction, target : torch.Tensor of shape (n_masked, t)

    Returns
    -------
    torch.Tensor
        A scalar; 0 (with a gradient path) when nothing is masked.

    Examples
    --------
    >>> import torch
    >>> target = torch.tensor([[0.0, 2.0], [2.0, 0.0]])
    >>> float(masked_waveform_loss(target.clone(), target)), float(masked_waveform_loss(target * 0 + 1, target))
    (0.0, 1.0)
    """
    if target.shape[0] == 0:
        return prediction.sum() * 0.0
    variance = target.detach().var(unbiased=False).clamp_min(1e-6)
    return F.mse_loss(prediction, target) / variance


class AuxiliaryPretrainingObjective(PretrainingObjective):
    """Masked word prediction plus optional rhythm and waveform regressions; takes ``beat_times``.

    Parameters
    ----------
    encoder_config : str or dict
    n_words : int
    mask_ratio : float, default=0.5
    mask_unit : {"token", "lead"}, default="token"
    rhythm_target : {"none", "beat", "record"}, default="none"
        See the module docstring; ``"none"`` is the paper's loss (useful with an encoder of
        ``temporal_encoding="rhythm"``, which needs ``beat_times``).
    rhythm_weight : float, default=1.0
    waveform_weight : float, default=0.0
        Weight of the masked-waveform term; ``0`` leaves it out.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> objective = AuxiliaryPretrainingObjective({"size": "tiny", "depth": 1, "temporal_encoding": "rhythm"},
    ...                                           n_words=16, rhythm_target="record", waveform_weight=1.0)
    >>> tokens = torch.randn(2, 8, 96)
    >>> leads = torch.tensor([[1, 1, 1, 2, 2, 2, 0, 0]] * 2); times = (leads > 0).long()
    >>> beat_times = torch.tensor([[0.5, 1.3, 2.0, 0.5, 1.3, 2.0, 0, 0]] * 2)
    >>> words = torch.randint(0, 16, (2, 8)).masked_fill(leads == 0, -1)
    >>> out = objective(tokens, leads, times, words, beat_times)
    >>> sorted(k for k in out if k.endswith("loss"))
    ['loss', 'rhythm_loss', 'waveform_loss', 'word_loss']
    >>> out["loss"].backward()
    """

    def __init__(self, encoder_config, n_words, mask_ratio=0.5, mask_unit="token", rhythm_target="none",
                 rhythm_weight=1.0, waveform_weight=0.0):
        super().__init__(encoder_config, n_words, mask_ratio=mask_ratio, mask_unit=mask_unit)
        if rhythm_target not in RHYTHM_TARGETS:
            raise ValueError(f"rhythm_target must be one of {RHYTHM_TARGETS}, got {rhythm_target!r}")
        self.rhythm_target = rhythm_target
        self.rhythm_weight = float(rhythm_weight)
        width = self.model.encoder.embed_dim
        self.rhythm_head = (None if rhythm_target == "none"
                            else nn.Linear(width, 2 if rhythm_target == "beat" else len(_RECORD_SCALES)))
        self.waveform_weight = float(waveform_weight)
        self.waveform_head = nn.Linear(width, self.model.encoder.t) if self.waveform_weight > 0 else None

    def rhythm_loss(self, hidden, padding_mask, mask, leads, beat_times):
        """Mean squared error of the scaled rhythm targets (see the module docstring)."""
        if self.rhythm_target == "beat":
            previous, following = beat_intervals(beat_times, leads)
            target = torch.log(torch.stack([previous, following], dim=-1) / REFERENCE_RR)[mask] / _BEAT_SCALE
            prediction = self.rhythm_head(hidden[mask]).float()
            valid = ~torch.isnan(target)
            if not bool(valid.any()):
                return prediction.sum() * 0.0
            return F.mse_loss(prediction[valid], target[valid])
        target = record_rhythm_statistics(beat_times, leads) / target_scales(beat_times)
        prediction = self.rhythm_head(masked_mean(hidden, padding_mask)).float()
        return F.mse_loss(prediction, target)

    def forward(self, tokens, leads, times, words, beat_times=None):
        mask = self.draw_mask(leads)
        output = self.model.encoder(tokens, leads, times, mask, beat_times=beat_times)
        logits = self.model.head(output.hidden[mask])
        terms = masked_word_loss(logits, words, mask)
        result = {"word_loss": terms["loss"].detach(), "masked_accuracy": terms["accuracy"].float(),
                  "n_masked": terms["n_targets"].float()}
        loss = terms["loss"]
        if self.rhythm_head is not None:
            if beat_times is None:
                raise ValueError(f"rhythm_target={self.rhythm_target!r} needs beat_times")
            rhythm = self.rhythm_loss(output.hidden.float(), output.padding_mask, mask, leads, beat_times.float())
            loss = loss + self.rhythm_weight * rhythm
            result["rhythm_loss"] = rhythm.detach()
        if self.waveform_head is not None:
            prediction = self.waveform_head(output.hidden[mask]).float()
            waveform = masked_waveform_loss(prediction, tokens[mask].float())
            loss = loss + self.waveform_weight * waveform
            result["waveform_loss"] = waveform.detach()
        result["loss"] = loss
        return result


#: The class's name before it held the waveform term (models saved with joblib name it).
RhythmPretrainingObjective = AuxiliaryPretrainingObjective


def target_scales(reference):
    """The record targets' fixed scales as a tensor on ``reference``'s device."""
    return torch.tensor(_RECORD_SCALES, device=reference.device)
