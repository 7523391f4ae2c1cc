"""Rotary position embedding (RoPE) for queries and keys (HeartLang paper §2.2.3).

Each consecutive pair of channels ``(2j, 2j+1)`` of a head is rotated by the
angle ``theta_{i,j} = i / base ** (2j / head_dim)``, where ``i`` is the token's
index in the sentence. Because a rotation by ``a`` followed by the transpose of
a rotation by ``b`` is a rotation by ``a - b``, the dot product of a rotated
query and a rotated key depends on the two positions only through their
difference: attention sees relative positions.
"""

import torch
from torch import nn

__all__ = ["RotaryEmbedding", "apply_rotary"]


def apply_rotary(x, cos, sin):
    """Rotate interleaved channel pairs of ``x``.

    Channel pair ``(2j, 2j+1)`` at position ``i`` is rotated by the angle
    whose cosine and sine are ``cos[i, j]``, ``sin[i, j]``. Computed as a
    complex multiplication in float32 (faster than the real-valued form,
    forward and backward), then cast back to ``x``'s dtype.

    Parameters
    ----------
    x : torch.Tensor of shape (..., L, head_dim)
        Queries or keys; ``head_dim`` must be even.
    cos, sin : torch.Tensor of shape (L, head_dim // 2)
        Cosines and sines of the rotation angles, one row per position.

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x``.
    """
    pairs = x.float().reshape(*x.shape[:-1], -1, 2).contiguous()
    rotation = torch.complex(cos.float(), sin.float())
    rotated = torch.view_as_real(torch.view_as_complex(pairs) * rotation)
    return rotated.flatten(-2).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Cache of RoPE angles for one head size.

    Parameters
    ----------
    head_dim : int
        Channels per attention head (even).
    base : float, default=10000.0
        Base of the geometric progression of rotation frequencies.

    Examples
    --------
    >>> import torch
    >>> rope = RotaryEmbedding(16)
    >>> q = torch.randn(2, 4, 10, 16)  # (batch, heads, length, head_dim)
    >>> rope(q).shape
    torch.Size([2, 4, 10, 16])
    """

    def __init__(self, head_dim, base=10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head_dim, got {head_dim}")
        self.head_dim = int(head_dim)
        self.base = float(base)
        # A plain attribute, not a buffer: Module.half()/bfloat16() must not round the angles.
        self._cache = None

    def angles(self, length, device=None):
        """Return float32 ``(cos, sin)`` of shape (length, head_dim // 2) for positions 0..length-1."""
        device = torch.device("cpu") if device is None else torch.device(device)
        cache = self._cache
        if cache is None or cache[0].shape[0] < length or cache[0].device != device:
            n = max(int(length), 256)
            # float64 on the CPU, then float32 on the device (not every device has float64)
            exponent = torch.arange(0, self.head_dim, 2, dtype=torch.float64, device="cpu") / self.head_dim
            theta = torch.arange(n, dtype=torch.float64, device="cpu")[:, None] * self.base ** (-exponent)[None, :]
            cache = self._cache = (theta.cos().float().to(device), theta.sin().float().to(device))
        return cache[0][:length], cache[1][:length]

    def forward(self, x):
        """Rotate ``x`` of shape (..., L, head_dim) by its positions along dimension -2."""
        cos, sin = self.angles(x.shape[-2], x.device)
        return apply_rotary(x, cos, sin)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, base={self.base:g}"
