"""Rhythm the encoder can see: each beat's R-peak time and RR intervals, as features and an embedding.

HeartLang's temporal embedding indexes whole seconds (at most ~10 values in a 10 s record), so the
RR interval between two beats, which rhythm classes turn on, is nearly invisible to the encoder.
Here each token gets, from the R-peak times of its own lead (the sentence is lead-major, so a
lead's beats are consecutive tokens):

- the RR interval to the previous and to the next beat of the same lead, as ``log(RR / 0.8 s)``
  (a beat at the edge of its lead takes its other interval; a lone beat gets 0), with a flag per
  side saying whether it was measured;
- ``log(RR_next / RR_prev)``, the beat-to-beat change (premature beats, atrial fibrillation);
- Fourier features of the R-peak time itself (periods 0.25 s to 16 s), a continuous position at
  the tokenizer's resolution instead of the whole second.

Contract: inputs ``beat_times`` float (B, l), R-peak time in seconds; ``leads`` int (B, l), 0 at
padding. Padding tokens get all-zero features and never take part in a neighbour's interval.
"""

import math

import torch
from torch import nn

__all__ = ["REFERENCE_RR", "RhythmEmbedding", "beat_intervals", "record_rhythm_statistics",
           "rhythm_features"]

REFERENCE_RR = 0.8
"""Seconds; RR intervals enter as ``log(RR / REFERENCE_RR)`` (0 at 75 bpm)."""

N_INTERVAL_FEATURES = 5


def beat_intervals(beat_times, leads):
    """RR interval (seconds) to the previous and next beat of the same lead.

    Parameters
    ----------
    beat_times : torch.Tensor of shape (B, l), float
        R-peak time of each token in seconds.
    leads : torch.Tensor of shape (B, l), integer
        Lead of each token, 0 at padding.

    Returns
    -------
    previous, following : torch.Tensor of shape (B, l), float
        Intervals, NaN where the beat has no neighbour on that side in its lead.

    Examples
    --------
    >>> import torch
    >>> times = torch.tensor([[0.5, 1.3, 2.0, 0.5, 1.3, 0.0]])
    >>> leads = torch.tensor([[1, 1, 1, 2, 2, 0]])
    >>> previous, following = beat_intervals(times, leads)
    >>> previous
    tensor([[   nan, 0.8000, 0.7000,    nan, 0.8000,    nan]])
    """
    beat_times = beat_times.float()
    real = leads > 0
    same = real[:, 1:] & (leads[:, 1:] == leads[:, :-1])  # token k+1 follows token k in its lead
    gaps = beat_times[:, 1:] - beat_times[:, :-1]
    same = same & (gaps > 0)
    gaps = torch.where(same, gaps, torch.full_like(gaps, float("nan")))
    nan_column = torch.full_like(beat_times[:, :1], float("nan"))
    previous = torch.cat([nan_column, gaps], dim=1)
    following = torch.cat([gaps, nan_column], dim=1)
    return previous, following


def rhythm_features(beat_times, leads, n_frequencies=8):
    """Per-token rhythm features: RR intervals, their change, their flags and Fourier time.

    Parameters
    ----------
    beat_times : torch.Tensor of shape (B, l), float
    leads : torch.Tensor of shape (B, l), integer
    n_frequencies : int, default=8
        Fourier periods, geometric from 0.25 s to 16 s (sine and cosine each).

    Returns
    -------
    torch.Tensor of shape (B, l, 5 + 2 * n_frequencies)
        ``[log RR_prev, log RR_next, log(RR_next/RR_prev), has_prev, has_next, sin..., cos...]``;
        zeros at padding.

    Examples
    --------
    >>> import torch
    >>> times = torch.tensor([[0.5, 1.3, 2.1]]); leads = torch.ones(1, 3, dtype=torch.long)
    >>> f = rhythm_features(times, leads)
    >>> f.shape, round(float(f[0, 1, 0]), 4)  # log(0.8 / 0.8): a regular 75 bpm beat
    (torch.Size([1, 3, 21]), 0.0)
    """
    previous, following = beat_intervals(beat_times, leads)
    has_prev, has_next = ~torch.isnan(previous), ~torch.isnan(following)
    log_prev = torch.log(previous.clamp_min(1e-3) / REFERENCE_RR)
    log_next = torch.log(following.clamp_min(1e-3) / REFERENCE_RR)
    zeros = torch.zeros_like(log_prev)
    log_prev = torch.where(has_prev, log_prev, torch.where(has_next, log_next, zeros))
    log_next = torch.where(has_next, log_next, torch.where(has_prev, log_prev, zeros))
    periods = 0.25 * torch.logspace(0, math.log2(64), n_frequencies, base=2.0, device=beat_times.device)
    phase = 2 * math.pi * beat_times.float()[..., None] / periods
    features = torch.cat([torch.stack([log_prev, log_next, log_next - log_prev, has_prev.float(),
                                       has_next.float()], dim=-1), phase.sin(), phase.cos()], dim=-1)
    return features * (leads > 0)[..., None].to(features.dtype)


def record_rhythm_statistics(beat_times, leads):
    """Per sentence: mean and std of ``log(RR / 0.8 s)`` and the mean ``|log(RR_next / RR_prev)|``.

    Self-supervised rhythm targets (no labels: only the tokenizer's R peaks), over every measured
    interval of every lead. A sentence with no interval gets zeros.

    Returns
    -------
    torch.Tensor of shape (B, 3)

    Examples
    --------
    >>> import torch
    >>> times = torch.tensor([[0.0, 0.8, 1.6, 2.4]]); leads = torch.ones(1, 4, dtype=torch.long)
    >>> record_rhythm_statistics(times, leads).abs().sum().item()  # regular 75 bpm: all zero
    0.0
    """
    previous, following = beat_intervals(beat_times, leads)
    valid = ~torch.isnan(previous)
    log_rr = torch.where(valid, torch.log(previous.clamp_min(1e-3) / REFERENCE_RR), torch.zeros_like(previous))
    count = valid.sum(dim=1).clamp_min(1).to(log_rr.dtype)
    mean = log_rr.sum(dim=1) / count
    variance = ((log_rr - mean[:, None]) ** 2 * valid).sum(dim=1) / count
    both = valid & ~torch.isnan(following)
    change = torch.where(both, torch.log(following.clamp_min(1e-3) / previous.clamp_min(1e-3)).abs(),
                         torch.zeros_like(previous))
    mean_change = change.sum(dim=1) / both.sum(dim=1).clamp_min(1).to(change.dtype)
    return torch.stack([mean, variance.sqrt(), mean_change], dim=1)


class RhythmEmbedding(nn.Module):
    """Linear embedding of :func:`rhythm_features`, added to each beat's embedding.

    Parameters
    ----------
    embed_dim : int
    n_frequencies : int, default=8

    Examples
    --------
    >>> import torch
    >>> embedding = RhythmEmbedding(16)
    >>> times = torch.tensor([[0.5, 1.3, 0.0]]); leads = torch.tensor([[1, 1, 0]])
    >>> out = embedding(times, leads)
    >>> out.shape, bool((out[0, 2] == 0).all())  # padding gets nothing
    (torch.Size([1, 3, 16]), True)
    """

    def __init__(self, embed_dim, n_frequencies=8):
        super().__init__()
        self.n_frequencies = int(n_frequencies)
        self.proj = nn.Linear(N_INTERVAL_FEATURES + 2 * self.n_frequencies, embed_dim, bias=False)

    def forward(self, beat_times, leads):
        features = rhythm_features(beat_times, leads, self.n_frequencies)
        return self.proj(features.to(self.proj.weight.dtype))
