"""The VQ-HBR (vector-quantized heartbeat reconstruction) of the released HeartLang code.

Contract: ``state_dict()`` keys and shapes are the official ones (``encoder.*``, ``decoder.*``,
``quantize.*``, ``encode_task_layer.*``, ``decode_task_layer.*``), and in evaluation mode
:meth:`OfficialVQHBR.official_indices` returns the official ``get_codebook_indices``: the encoder
(an :class:`OfficialECGFormer` backbone whose all-zero input tokens come out as zeros) ->
``encode_task_layer`` (Linear, Tanh, Linear) -> L2 normalisation -> the codebook row
(``quantize.embedding.weight`` as stored) at the smallest squared Euclidean distance
``|z|^2 + |e|^2 - 2 z.e``. :meth:`OfficialVQHBR.decode` runs the official decoder (whose token
convolution reads the word vectors) and ``decode_task_layer``.

Training (:meth:`OfficialVQHBR.forward` in training mode) follows the official NormEMA quantizer:
k-means initialisation on the first batch, codebook moved towards the normalised mean of its
assigned vectors by an exponential moving average, commitment loss ``beta * MSE``,
straight-through gradient. Unlike the official training, only real (non-padding) tokens update
the codebook and enter the losses, as everywhere in this toolkit.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ...nn.kmeans import spherical_kmeans
from ...nn.quantizer import perplexity
from .ecgformer import OfficialECGFormer

__all__ = ["OfficialQuantizer", "OfficialVQHBR", "OfficialVQHBROutput", "RELEASED_VQHBR_CONFIG"]

RELEASED_VQHBR_CONFIG = dict(
    encoder=dict(embed_dim=768, depth=4, heads=2, head_dim=64, mlp_dim=2048, n_positions=257, in_channels=96,
                 index_rows=16),
    decoder=dict(embed_dim=768, depth=2, heads=2, head_dim=64, mlp_dim=2048, n_positions=257, in_channels=128,
                 index_rows=16),
    n_words=8192, word_dim=128, t=96)
"""The released VQ-HBR's sizes."""


class _CodebookEMA(nn.Module):
    """The official ``EmbeddingEMA``'s state: ``weight`` (the codebook), ``cluster_size``,
    ``embed_avg`` and ``initted`` (kept for the checkpoint layout; only ``weight`` is read)."""

    def __init__(self, n_words, word_dim):
        super().__init__()
        self.register_buffer("weight", F.normalize(torch.randn(n_words, word_dim), dim=1))
        self.register_buffer("cluster_size", torch.zeros(n_words))
        self.register_buffer("embed_avg", self.weight.clone())
        self.register_buffer("initted", torch.zeros(1))


