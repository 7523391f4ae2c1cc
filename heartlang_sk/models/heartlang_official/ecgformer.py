"""The ST-ECGFormer of the released HeartLang code, layer for layer.

Contract: for the same sentences (beats, lead and time indices), in evaluation mode and float32,
:meth:`OfficialECGFormer.forward` returns the states the official ``ST_ECGFormer.forward(...,
return_all_tokens=True)`` returns (CLS state first, then the tokens), and its ``state_dict()``
keys and shapes are the official ones, so a released checkpoint loads with
``load_state_dict(strict=True)``. The same class, with ``n_words=None`` and
``zero_empty_tokens=True``, is the official VQ-HBR backbone (encoder or decoder).

The official forward pass, which differs from :class:`heartlang_sk.models.heartlang.ecgformer.
ECGFormer` on purpose:

* the token embedding is a ``Conv1d(in_channels -> D, kernel 3, circular padding, no bias)`` that
  runs *along the sentence*, the beat's samples being the input channels, so each token embedding
  mixes its two neighbours (and the first and last tokens wrap around);
* masked positions take the mask token *before* the lead (``spa_embed``) and time (``tem_embed``)
  embeddings are added (16-row tables; row 0 at padding);
* a CLS token is prepended and a learned absolute position embedding (``pos_embed``) added; no RoPE;
* pre-LayerNorm blocks ``x = Attn(LN x) + x; x = FF(x) + x`` (FF = LN, Linear, GELU, Dropout,
  Linear, Dropout), attention with bias-free q/k/v over *every* position (padding is attended to),
  LayerNorms with eps 1e-5, then a final LayerNorm and ``lm_head``.

Sentences shorter than ``n_positions - 1`` tokens are zero-padded to that length before the
forward pass (what the official data pipeline feeds the model) and cut back afterwards; longer
sentences, or lead/time indices past the 16-row tables, are refused with a one-line error.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OfficialAttention", "OfficialECGFormer", "OfficialFeedForward", "OfficialOutput",
           "OfficialTransformer", "OFFICIAL_HEAD_DIM", "RELEASED_PRETRAINING_CONFIG"]

OFFICIAL_HEAD_DIM = 64
"""Width of one attention head in the official code (its ``dim_head`` is never changed)."""

RELEASED_PRETRAINING_CONFIG = dict(embed_dim=768, depth=12, heads=8, head_dim=64, mlp_dim=1024,
                                   n_positions=257, in_channels=96, n_words=8192, index_rows=16)
"""The released masked-pre-training model's sizes (official ``HeartLang`` model)."""


class OfficialOutput(NamedTuple):
    """What :meth:`OfficialECGFormer.forward` returns.

    Attributes
    ----------
    hidden : torch.Tensor of shape (B, l, D)
        Final state of every sentence token (the official output without its first row).
    cls : torch.Tensor of shape (B, D)
        Final CLS state (the official ``forward(..., return_all_tokens=True)[:, 0]``).
    padding_mask : torch.Tensor of shape (B, l), bool
        True where the token is padding (``leads == 0``).
    """

    hidden: torch.Tensor
    cls: Optional[torch.Tensor]
    padding_mask: torch.Tensor


class OfficialAttention(nn.Module):
    """Pre-LayerNorm multi-head self-attention of the official code (``layers.i.0``)."""

    def __init__(self, embed_dim, heads, head_dim=OFFICIAL_HEAD_DIM, dropout=0.0):
        super().__init__()
        inner = heads * head_dim
        self.heads = int(heads)
        self.dropout_rate = float(dropout)
        self.norm = nn.LayerNorm(embed_dim)
        self.to_qkv = nn.Linear(embed_dim, 3 * inner, bias=False)
        # The official code has no output projection when a single head is as wide as the model.
        self.to_out = (nn.Identity() if heads == 1 and head_dim == embed_dim
                       else nn.Sequential(nn.Linear(inner, embed_dim), nn.Dropout(dropout)))

    def forward(self, x):
        batch, length, _ = x.shape
        q, k, v = self.to_qkv(self.norm(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout_rate if self.training else 0.0)
        return self.to_out(out.transpose(1, 2).reshape(batch, length, -1))


class OfficialFeedForward(nn.Module):
    """LN -> Linear -> GELU -> Dropout -> Linear -> Dropout (``layers.i.1.net``)."""

    def __init__(self, embed_dim, mlp_dim, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, mlp_dim), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(mlp_dim, embed_dim), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class OfficialTransformer(nn.Module):
    """``depth`` blocks of ``[attention, feed-forward]``, each added to its input."""

    def __init__(self, embed_dim, depth, heads, head_dim, mlp_dim, dropout=0.0):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([OfficialAttention(embed_dim, heads, head_dim, dropout),
                           OfficialFeedForward(embed_dim, mlp_dim, dropout)])
            for _ in range(depth))

    def forward(self, x):
        for attention, feed_forward in self.layers:
            x = attention(x) + x
            x = feed_forward(x) + x
        return x


