"""Pre-LayerNorm transformer block: LN → attention → residual, LN → MLP(GELU) → residual."""

from torch import nn

from .attention import RotarySelfAttention

__all__ = ["DropPath", "FeedForward", "TransformerBlock"]


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample during training.

    Parameters
    ----------
    p : float, default=0.0
        Probability of dropping the branch; survivors are scaled by ``1 / (1 - p)``.
    """

    def __init__(self, p=0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self):
        return f"p={self.p}"


class FeedForward(nn.Sequential):
    """Two-layer MLP with GELU: ``Linear(dim, hidden) → GELU → Dropout → Linear(hidden, dim) → Dropout``."""

    def __init__(self, dim, hidden_dim, dropout=0.0):
        super().__init__(
            nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, dim), nn.Dropout(dropout)
        )

    @property
    def out_proj(self):
        return self[3]


class TransformerBlock(nn.Module):
    """Pre-LN transformer encoder block with rotary self-attention.

    Parameters
    ----------
    embed_dim, num_heads, head_dim, mlp_dim : int
        Token width, heads, channels per head, MLP hidden width.
    dropout : float, default=0.0
        Dropout after the attention projection and inside the MLP.
    attn_dropout : float, default=0.0
        Dropout on attention weights.
    drop_path : float, default=0.0
        Stochastic-depth rate of this block.
    qkv_bias : bool, default=True
    rope_base : float, default=10000.0
    norm_eps : float, default=1e-6
    """

    def __init__(self, embed_dim, num_heads, head_dim, mlp_dim, dropout=0.0, attn_dropout=0.0, drop_path=0.0,
                 qkv_bias=True, rope_base=10000.0, norm_eps=1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim, eps=norm_eps)
        self.attn = RotarySelfAttention(embed_dim, num_heads, head_dim, qkv_bias=qkv_bias, attn_drop=attn_dropout,
                                        proj_drop=dropout, rope_base=rope_base)
        self.norm2 = nn.LayerNorm(embed_dim, eps=norm_eps)
        self.mlp = FeedForward(embed_dim, mlp_dim, dropout=dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x, attn_mask=None):
        """Apply the block to ``x`` (B, L, D); ``attn_mask`` is True where attention is allowed."""
        x = x + self.drop_path(self.attn(self.norm1(x), attn_mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))