class OfficialQuantizer(nn.Module):
    """Nearest-word quantizer with the official NormEMA codebook (``quantize.*`` keys)."""

    def __init__(self, n_words=8192, word_dim=128, decay=0.99, beta=1.0):
        super().__init__()
        self.n_words = int(n_words)
        self.word_dim = int(word_dim)
        self.decay = float(decay)
        self.beta = float(beta)
        self.embedding = _CodebookEMA(n_words, word_dim)
        self.register_buffer("cluster_size", torch.zeros(n_words))
        # Word use since reset_usage (real tokens of forward passes), for the training history;
        # not part of the official checkpoint.
        self.register_buffer("usage", torch.zeros(n_words), persistent=False)

    @property
    def codebook(self):
        return self.embedding.weight

    def nearest(self, z):
        """Index of the nearest codebook row (squared Euclidean distance) of each L2-normalised row."""
        flat = F.normalize(z, p=2, dim=-1).reshape(-1, self.word_dim)
        weight = self.embedding.weight.to(flat.dtype)
        distance = (flat.pow(2).sum(dim=1, keepdim=True) + weight.pow(2).sum(dim=1)
                    - 2 * torch.einsum("bd,nd->bn", flat, weight))
        return distance.argmin(dim=1).reshape(z.shape[:-1])

    @torch.no_grad()
    def _update(self, zn, indices):
        if not bool(self.embedding.initted):
            centers, counts = spherical_kmeans(zn, self.n_words)
            self.embedding.weight.copy_(centers)
            self.embedding.cluster_size.copy_(counts)
            self.embedding.initted.fill_(1.0)
            indices = self.nearest(zn)
        encodings = F.one_hot(indices, self.n_words).to(zn.dtype)
        bins = encodings.sum(0)
        self.cluster_size.mul_(self.decay).add_(bins, alpha=1 - self.decay)
        empty = bins == 0
        means = F.normalize((encodings.t() @ zn) / bins.masked_fill(empty, 1.0)[:, None], dim=1)
        means = torch.where(empty[:, None], self.embedding.weight, means)
        weight = self.embedding.weight.mul(self.decay).add(means, alpha=1 - self.decay)
        self.embedding.weight.copy_(F.normalize(weight, dim=1))
        return indices

    def forward(self, z, valid=None):
        """Quantize ``z`` (B, l, word_dim); ``valid`` (B, l) bool marks the tokens that update the
        codebook (training) and enter the commitment loss.

        Returns
        -------
        quantized, commit_loss, indices
            ``quantized`` carries the straight-through gradient to ``z``.
        """
        zn = F.normalize(z.float(), p=2, dim=-1)
        valid = torch.ones(z.shape[:-1], dtype=torch.bool, device=z.device) if valid is None else valid.bool()
        indices = self.nearest(zn)
        if self.training and bool(valid.any()):
            indices = indices.clone()
            indices[valid] = self._update(zn[valid].detach(), indices[valid])
        with torch.no_grad():
            self.usage += torch.bincount(indices[valid], minlength=self.n_words).to(self.usage.dtype)
        quantized = F.embedding(indices, self.embedding.weight.to(zn.dtype))
        weights = valid[..., None].to(zn.dtype)
        commit = self.beta * ((quantized.detach() - zn).pow(2) * weights).sum() / (
            weights.sum() * self.word_dim).clamp_min(1.0)
        return zn + (quantized - zn).detach(), commit, indices


    def reset_usage(self):
        """Zero the word-use counts (at the start of an epoch)."""
        self.usage.zero_()

    def usage_stats(self):
        """Word use since :meth:`reset_usage`: active words, utilisation, perplexity, assignments
        (the official quantizer restarts no word, so ``n_restarted`` is 0)."""
        active = int((self.usage > 0).sum())
        return {"active_words": active, "utilization": active / self.n_words,
                "perplexity": float(perplexity(self.usage)), "n_assignments": int(self.usage.sum()),
                "dead_words": self.n_words - active, "n_restarted": 0}


class OfficialVQHBROutput(NamedTuple):
    """What :meth:`OfficialVQHBR.forward` returns (the fields of this toolkit's VQ-HBR output).

    ``indices`` is -1 and ``reconstruction`` zero at padding tokens.
    """

    reconstruction: torch.Tensor
    indices: torch.Tensor
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    n_active: torch.Tensor
    padding_mask: torch.Tensor


def _task_layer(width, out):
    layer = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, out))
    for module in layer:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
    return layer


