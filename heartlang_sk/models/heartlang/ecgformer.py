"""ST-ECGFormer, the HeartLang backbone (paper §2.2).

An ECG sentence of ``l`` beats × ``t`` samples becomes ``l`` tokens: a
per-beat convolutional stem, plus a learnable spatial (lead) and temporal
(second) embedding, then pre-LayerNorm transformer blocks with rotary
position embedding on queries and keys (position = token index), and a final
LayerNorm. Padding tokens (lead 0) are hidden from attention.

Named sizes (:data:`ECGFORMER_SIZES`); parameter counts measured by
instantiating :class:`ECGFormer` with the defaults (t=96, 12 leads,
max_time=64, 8-channel conv stem, no CLS / mask token; each adds ``D``);
the conv stem (with its amplitude path) holds 12,928 of them in ``tiny``, 148,800 in the 768-wide sizes:

========  =====  ===  =====  ========  =====  ============
size      depth   D   heads  head_dim   MLP   parameters
========  =====  ===  =====  ========  =====  ============
tiny        4     64    4       16      256       217,984
small       6    768    4       64     2048    23,847,744
base       12    768   10       64     2048    61,654,848
large      24    768   16       64     2048   151,438,656
========  =====  ===  =====  ========  =====  ============

``small``/``base``/``large`` follow the paper's Table 3 (hidden 768, MLP 2048,
4/10/16 heads); the heads are 64 wide, so the attention inner width
(heads × 64) differs from D and is projected back to D. ``tiny`` trains on two
CPU cores in minutes.
"""

import inspect
import math
from typing import NamedTuple, Optional

import torch
from torch import nn

from ...nn.attention import key_padding_attention_mask
from ...nn.embedding import BeatConvStem, LeadTimeEmbedding, LinearStem
from ...nn.rhythm import RhythmEmbedding
from ...nn.transformer import TransformerBlock

TEMPORAL_ENCODINGS = ("second", "rhythm")

__all__ = ["TEMPORAL_ENCODINGS", "ECGFormer", "ECGFormerOutput", "ECGFORMER_SIZES", "ecgformer_config", "resolve_ecgformer_config",
           "count_parameters"]

ECGFORMER_SIZES = {
    "tiny": dict(embed_dim=64, depth=4, num_heads=4, head_dim=16, mlp_dim=256),
    "small": dict(embed_dim=768, depth=6, num_heads=4, head_dim=64, mlp_dim=2048),
    "base": dict(embed_dim=768, depth=12, num_heads=10, head_dim=64, mlp_dim=2048),
    "large": dict(embed_dim=768, depth=24, num_heads=16, head_dim=64, mlp_dim=2048),
}
"""Architecture sizes by name: width, depth, heads, head width, MLP width."""


class ECGFormerOutput(NamedTuple):
    """What :meth:`ECGFormer.forward` returns.

    Attributes
    ----------
    hidden : torch.Tensor of shape (B, l, D)
        Final (LayerNorm-ed) state of every sentence token; padding rows are
        meaningless and should be ignored through ``padding_mask``.
    cls : torch.Tensor of shape (B, D) or None
        Final state of the CLS token when ``use_cls=True``.
    padding_mask : torch.Tensor of shape (B, l), bool
        True where the token is padding (``leads == 0``).
    """

    hidden: torch.Tensor
    cls: Optional[torch.Tensor]
    padding_mask: torch.Tensor


