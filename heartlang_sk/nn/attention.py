"""Multi-head self-attention with rotary position embedding and a key padding mask."""

import torch
import torch.nn.functional as F
from torch import nn

from .rope import RotaryEmbedding, apply_rotary

__all__ = ["RotarySelfAttention", "key_padding_attention_mask"]


def key_padding_attention_mask(padding_mask):
    """Boolean attention mask that hides padding keys.

    Parameters
    ----------
    padding_mask : torch.Tensor of shape (B, L), bool
        True where the token is padding.

    Returns
    -------
    torch.Tensor of shape (B, 1, 1, L), bool
        True where attention is allowed (the convention of
        :func:`torch.nn.functional.scaled_dot_product_attention`).

    Notes
    -----
    A sentence made only of padding would leave every query with no key to
    attend to, and softmax over an empty set is NaN. For such sentences all
    keys are allowed instead; their outputs are padding anyway and no real
    token of another sentence can see them.
    """
    allowed = ~padding_mask
    allowed = allowed | ~allowed.any(dim=1, keepdim=True)
    return allowed[:, None, None, :]


class RotarySelfAttention(nn.Module):
    """Multi-head self-attention, RoPE on queries and keys (paper §2.2.4).

    The attention inner width ``num_heads * head_dim`` may differ from
    ``embed_dim`` (the paper's sizes use 64-channel heads with D = 768); the
    output projection maps back to ``embed_dim``.

    Parameters
    ----------
    embed_dim : int
        Width of the token states.
    num_heads : int
        Number of attention heads.
    head_dim : int
        Channels per head (even, for RoPE).
    qkv_bias : bool, default=True
        Whether the query/key/value projection has a bias.
    attn_drop : float, default=0.0
        Dropout on attention weights (training only).
    proj_drop : float, default=0.0
        Dropout after the output projection.
    rope_base : float, default=10000.0
        Base of the RoPE frequencies.

    Examples
    --------
    >>> import torch
    >>> attn = RotarySelfAttention(embed_dim=32, num_heads=2, head_dim=8)
    >>> x = torch.randn(3, 5, 32)
    >>> padding = torch.zeros(3, 5, dtype=torch.bool)
    >>> attn(x, key_padding_attention_mask(padding)).shape
    torch.Size([3, 5, 32])
    """

    def __init__(self, embed_dim, num_heads, head_dim, qkv_bias=True, attn_drop=0.0, proj_drop=0.0,
                 rope_base=10000.0):
        super().__init__()
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        inner = self.num_heads * self.head_dim
        self.qkv = nn.Linear(embed_dim, 3 * inner, bias=qkv_bias)
        self.proj = nn.Linear(inner, embed_dim)
        self.attn_drop = float(attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.rope = RotaryEmbedding(head_dim, base=rope_base)

    def forward(self, x, attn_mask=None):
        """Attend.

        Parameters
        ----------
        x : torch.Tensor of shape (B, L, embed_dim)
        attn_mask : torch.Tensor of bool, broadcastable to (B, heads, L, L), optional
            True where a query may attend to a key.

        Returns
        -------
        torch.Tensor of shape (B, L, embed_dim)
        """
        B, L, _ = x.shape
        qkv = self.qkv(x).view(B, L, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        cos, sin = self.rope.angles(L, x.device)
        q, k = apply_rotary(qkv[:2], cos, sin).unbind(0)
        v = qkv[2]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_drop if self.training else 0.0
        )
        out = out.transpose(1, 2).reshape(B, L, self.num_heads * self.head_dim)
        return self.proj_drop(self.proj(out))

    def extra_repr(self):
        return f"num_heads={self.num_heads}, head_dim={self.head_dim}, attn_drop={self.attn_drop}"
