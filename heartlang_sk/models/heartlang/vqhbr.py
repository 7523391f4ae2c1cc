"""Vector-quantized heartbeat reconstruction (VQ-HBR), which learns the ECG vocabulary (paper §2.3).

``beats → ECGFormer encoder → Linear-Tanh-Linear → word_dim → NormEMAQuantizer (real tokens only)
→ ECGFormer decoder (linear token stem, same lead/time embeddings and padding mask)
→ Linear-Tanh-Linear → t samples per token``.

Differences from the official code, on purpose: padding tokens are neither
quantized nor reconstructed nor counted in the loss; the decoder embeds each
128-d word with a linear map (the official code runs its waveform convolution
over the word vectors); the default widths are the small ``tiny`` size.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ...nn._modes import eval_mode
from .ecgformer import ECGFormer, resolve_ecgformer_config
from ...nn.quantizer import NormEMAQuantizer

__all__ = ["VQHeartbeatReconstructor", "VQHBROutput", "vqhbr_loss"]


class VQHBROutput(NamedTuple):
    """What :meth:`VQHeartbeatReconstructor.forward` returns.

    Attributes
    ----------
    reconstruction : torch.Tensor of shape (B, l, t)
        Reconstructed beats; zeros at padding tokens.
    indices : torch.Tensor of shape (B, l), int64
        ECG word per token; -1 at padding tokens.
    commit_loss : torch.Tensor, scalar
        Quantizer commitment loss (already multiplied by ``beta``).
    perplexity : torch.Tensor, scalar
        Perplexity of this batch's word usage.
    n_active : torch.Tensor, scalar int64
        Distinct words used in this batch.
    padding_mask : torch.Tensor of shape (B, l), bool
        True at padding tokens.
    """

    reconstruction: torch.Tensor
    indices: torch.Tensor
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    n_active: torch.Tensor
    padding_mask: torch.Tensor


def _real_length(leads):
    """Number of leading token columns that hold a real token of some sentence (at least 1).

    Columns after it are padding in every sentence of the batch; they are neither attended to nor
    quantized nor counted in the loss, so the model skips them (an exact shortcut: RoPE positions of
    the kept columns do not change).
    """
    real = (leads != 0).any(dim=0)
    if not bool(real.any()):
        return min(1, leads.shape[1])
    return int(real.nonzero().max()) + 1


def _task_head(in_dim, out_dim):
    return nn.Sequential(nn.Linear(in_dim, in_dim), nn.Tanh(), nn.Linear(in_dim, out_dim))


def vqhbr_loss(output, tokens, padding_mask=None):
    """VQ-HBR training loss, term by term.

    Parameters
    ----------
    output : VQHBROutput
    tokens : torch.Tensor of shape (B, l, t)
        The input beats (reconstruction target).
    padding_mask : torch.Tensor of shape (B, l), bool, optional
        Defaults to ``output.padding_mask``.

    Returns
    -------
    dict of str to torch.Tensor
        ``loss`` (total, to back-propagate), ``reconstruction_loss`` (MSE
        over the samples of non-padding tokens only; 0 when there is none)
        and ``commit_loss``.
    """
    padding_mask = output.padding_mask if padding_mask is None else padding_mask
    real = (~padding_mask).to(output.reconstruction.dtype)
    per_token = (output.reconstruction - tokens.to(output.reconstruction.dtype)).pow(2).mean(dim=-1)
    reconstruction_loss = (per_token * real).sum() / real.sum().clamp_min(1.0)
    commit_loss = output.commit_loss.to(reconstruction_loss.dtype)
    return {
        "loss": reconstruction_loss + commit_loss,
        "reconstruction_loss": reconstruction_loss,
        "commit_loss": commit_loss,
    }


class VQHeartbeatReconstructor(nn.Module):
    """Encoder – ECG vocabulary – decoder model that reconstructs every beat from its ECG word.

    Parameters
    ----------
    encoder_config : None, str or dict, default={"size": "tiny", "depth": 4}
        Encoder :class:`ECGFormer` (see :func:`resolve_ecgformer_config`).
        Official depth is 4.
    decoder_config : None, str or dict, default={"size": "tiny", "depth": 2}
        Decoder :class:`ECGFormer`; built with ``stem="linear"`` over word
        vectors. Official depth is 2.
    n_words : int, default=8192
        Vocabulary size.
    word_dim : int, default=128
        Word vector size.
    t : int, default=96
        Samples per beat.
    n_leads : int, default=12
    max_time : int, default=64
        Shared by encoder and decoder (a config that sets another value is an error).
    decay, beta, kmeans_init, dead_word_restart, dead_word_threshold, restart_every
        Passed to :class:`NormEMAQuantizer`.
    quantizer_options : dict, optional
        Further :class:`NormEMAQuantizer` arguments.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = VQHeartbeatReconstructor(n_words=64, word_dim=16)
    >>> tokens = torch.randn(2, 256, 96)
    >>> leads = torch.randint(1, 13, (2, 256)); times = torch.randint(1, 11, (2, 256))
    >>> leads[:, 200:] = 0; times[:, 200:] = 0
    >>> out = model(tokens, leads, times)
    >>> out.reconstruction.shape, out.indices.shape, int(out.indices[0, -1])
    (torch.Size([2, 256, 96]), torch.Size([2, 256]), -1)
    >>> losses = vqhbr_loss(out, tokens)
    >>> sorted(losses)
    ['commit_loss', 'loss', 'reconstruction_loss']
    >>> losses["loss"].backward()
    >>> model.encode_indices(tokens, leads, times).shape
    torch.Size([2, 256])
    """

    def __init__(self, encoder_config=None, decoder_config=None, n_words=8192, word_dim=128, t=96, n_leads=12,
                 max_time=64, decay=0.99, beta=1.0, kmeans_init=True, dead_word_restart=True,
                 dead_word_threshold=0.01, restart_every=20, quantizer_options=None):
        super().__init__()
        encoder_config = {"size": "tiny", "depth": 4} if encoder_config is None else encoder_config
        decoder_config = {"size": "tiny", "depth": 2} if decoder_config is None else decoder_config
        shared = dict(n_leads=n_leads, max_time=max_time)
        enc = self._resolve(encoder_config, "encoder_config", t=t, **shared)
        dec = self._resolve(decoder_config, "decoder_config", t=word_dim, stem="linear", **shared)
        self.t = int(t)
        self.n_words = int(n_words)
        self.word_dim = int(word_dim)
        self.encoder = ECGFormer(**enc)
        self.encode_head = _task_head(self.encoder.embed_dim, word_dim)
        self.quantizer = NormEMAQuantizer(
            n_words=n_words, word_dim=word_dim, decay=decay, beta=beta, kmeans_init=kmeans_init,
            dead_word_restart=dead_word_restart, dead_word_threshold=dead_word_threshold,
            restart_every=restart_every, **(quantizer_options or {}),
        )
        self.decoder = ECGFormer(**dec)
        self.decode_head = _task_head(self.decoder.embed_dim, t)
        for head in (self.encode_head, self.decode_head):
            for layer in head:
                if isinstance(layer, nn.Linear):
                    nn.init.trunc_normal_(layer.weight, std=0.02, a=-0.04, b=0.04)
                    nn.init.zeros_(layer.bias)

    @staticmethod
    def _resolve(config, name, **forced):
        cfg = resolve_ecgformer_config(config)
        user = {} if isinstance(config, str) else dict(config)
        for key, value in forced.items():
            if key in user and user[key] != value:
                raise ValueError(f"{name}[{key!r}]={user[key]!r} conflicts with the model's {key}={value!r}")
            cfg[key] = value
        cfg["use_cls"] = False
        cfg["use_mask_token"] = False
        return cfg

    def encode(self, tokens, leads, times):
        """Continuous (not yet quantized) word vectors of shape (B, l, word_dim), plus the padding mask."""
        features = self.encoder(tokens, leads, times)
        return self.encode_head(features.hidden), features.padding_mask

    def decode(self, words, leads, times):
        """Beats (B, l, t) from word vectors (B, l, word_dim); padding rows are set to zero."""
        hidden = self.decoder(words, leads, times).hidden
        reconstruction = self.decode_head(hidden)
        return reconstruction * (leads != 0)[..., None].to(reconstruction.dtype)

    def forward(self, tokens, leads, times):
        """Encode, quantize the real tokens, decode.

        Parameters
        ----------
        tokens : torch.Tensor of shape (B, l, t)
        leads, times : torch.Tensor of shape (B, l), integer (0 at padding)

        Returns
        -------
        VQHBROutput
        """
        length = tokens.shape[1]
        n = _real_length(leads)
        tokens, leads, times = tokens[:, :n], leads[:, :n], times[:, :n]
        z, padding_mask = self.encode(tokens, leads, times)
        q = self.quantizer(z, valid=~padding_mask)
        reconstruction = self.decode(q.quantized, leads, times)
        pad = length - n
        if pad:
            reconstruction = F.pad(reconstruction, (0, 0, 0, pad))
            indices = F.pad(q.indices, (0, pad), value=-1)
            padding_mask = F.pad(padding_mask, (0, pad), value=True)
        else:
            indices = q.indices
        return VQHBROutput(reconstruction, indices, q.commit_loss, q.perplexity, q.n_active, padding_mask)

    def loss(self, output, tokens):
        """Shortcut for :func:`vqhbr_loss`."""
        return vqhbr_loss(output, tokens)

    @torch.no_grad()
    def encode_indices(self, tokens, leads, times):
        """ECG word index of every token (inference: evaluation mode, no codebook update).

        Returns
        -------
        torch.Tensor of shape (B, l), int64
            -1 at padding tokens.
        """
        n = _real_length(leads)
        with eval_mode(self):
            z, padding_mask = self.encode(tokens[:, :n], leads[:, :n], times[:, :n])
            indices = self.quantizer.encode(z).masked_fill(padding_mask, -1)
        return F.pad(indices, (0, leads.shape[1] - n), value=-1)

    @torch.no_grad()
    def decode_indices(self, indices, leads, times):
        """Reconstruct beats (B, l, t) from word indices (B, l); -1 (padding) rows come back as zeros."""
        n = _real_length(indices + 1)
        with eval_mode(self):
            valid = indices[:, :n] >= 0
            words = self.quantizer.lookup(indices[:, :n].clamp_min(0)) * valid[..., None]
            beats = self.decode(words, leads[:, :n] * valid, times[:, :n] * valid)
        return F.pad(beats, (0, 0, 0, indices.shape[1] - n))