class ECGFormer(nn.Module):
    """ST-ECGFormer encoder for ECG sentences.

    Parameters
    ----------
    t : int, default=96
        Width of one input token: samples per beat for ``stem="conv"``, or
        feature size for ``stem="linear"``.
    embed_dim : int, default=64
        Hidden width D.
    depth : int, default=4
        Number of transformer blocks.
    num_heads : int, default=4
        Attention heads.
    head_dim : int, default=16
        Channels per head (even); attention inner width is ``num_heads * head_dim``.
    mlp_dim : int, default=256
        MLP hidden width.
    n_leads : int, default=12
        Number of leads (lead indices 1..n_leads, 0 = padding).
    max_time : int, default=64
        Largest second index (1..max_time, 0 = padding).
    time_overflow : {"clamp", "error"}, default="clamp"
        Handling of time indices above ``max_time``.
    stem : {"conv", "linear"}, default="conv"
        Token embedding: per-beat convolution (:class:`BeatConvStem`) or a
        linear map of each token vector.
    stem_channels, stem_kernel_size, stem_stride : int, default=8, 15, 8
        Convolutional stem settings.
    use_cls : bool, default=False
        Prepend a learnable CLS token (attends and is attended to; it gets no
        lead/time embedding) and return its final state.
    use_mask_token : bool, default=False
        Create a learnable mask token that replaces the beat embedding of the
        positions given by ``mask_positions`` (masked pre-training).
    qkv_bias : bool, default=True
    dropout : float, default=0.0
        Dropout on the input embedding, after attention and inside the MLP.
    attn_dropout : float, default=0.0
        Dropout on attention weights.
    drop_path : float, default=0.0
        Stochastic-depth rate of the last block (linearly increasing from 0).
    rope_base : float, default=10000.0
    norm_eps : float, default=1e-6
    init_std : float, default=0.02
        Std of the truncated-normal initialisation of linear layers,
        embeddings and special tokens (ViT/BEiT). As in BEiT, each block's
        output projections are further scaled by ``1 / sqrt(2 * layer_id)``.
    temporal_encoding : {"second", "rhythm"}, default="second"
        ``"second"``: the learnable embedding of the R peak's whole second (the paper).
        ``"rhythm"``: that, plus :class:`~heartlang_sk.nn.rhythm.RhythmEmbedding` of each beat's
        R-peak time (continuous) and RR intervals to its lead's neighbours; the forward pass then
        needs ``beat_times``. A masked beat's own rhythm embedding is hidden with its waveform.

    Examples
    --------
    >>> import torch
    >>> model = ECGFormer.from_size("tiny", use_cls=True)
    >>> tokens = torch.randn(2, 256, 96)
    >>> leads = torch.randint(1, 13, (2, 256))
    >>> times = torch.randint(1, 11, (2, 256))
    >>> leads[1, 100:] = 0; times[1, 100:] = 0  # second sentence: 100 beats + padding
    >>> out = model(tokens, leads, times)
    >>> out.hidden.shape, out.cls.shape
    (torch.Size([2, 256, 64]), torch.Size([2, 64]))
    """

    def __init__(self, t=96, embed_dim=64, depth=4, num_heads=4, head_dim=16, mlp_dim=256, n_leads=12, max_time=64,
                 time_overflow="clamp", stem="conv", stem_channels=8, stem_kernel_size=15, stem_stride=8,
                 use_cls=False, use_mask_token=False, qkv_bias=True, dropout=0.0, attn_dropout=0.0, drop_path=0.0,
                 rope_base=10000.0, norm_eps=1e-6, init_std=0.02,
                 temporal_encoding="second"):
        super().__init__()
        if temporal_encoding not in TEMPORAL_ENCODINGS:
            raise ValueError(f"temporal_encoding must be one of {TEMPORAL_ENCODINGS}, got {temporal_encoding!r}")
        self.temporal_encoding = temporal_encoding
        self.rhythm = RhythmEmbedding(embed_dim) if temporal_encoding == "rhythm" else None
        self.t = int(t)
        self.embed_dim = int(embed_dim)
        self.depth = int(depth)
        self.use_cls = bool(use_cls)
        self.init_std = float(init_std)
        if stem == "conv":
            self.stem = BeatConvStem(t, embed_dim, channels=stem_channels, kernel_size=stem_kernel_size,
                                     stride=stem_stride, norm_groups=math.gcd(4, stem_channels))
        elif stem == "linear":
            self.stem = LinearStem(t, embed_dim)
        else:
            raise ValueError(f"stem must be 'conv' or 'linear', got {stem!r}")
        self.lead_time = LeadTimeEmbedding(embed_dim, n_leads=n_leads, max_time=max_time,
                                           time_overflow=time_overflow)
        self.mask_token = nn.Parameter(torch.zeros(embed_dim)) if use_mask_token else None
        self.cls_token = nn.Parameter(torch.zeros(embed_dim)) if use_cls else None
        self.embed_drop = nn.Dropout(dropout)
        rates = [drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, num_heads, head_dim, mlp_dim, dropout=dropout, attn_dropout=attn_dropout,
                             drop_path=rate, qkv_bias=qkv_bias, rope_base=rope_base, norm_eps=norm_eps)
            for rate in rates
        )
        self.norm = nn.LayerNorm(embed_dim, eps=norm_eps)
        self.reset_parameters()

    @classmethod
    def from_size(cls, size="tiny", **overrides):
        """Build a named size (see :data:`ECGFORMER_SIZES`), with any parameter overridden."""
        return cls(**ecgformer_config(size, **overrides))

    def reset_parameters(self):
        """(Re-)initialise like ViT/BEiT: truncated normal (std ``init_std``) for linear layers and
        embeddings, zero biases, unit LayerNorms, then scale output projections by depth."""
        std = self.init_std
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
            elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for token in (self.mask_token, self.cls_token):
            if token is not None:
                nn.init.trunc_normal_(token, std=std, a=-2 * std, b=2 * std)
        with torch.no_grad():
            for layer_id, block in enumerate(self.blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * layer_id))
                block.mlp.out_proj.weight.div_(math.sqrt(2.0 * layer_id))

    def _check_inputs(self, tokens, leads, times, mask_positions):
        if tokens.ndim != 3 or tokens.shape[-1] != self.t:
            raise ValueError(f"tokens must have shape (B, l, {self.t}), got {tuple(tokens.shape)}")
        if leads.shape != tokens.shape[:2] or times.shape != tokens.shape[:2]:
            raise ValueError(f"leads and times must have shape {tuple(tokens.shape[:2])}, got "
                             f"{tuple(leads.shape)} and {tuple(times.shape)}")
        if mask_positions is not None:
            if mask_positions.shape != tokens.shape[:2]:
                raise ValueError(f"mask_positions must have shape {tuple(tokens.shape[:2])}, "
                                 f"got {tuple(mask_positions.shape)}")
            if self.mask_token is None:
                raise ValueError("mask_positions given but the model was built with use_mask_token=False")

    def embed(self, tokens, leads, times, mask_positions=None, beat_times=None):
        """Input embedding of every token, before the transformer.

        ``stem(beat)`` (or the mask token where ``mask_positions`` is True)
        ``+ spatial[lead] + temporal[time]``.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, t)
        leads, times : torch.Tensor of shape (B, l), integer
        mask_positions : torch.Tensor of shape (B, l), bool, optional
        beat_times : torch.Tensor of shape (B, l), float, optional
            R-peak time of each token in seconds (``ECGSentences.beat_times``); needed by
            ``temporal_encoding="rhythm"``.

        Returns
        -------
        torch.Tensor of shape (B, l, D)
        """
        self._check_inputs(tokens, leads, times, mask_positions)
        beats = self.stem(tokens.to(self.norm.weight.dtype))
        rhythm = getattr(self, "rhythm", None)  # None in models saved before the option existed
        if rhythm is not None:
            if beat_times is None or beat_times.shape != leads.shape:
                raise ValueError("this encoder has temporal_encoding='rhythm' and needs beat_times of shape "
                                 f"{tuple(leads.shape)} (ECGSentences.beat_times), got "
                                 f"{None if beat_times is None else tuple(beat_times.shape)}")
            beats = beats + rhythm(beat_times, leads).to(beats.dtype)
        if mask_positions is not None:
            beats = torch.where(mask_positions.bool()[..., None], self.mask_token.to(beats.dtype), beats)
        return beats + self.lead_time(leads.long(), times.long())

    def forward(self, tokens, leads, times, mask_positions=None, beat_times=None):
        """Encode ECG sentences.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, t), float
            Beats (or token vectors for ``stem="linear"``).
        leads : torch.Tensor of shape (B, l), integer
            Lead number 1..n_leads, 0 for padding.
        times : torch.Tensor of shape (B, l), integer
            Second of the beat's R peak (1..), 0 for padding.
        mask_positions : torch.Tensor of shape (B, l), bool, optional
            Tokens whose beat embedding is replaced by the mask token.
        beat_times : torch.Tensor of shape (B, l), float, optional
            R-peak time of each token in seconds (``temporal_encoding="rhythm"`` only).

        Returns
        -------
        ECGFormerOutput
            ``(hidden, cls, padding_mask)``.
        """
        x = self.embed(tokens, leads, times, mask_positions, beat_times)
        padding_mask = leads == 0
        key_padding = padding_mask
        if self.cls_token is not None:
            cls = self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1)
            key_padding = torch.cat([padding_mask.new_zeros(x.shape[0], 1), padding_mask], dim=1)
        attn_mask = key_padding_attention_mask(key_padding)
        x = self.embed_drop(x)
        for block in self.blocks:
            x = block(x, attn_mask)
        x = self.norm(x)
        if self.cls_token is not None:
            return ECGFormerOutput(x[:, 1:], x[:, 0], padding_mask)
        return ECGFormerOutput(x, None, padding_mask)


