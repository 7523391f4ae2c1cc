"""Token embeddings of ECG sentences: a per-beat convolutional stem and lead/second embeddings.

The official HeartLang code convolves the flattened sentence, so its kernels
run across the border of neighbouring beats (with circular padding, even from
the last beat into the first). A masked beat's embedding then still carries
its neighbours' samples, and a beat's embedding depends on which beat happens
to sit next to it. :class:`BeatConvStem` convolves each beat on its own, with
zero padding inside the beat only.
"""

import torch
from torch import nn

__all__ = ["BeatConvStem", "LinearStem", "LeadTimeEmbedding"]


class BeatConvStem(nn.Module):
    """1-D convolutional stem applied to each beat independently (paper §2.2.1).

    ``(B, l, t) → (B*l, 1, t) → [Conv1d → GroupNorm → GELU] × 3 → flatten → Linear → (B, l, D)``,
    plus (``amplitude_path=True``) a linear projection of the raw beat, ``Linear(t → D)``, added to it.
    The first convolution is strided (default kernel 15, stride 8, as in
    LaBraM's temporal convolution); the next two keep the length.

    GroupNorm normalises each beat's feature maps, so the convolutional branch
    alone is (up to its biases) blind to the beat's amplitude: a beat and the
    same beat at twice the voltage embed alike. Voltage matters in an ECG
    (hypertrophy criteria, Q-wave depth, low-voltage QRS); the linear amplitude
    path carries the scale through.

    Parameters
    ----------
    t : int, default=96
        Samples per beat.
    embed_dim : int, default=64
        Output width D.
    channels : int, default=8
        Convolution channels.
    kernel_size : int, default=15
        Kernel of the first (strided) convolution; odd.
    stride : int, default=8
        Stride of the first convolution.
    norm_groups : int, default=4
        Groups of the GroupNorm layers (must divide ``channels``).
    amplitude_path : bool, default=True
        Add the linear projection of the raw beat (keeps its amplitude).

    Examples
    --------
    >>> import torch
    >>> stem = BeatConvStem(t=96, embed_dim=32)
    >>> stem(torch.randn(2, 10, 96)).shape
    torch.Size([2, 10, 32])
    """

    def __init__(self, t=96, embed_dim=64, channels=8, kernel_size=15, stride=8, norm_groups=4,
                 amplitude_path=True):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.t = int(t)
        pad = kernel_size // 2
        self.convs = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size, stride=stride, padding=pad),
            nn.GroupNorm(norm_groups, channels),
            nn.GELU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.GroupNorm(norm_groups, channels),
            nn.GELU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.GroupNorm(norm_groups, channels),
            nn.GELU(),
        )
        self.out_len = (self.t + 2 * pad - kernel_size) // stride + 1
        self.proj = nn.Linear(channels * self.out_len, embed_dim)
        self.amplitude = nn.Linear(self.t, embed_dim, bias=False) if amplitude_path else None

    def forward(self, tokens):
        """Embed beats.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, t)

        Returns
        -------
        torch.Tensor of shape (B, l, embed_dim)
        """
        B, L, t = tokens.shape
        h = self.convs(tokens.reshape(B * L, 1, t))
        embedded = self.proj(h.flatten(1)).view(B, L, -1)
        if self.amplitude is not None:
            embedded = embedded + self.amplitude(tokens)
        return embedded


class LinearStem(nn.Linear):
    """Per-token linear projection ``(B, l, in_dim) → (B, l, D)``.

    Used where a token is a feature vector rather than a waveform, e.g. the
    VQ-HBR decoder whose tokens are 128-d ECG words (the official code runs
    its waveform convolution over those word vectors instead).
    """


class LeadTimeEmbedding(nn.Module):
    """Learnable spatial (lead) and temporal (second) embeddings, summed (paper §2.2.2).

    Row 0 of each table is the padding row: padding tokens have lead 0 and time 0.

    Parameters
    ----------
    embed_dim : int
        Width D.
    n_leads : int, default=12
        Number of leads; lead indices run 1..n_leads.
    max_time : int, default=64
        Largest second index; time indices run 1..max_time.
    time_overflow : {"clamp", "error"}, default="clamp"
        What to do with a time index above ``max_time``: clamp it to
        ``max_time`` or raise ``ValueError``.
    """

    def __init__(self, embed_dim, n_leads=12, max_time=64, time_overflow="clamp"):
        super().__init__()
        if time_overflow not in ("clamp", "error"):
            raise ValueError(f"time_overflow must be 'clamp' or 'error', got {time_overflow!r}")
        self.n_leads = int(n_leads)
        self.max_time = int(max_time)
        self.time_overflow = time_overflow
        self.spatial = nn.Embedding(self.n_leads + 1, embed_dim)
        self.temporal = nn.Embedding(self.max_time + 1, embed_dim)

    def forward(self, leads, times):
        """Return ``spatial[leads] + temporal[times]`` of shape (B, l, D).

        Raises
        ------
        ValueError
            If a lead index is outside 0..n_leads, a time index is negative,
            or (with ``time_overflow="error"``) a time index exceeds ``max_time``.
        """
        bad_lead = (leads < 0) | (leads > self.n_leads)
        bad_time = times < 0
        if self.time_overflow == "error":
            bad_time = bad_time | (times > self.max_time)
        if bool(torch.any(bad_lead) | torch.any(bad_time)):
            if bool(torch.any(bad_lead)):
                raise ValueError(f"lead indices must lie in 0..{self.n_leads}, got "
                                 f"{int(leads.min())}..{int(leads.max())}")
            limit = f"0..{self.max_time}" if self.time_overflow == "error" else ">= 0"
            raise ValueError(f"time indices must be {limit}, got {int(times.min())}..{int(times.max())} "
                             "(raise max_time or use time_overflow='clamp')")
        times = times.clamp(max=self.max_time)
        return self.spatial(leads) + self.temporal(times)

    def extra_repr(self):
        return f"n_leads={self.n_leads}, max_time={self.max_time}, time_overflow={self.time_overflow!r}"
