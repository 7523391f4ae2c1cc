"""Task heads on top of ECGFormer: masked word prediction (pre-training) and sentence classification."""

import torch
from torch import nn

from ...nn.masked_words import masked_word_loss  # noqa: F401  (its home before nn/masked_words.py)

from .ecgformer import ECGFormer, ECGFormerOutput, resolve_ecgformer_config
from ...nn.pooling import masked_mean

__all__ = ["MaskedWordPredictor", "masked_word_loss", "ClassificationHead", "ECGFormerClassifier"]


def _init_linear(layer, std=0.02):
    nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
    nn.init.zeros_(layer.bias)


class MaskedWordPredictor(nn.Module):
    """ECGFormer with a mask token and a linear head over the ECG vocabulary (paper §2.4).

    Parameters
    ----------
    encoder_config : None, str or dict, default="tiny"
        Encoder :class:`ECGFormer` (see :func:`resolve_ecgformer_config`);
        ``use_mask_token`` is forced on.
    n_words : int, default=8192
        Vocabulary size (number of logits per token).

    Examples
    --------
    >>> import torch
    >>> from heartlang_sk.nn import random_token_mask
    >>> model = MaskedWordPredictor("tiny", n_words=32)
    >>> tokens = torch.randn(2, 256, 96)
    >>> leads = torch.randint(1, 13, (2, 256)); times = torch.randint(1, 11, (2, 256))
    >>> leads[:, 150:] = 0; times[:, 150:] = 0
    >>> mask = random_token_mask(leads == 0, 0.5, torch.Generator().manual_seed(0))
    >>> logits = model(tokens, leads, times, mask, only_masked=True)
    >>> logits.shape  # 75 masked beats per sentence
    torch.Size([150, 32])
    >>> targets = torch.randint(0, 32, (2, 256)).masked_fill(leads == 0, -1)
    >>> out = masked_word_loss(logits, targets, mask)
    >>> out["loss"].backward()
    """

    def __init__(self, encoder_config=None, n_words=8192):
        super().__init__()
        cfg = resolve_ecgformer_config(encoder_config)
        cfg["use_mask_token"] = True
        self.n_words = int(n_words)
        self.encoder = ECGFormer(**cfg)
        self.head = nn.Linear(self.encoder.embed_dim, n_words)
        _init_linear(self.head, self.encoder.init_std)

    def forward(self, tokens, leads, times, mask_positions=None, only_masked=False, beat_times=None):
        """Word logits.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, t)
        leads, times : torch.Tensor of shape (B, l), integer
        mask_positions : torch.Tensor of shape (B, l), bool, optional
            Beats replaced by the mask token.
        only_masked : bool, default=False
            Return logits of the masked tokens only, in the row-major order
            of ``mask_positions`` (saves memory with a large vocabulary).
        beat_times : torch.Tensor of shape (B, l), float, optional
            R-peak times in seconds, for an encoder with ``temporal_encoding="rhythm"``.

        Returns
        -------
        torch.Tensor
            (B, l, n_words), or (n_masked, n_words) with ``only_masked``.
        """
        hidden = self.encoder(tokens, leads, times, mask_positions, beat_times=beat_times).hidden
        if only_masked:
            if mask_positions is None:
                raise ValueError("only_masked=True needs mask_positions")
            hidden = hidden[mask_positions.bool()]
        return self.head(hidden)


class ClassificationHead(nn.Module):
    """Pool token states into one vector per sentence, then a linear layer.

    Parameters
    ----------
    embed_dim : int
        Width D of the token states.
    n_outputs : int
        Number of outputs (classes or labels; logits, no activation).
    pooling : {"mean", "cls"}, default="mean"
        Mean over real (non-padding) tokens, or the CLS state.
    dropout : float, default=0.0
        Dropout before the linear layer.
    norm : bool, default=False
        LayerNorm after pooling (BEiT's ``fc_norm``).

    Examples
    --------
    >>> import torch
    >>> head = ClassificationHead(64, n_outputs=5)
    >>> hidden = torch.randn(3, 256, 64)
    >>> padding = torch.zeros(3, 256, dtype=torch.bool)
    >>> head(hidden, padding).shape
    torch.Size([3, 5])
    """

    def __init__(self, embed_dim, n_outputs, pooling="mean", dropout=0.0, norm=False):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.pooling = pooling
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6) if norm else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(embed_dim, n_outputs)
        _init_linear(self.linear)

    def pool(self, hidden, padding_mask=None, cls=None):
        """Sentence vector (B, D): see ``pooling``."""
        if isinstance(hidden, ECGFormerOutput):
            hidden, cls, padding_mask = hidden
        if self.pooling == "cls":
            if cls is None:
                raise ValueError("pooling='cls' needs the CLS state (build the encoder with use_cls=True)")
            return cls
        return masked_mean(hidden, padding_mask)

    def forward(self, hidden, padding_mask=None, cls=None):
        """Logits (B, n_outputs) from token states (B, l, D) or an :class:`ECGFormerOutput`."""
        return self.linear(self.dropout(self.norm(self.pool(hidden, padding_mask, cls))))


class ECGFormerClassifier(nn.Module):
    """ECGFormer encoder + :class:`ClassificationHead`, for fine-tuning or linear probing.

    Parameters
    ----------
    encoder_config : None, str or dict, default="tiny"
        Encoder :class:`ECGFormer`; ``use_cls`` follows ``pooling``.
    n_outputs : int
        Number of outputs.
    pooling : {"mean", "cls"}, default="mean"
    dropout : float, default=0.0
    norm : bool, default=False

    Examples
    --------
    >>> import torch
    >>> model = ECGFormerClassifier("tiny", n_outputs=5)
    >>> tokens = torch.randn(2, 256, 96)
    >>> leads = torch.randint(1, 13, (2, 256)); times = torch.randint(1, 11, (2, 256))
    >>> model(tokens, leads, times).shape
    torch.Size([2, 5])
    """

    def __init__(self, encoder_config=None, n_outputs=1, pooling="mean", dropout=0.0, norm=False):
        super().__init__()
        cfg = resolve_ecgformer_config(encoder_config)
        cfg["use_cls"] = pooling == "cls"
        cfg["use_mask_token"] = False
        self.encoder = ECGFormer(**cfg)
        self.head = ClassificationHead(self.encoder.embed_dim, n_outputs, pooling=pooling, dropout=dropout, norm=norm)

    def forward(self, tokens, leads, times, beat_times=None):
        """Logits (B, n_outputs); ``beat_times`` for an encoder with ``temporal_encoding="rhythm"``."""
        return self.head(self.encoder(tokens, leads, times, beat_times=beat_times))