def ecgformer_config(size="tiny", **overrides):
    """Full keyword arguments of :class:`ECGFormer` for a named size.

    Parameters
    ----------
    size : {"tiny", "small", "base", "large"}, default="tiny"
        Named size (:data:`ECGFORMER_SIZES`).
    **overrides
        Any :class:`ECGFormer` parameter, e.g. ``depth=2`` or ``use_cls=True``.

    Returns
    -------
    dict
        Keyword arguments for ``ECGFormer(**config)``.

    Examples
    --------
    >>> cfg = ecgformer_config("small", use_cls=True)
    >>> cfg["depth"], cfg["num_heads"], cfg["embed_dim"], cfg["use_cls"]
    (6, 4, 768, True)
    """
    if size not in ECGFORMER_SIZES:
        raise ValueError(f"unknown ECGFormer size {size!r}; choose from {sorted(ECGFORMER_SIZES)}")
    allowed = [name for name in inspect.signature(ECGFormer.__init__).parameters if name != "self"]
    defaults = {name: p.default for name, p in inspect.signature(ECGFormer.__init__).parameters.items()
                if name != "self"}
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise TypeError(f"unknown ECGFormer parameter(s): {unknown}")
    config = {**defaults, **ECGFORMER_SIZES[size], **overrides}
    return {name: config[name] for name in allowed}


def resolve_ecgformer_config(config=None, **defaults):
    """Turn a flexible encoder description into full :class:`ECGFormer` keyword arguments.

    Parameters
    ----------
    config : None, str or dict
        ``None`` → size "tiny"; a size name; or a dict of parameters with an
        optional ``"size"`` key (default "tiny") that the other keys override.
    **defaults
        Overrides applied before ``config``'s own keys (used by composite
        models, e.g. the VQ-HBR decoder's ``stem="linear"``).

    Returns
    -------
    dict
    """
    if config is None:
        config = {}
    elif isinstance(config, str):
        config = {"size": config}
    else:
        config = dict(config)
    size = config.pop("size", "tiny")
    return ecgformer_config(size, **{**defaults, **config})


def count_parameters(module, trainable_only=False):
    """Number of parameters (scalars) of a module.

    Parameters
    ----------
    module : torch.nn.Module
    trainable_only : bool, default=False
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):  # no memory allocated
    ...     model = ECGFormer.from_size("base")
    >>> count_parameters(model)
    61654848
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