class _TokenEmbedding(nn.Module):
    def __init__(self, in_channels, embed_dim):
        super().__init__()
        self.tokenConv = nn.Conv1d(in_channels, embed_dim, kernel_size=3, padding=1, padding_mode="circular",
                                   bias=False)
        nn.init.kaiming_normal_(self.tokenConv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, tokens):
        # (B, l, c) -> channels = the beat's samples, length = the sentence.
        return self.tokenConv(tokens.transpose(1, 2)).transpose(1, 2)


class _IndexEmbedding(nn.Module):
    def __init__(self, rows, embed_dim):
        super().__init__()
        self.embed = nn.Embedding(rows, embed_dim)

    def forward(self, indices):
        return self.embed(indices)


class OfficialECGFormer(nn.Module):
    """ST-ECGFormer as released: the masked-pre-training model, or a VQ-HBR backbone.

    Parameters
    ----------
    embed_dim : int, default=768
    depth : int, default=12
    heads : int, default=8
    head_dim : int, default=64
    mlp_dim : int, default=1024
    n_positions : int, default=257
        Rows of ``pos_embed``: the CLS token plus the longest sentence (256 tokens).
    in_channels : int, default=96
        Input width of a token (96 beat samples; the VQ-HBR decoder reads 128-wide word vectors).
    n_words : int or None, default=8192
        Outputs of ``lm_head`` (the vocabulary size); ``None`` builds no head (VQ-HBR backbone).
    index_rows : int, default=16
        Rows of the lead and time embedding tables.
    dropout, emb_dropout : float, default=0.0
        Dropout inside the blocks and on the input embedding (training only).
    zero_empty_tokens : bool, default=False
        Set the final state of tokens whose input is all zeros to zero (the official VQ-HBR backbone
        does this; the pre-training model does not).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = OfficialECGFormer(embed_dim=32, depth=2, heads=2, head_dim=16, mlp_dim=64,
    ...                           n_positions=17, n_words=64).eval()
    >>> tokens = torch.randn(2, 16, 96)
    >>> leads = torch.randint(1, 13, (2, 16)); times = torch.randint(1, 11, (2, 16))
    >>> out = model(tokens, leads, times)
    >>> out.hidden.shape, out.cls.shape
    (torch.Size([2, 16, 32]), torch.Size([2, 32]))
    >>> sorted(model.state_dict())[:3]
    ['cls_token', 'lm_head.bias', 'lm_head.weight']
    """

    def __init__(self, embed_dim=768, depth=12, heads=8, head_dim=OFFICIAL_HEAD_DIM, mlp_dim=1024,
                 n_positions=257, in_channels=96, n_words=8192, index_rows=16, dropout=0.0, emb_dropout=0.0,
                 zero_empty_tokens=False):
        super().__init__()
        self.embed_dim = int(embed_dim)
        self.depth = int(depth)
        self.heads = int(heads)
        self.head_dim = int(head_dim)
        self.mlp_dim = int(mlp_dim)
        self.n_positions = int(n_positions)
        self.in_channels = int(in_channels)
        self.n_words = None if n_words is None else int(n_words)
        self.index_rows = int(index_rows)
        self.zero_empty_tokens = bool(zero_empty_tokens)
        self.use_cls = True  # the official model always has one (HeartLangEmbedder(pooling="cls"))
        self.token_embed = _TokenEmbedding(in_channels, embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.cls_token = nn.Parameter(torch.randn(embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n_positions, embed_dim))
        self.spa_embed = _IndexEmbedding(index_rows, embed_dim)
        self.tem_embed = _IndexEmbedding(index_rows, embed_dim)
        self.dropout = nn.Dropout(emb_dropout)
        self.transformer = OfficialTransformer(embed_dim, depth, heads, head_dim, mlp_dim, dropout)
        self.norm_layer = nn.LayerNorm(embed_dim)
        self.lm_head = None if n_words is None else nn.Linear(embed_dim, n_words)

    @property
    def max_tokens(self):
        """Longest sentence the position table covers (``n_positions - 1``)."""
        return self.n_positions - 1

    def config(self):
        """The keyword arguments that rebuild this network (without dropout)."""
        return dict(embed_dim=self.embed_dim, depth=self.depth, heads=self.heads, head_dim=self.head_dim,
                    mlp_dim=self.mlp_dim, n_positions=self.n_positions, in_channels=self.in_channels,
                    n_words=self.n_words, index_rows=self.index_rows, zero_empty_tokens=self.zero_empty_tokens)

    def _check_inputs(self, tokens, leads, times, mask_positions):
        if tokens.ndim != 3 or tokens.shape[-1] != self.in_channels:
            raise ValueError(f"tokens must have shape (B, l, {self.in_channels}), got {tuple(tokens.shape)}")
        if tokens.shape[1] > self.max_tokens:
            raise ValueError(f"sentences have {tokens.shape[1]} tokens; the official model's position table "
                             f"covers at most {self.max_tokens}")
        for name, index in (("leads", leads), ("times", times), ("mask_positions", mask_positions)):
            if index is not None and index.shape != tokens.shape[:2]:
                raise ValueError(f"{name} must have shape {tuple(tokens.shape[:2])}, got {tuple(index.shape)}")
        for name, index in (("lead", leads), ("time", times)):
            if index is not None and index.numel() and (int(index.max()) >= self.index_rows or int(index.min()) < 0):
                raise ValueError(f"{name} indices must lie in 0..{self.index_rows - 1} (the official embedding "
                                 f"table has {self.index_rows} rows), got {int(index.min())}..{int(index.max())}")

    def forward_all(self, tokens, leads=None, times=None, mask_positions=None):
        """The official ``forward(..., return_all_tokens=True)``: states (B, 1 + l, D), CLS first.

        ``leads``/``times`` ``None`` skip the lead/time embeddings, as the official code does
        when it is given no index matrix.
        """
        self._check_inputs(tokens, leads, times, mask_positions)
        length = tokens.shape[1]
        pad = self.max_tokens - length
        if pad:
            tokens = F.pad(tokens, (0, 0, 0, pad))
            leads = None if leads is None else F.pad(leads, (0, pad))
            times = None if times is None else F.pad(times, (0, pad))
            mask_positions = None if mask_positions is None else F.pad(mask_positions, (0, pad))
        tokens = tokens.to(self.pos_embed.dtype)
        x = self.token_embed(tokens)
        if mask_positions is not None:
            x = torch.where(mask_positions.bool()[..., None], self.mask_token.to(x.dtype), x)
        if leads is not None:
            x = x + self.spa_embed(leads.long())
        if times is not None:
            x = x + self.tem_embed(times.long())
        cls = self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.norm_layer(self.transformer(self.dropout(x)))
        return x[:, :1 + length]

    def forward(self, tokens, leads, times, mask_positions=None):
        """Encode ECG sentences.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, in_channels), float
        leads, times : torch.Tensor of shape (B, l), integer, 0 at padding
        mask_positions : torch.Tensor of shape (B, l), bool, optional
            Tokens replaced by the mask token.

        Returns
        -------
        OfficialOutput
            With ``zero_empty_tokens``, states of all-zero input tokens are zero (the official
            VQ-HBR backbone's ``return_qrs_tokens`` output).
        """
        x = self.forward_all(tokens, leads, times, mask_positions)
        hidden = x[:, 1:]
        if self.zero_empty_tokens:
            hidden = hidden.masked_fill((tokens == 0).all(dim=2)[..., None], 0.0)
        padding_mask = leads == 0 if leads is not None else (tokens == 0).all(dim=2)
        return OfficialOutput(hidden, x[:, 0], padding_mask)

    def word_logits(self, hidden):
        """``lm_head`` over token states (the official masked-word prediction)."""
        if self.lm_head is None:
            raise ValueError("this network has no lm_head (a VQ-HBR backbone)")
        return self.lm_head(hidden)