class OfficialVQHBR(nn.Module):
    """Encoder, NormEMA codebook and decoder of the released VQ-HBR.

    Parameters
    ----------
    encoder, decoder : dict
        :class:`OfficialECGFormer` keyword arguments (``n_words`` and ``zero_empty_tokens`` are
        set here; the decoder's ``in_channels`` is forced to ``word_dim``).
    n_words : int, default=8192
    word_dim : int, default=128
    t : int, default=96
        Samples per beat (the decoder's output width; the encoder's ``in_channels``).
    decay, beta : float, default=0.99, 1.0
        EMA decay of the codebook and weight of the commitment loss (training).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> small = dict(embed_dim=32, depth=1, heads=2, head_dim=16, mlp_dim=64, n_positions=17)
    >>> model = OfficialVQHBR(small, small, n_words=64, word_dim=8).eval()
    >>> tokens = torch.randn(2, 16, 96)
    >>> leads = torch.randint(1, 13, (2, 16)); times = torch.randint(1, 11, (2, 16))
    >>> model.official_indices(tokens, leads, times).shape
    torch.Size([2, 16])
    >>> "quantize.embedding.weight" in model.state_dict()
    True
    """

    def __init__(self, encoder, decoder, n_words=8192, word_dim=128, t=96, decay=0.99, beta=1.0):
        super().__init__()
        self.n_words = int(n_words)
        self.word_dim = int(word_dim)
        self.t = int(t)
        self.encoder = OfficialECGFormer(**{**encoder, "in_channels": t, "n_words": None, "zero_empty_tokens": True})
        self.decoder = OfficialECGFormer(**{**decoder, "in_channels": word_dim, "n_words": None,
                                            "zero_empty_tokens": True})
        self.quantize = OfficialQuantizer(n_words, word_dim, decay=decay, beta=beta)
        self.encode_task_layer = _task_layer(self.encoder.embed_dim, word_dim)
        self.decode_task_layer = _task_layer(self.decoder.embed_dim, t)

    def config(self):
        """The keyword arguments that rebuild this network."""
        def backbone(net):
            return {k: v for k, v in net.config().items() if k not in ("n_words", "zero_empty_tokens", "in_channels")}
        return dict(encoder=backbone(self.encoder), decoder=backbone(self.decoder), n_words=self.n_words,
                    word_dim=self.word_dim, t=self.t)

    @property
    def quantizer(self):
        """The codebook holder (``.codebook``), under this toolkit's name."""
        return self.quantize

    def encode(self, tokens, leads=None, times=None):
        """Word vectors before quantization, (B, l, word_dim) (not yet normalised)."""
        return self.encode_task_layer(self.encoder(tokens, leads, times).hidden)

    def decode(self, words, leads=None, times=None):
        """Beats (B, l, t) from (quantized) word vectors (B, l, word_dim)."""
        return self.decode_task_layer(self.decoder(words, leads, times).hidden)

    @torch.no_grad()
    def official_indices(self, tokens, leads=None, times=None):
        """The official ``get_codebook_indices``: word index of every token, (B, l) int64.

        Padding tokens get a word too, as in the official code; ``leads``/``times`` ``None`` skip
        the lead and time embeddings (how the official pre-training computed its targets).
        """
        return self.quantize.nearest(self.encode(tokens, leads, times))

    @torch.no_grad()
    def encode_indices(self, tokens, leads, times):
        """Word index of every token in this toolkit's convention: -1 at padding tokens (``leads == 0``);
        the other tokens get exactly :meth:`official_indices`."""
        return self.official_indices(tokens, leads, times).masked_fill(leads == 0, -1)

    def forward(self, tokens, leads, times):
        """Encode, quantize, decode; padding tokens neither update the codebook nor count in the losses.

        Returns
        -------
        OfficialVQHBROutput
        """
        padding_mask = leads == 0
        z = self.encode(tokens, leads, times)
        quantized, commit, indices = self.quantize(z, valid=~padding_mask)
        reconstruction = self.decode(quantized, leads, times) * (~padding_mask)[..., None]
        real = indices[~padding_mask]
        counts = torch.bincount(real, minlength=self.n_words).float()
        return OfficialVQHBROutput(reconstruction, indices.masked_fill(padding_mask, -1), commit,
                                   perplexity(counts), (counts > 0).sum(), padding_mask)

    @torch.no_grad()
    def decode_indices(self, indices, leads, times):
        """Beats rebuilt from word indices (B, l); -1 rows come back as zeros."""
        valid = indices >= 0
        words = F.embedding(indices.clamp_min(0), self.quantize.codebook) * valid[..., None]
        return self.decode(words, leads * valid, times * valid) * valid[..., None]

