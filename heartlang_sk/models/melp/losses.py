"""MELP's three training signals as torch functions and modules (no scikit-learn here).

Contract (MELP, Wang et al. ICML 2025; MERL, Liu et al. ICML 2024 for the global term):

- :func:`global_contrastive_loss` — rhythm level: CLIP's symmetric InfoNCE between the unit ECG
  and report vectors of a batch, scaled by a learnable temperature. Reports that are the same text
  after normalisation (PTB-XL has hundreds of ``sinusrhythmus normales ekg``) are positives of each
  other's ECGs (``same_report``), instead of false negatives.
- :func:`local_contrastive_loss` — beat level: GLoRIA's attention-weighted local contrast as MELP
  uses it. Each report phrase attends over the beats of an ECG; the phrase is compared (cosine)
  with its attention-weighted beat context; phrase similarities are aggregated by log-sum-exp into a
  report-to-ECG score, and the batch's score matrix goes through the same symmetric cross-entropy.
- :class:`CaptionDecoder` and :func:`caption_loss` — token level: a small causal transformer
  decoder that reads the ECG token states through cross-attention and predicts the report's next
  word (teacher forcing); the loss is the cross-entropy over real target words.

Every function returns a scalar tensor and accepts padding masks, so a batch mixes sentences and
reports of any length.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CaptionDecoder", "beat_means", "caption_loss", "global_contrastive_loss", "local_contrastive_loss",
           "same_report_targets"]


def same_report_targets(report_keys):
    """(B, B) float target matrix: 1 where two rows of a batch carry the same report text.

    Parameters
    ----------
    report_keys : torch.Tensor of shape (B,), int
        An id of each row's normalised report (equal ids = identical reports).

    Examples
    --------
    >>> same_report_targets(torch.tensor([7, 3, 7])).tolist()
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    """
    return (report_keys[:, None] == report_keys[None, :]).float()


def _symmetric_cross_entropy(logits, targets=None):
    if targets is None:
        labels = torch.arange(logits.shape[0], device=logits.device)
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    rows = targets / targets.sum(dim=1, keepdim=True)
    columns = targets.T / targets.T.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, rows) + F.cross_entropy(logits.T, columns))


def global_contrastive_loss(ecg, text, logit_scale, targets=None):
    """Symmetric InfoNCE between ECG and report vectors (CLIP / MERL / MELP's global loss).

    Parameters
    ----------
    ecg, text : torch.Tensor of shape (B, D)
        Embeddings of the paired ECGs and reports (normalised here).
    logit_scale : torch.Tensor, scalar
        The log of the inverse temperature (learnable; ``exp`` is clamped at 100 as in CLIP).
    targets : torch.Tensor of shape (B, B), optional
        Positive pairs (e.g. :func:`same_report_targets`); default: the diagonal only.

    Returns
    -------
    torch.Tensor, scalar

    Examples
    --------
    >>> ecg = torch.eye(3); text = torch.eye(3)
    >>> round(float(global_contrastive_loss(ecg, text, torch.tensor(math.log(100.0)))), 4)
    0.0
    >>> round(float(global_contrastive_loss(ecg, text.flip(0), torch.tensor(0.0))), 3)  # two of three pairs wrong
    1.218
    """
    ecg, text = F.normalize(ecg.float(), dim=-1), F.normalize(text.float(), dim=-1)
    logits = logit_scale.float().exp().clamp(max=100.0) * ecg @ text.T
    return _symmetric_cross_entropy(logits, targets)


def beat_means(hidden, leads, padding_mask=None):
    """Beat vectors: the mean over leads of the token states of each beat.

    ECG sentences are lead-major (every lead lists the same beats in order, cut at the same R
    peaks), so the ``k``-th token of each lead belongs to beat ``k``: the beat view of MELP comes
    from the tokenizer for free.

    Parameters
    ----------
    hidden : torch.Tensor of shape (B, l, D)
    leads : torch.Tensor of shape (B, l), int
        Lead of each token, 0 at padding.
    padding_mask : torch.Tensor of shape (B, l), bool, optional
        Default ``leads == 0``.

    Returns
    -------
    beats : torch.Tensor of shape (B, K, D)
        ``K`` the most beats of any lead in the batch.
    beat_mask : torch.Tensor of shape (B, K), bool
        True where the beat exists.

    Examples
    --------
    >>> h = torch.tensor([[[1.0], [2.0], [3.0], [4.0], [0.0]]])
    >>> leads = torch.tensor([[1, 1, 2, 2, 0]])  # two beats on two leads, then padding
    >>> b, m = beat_means(h, leads)
    >>> b.squeeze(-1).tolist(), m.tolist()
    ([[2.0, 3.0]], [[True, True]])
    """
    if padding_mask is None:
        padding_mask = leads == 0
    n_leads = int(leads.max().clamp_min(1)) + 1
    lead_one_hot = F.one_hot(leads.long().clamp_min(0), n_leads)
    beat_index = ((lead_one_hot.cumsum(dim=1) * lead_one_hot).sum(-1) - 1).masked_fill(padding_mask, -1)
    n_beats = int(beat_index.max().clamp_min(0)) + 1
    valid = beat_index >= 0
    one_hot = F.one_hot(beat_index.clamp_min(0), n_beats).to(hidden.dtype) * valid[..., None].to(hidden.dtype)
    counts = one_hot.sum(dim=1)
    beats = torch.einsum("blk,bld->bkd", one_hot, hidden) / counts.clamp_min(1.0)[..., None]
    return beats, counts > 0


def local_contrastive_loss(beats, beat_mask, phrases, phrase_mask, attention_temperature=4.0,
                           phrase_temperature=5.0, report_temperature=10.0, targets=None):
    """Attention-weighted local contrast between ECG beats and report phrases (GLoRIA, MELP).

    For report ``i`` and ECG ``j``: each phrase ``s`` of report ``i`` attends over the beats of ECG
    ``j`` (softmax of ``attention_temperature`` × cosine), giving the context ``c_ijs``; the score
    is ``log Σ_s exp(phrase_temperature · cos(phrase_s, c_ijs))`` × ``report_temperature``. The
    (B, B) score matrix is trained with the symmetric cross-entropy of the global loss.

    Parameters
    ----------
    beats : torch.Tensor of shape (B, K, D)
    beat_mask : torch.Tensor of shape (B, K), bool
        True where the beat exists.
    phrases : torch.Tensor of shape (B, P, D)
    phrase_mask : torch.Tensor of shape (B, P), bool
        True where the phrase exists.
    attention_temperature, phrase_temperature, report_temperature : float
        GLoRIA's ``temp1``, ``temp2``, ``temp3`` (MELP's defaults 4, 5, 10).
    targets : torch.Tensor of shape (B, B), optional
        Positive pairs, as in :func:`global_contrastive_loss`.

    Returns
    -------
    loss : torch.Tensor, scalar
    attention : torch.Tensor of shape (B, P, K)
        Each report's phrase-over-beat attention on its own ECG (for inspection).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> beats = torch.randn(4, 6, 8); phrases = beats[:, :2] + 0.01 * torch.randn(4, 2, 8)
    >>> ok = torch.ones(4, 6, dtype=torch.bool); pm = torch.ones(4, 2, dtype=torch.bool)
    >>> matched, _ = local_contrastive_loss(beats, ok, phrases, pm)
    >>> shuffled, _ = local_contrastive_loss(beats, ok, phrases.roll(1, 0), pm)
    >>> bool(matched < shuffled)
    True
    """
    beats = F.normalize(beats.float(), dim=-1)
    phrases = F.normalize(phrases.float(), dim=-1)
    scores = torch.einsum("ipd,jkd->ijpk", phrases, beats)
    scores = scores.masked_fill(~beat_mask[None, :, None, :], float("-inf"))
    # An ECG with no beat at all attends uniformly over its (padding) slots instead of giving NaN.
    scores = torch.where(beat_mask.any(dim=1)[None, :, None, None], scores, torch.zeros_like(scores))
    attention = torch.softmax(attention_temperature * scores, dim=-1)
    context = F.normalize(torch.einsum("ijpk,jkd->ijpd", attention, beats), dim=-1)
    similarity = (phrases[:, None] * context).sum(-1)  # (B_report, B_ecg, P)
    similarity = (phrase_temperature * similarity).masked_fill(~phrase_mask[:, None, :], float("-inf"))
    report_to_ecg = report_temperature * torch.logsumexp(similarity, dim=-1)  # (B_report, B_ecg)
    diagonal = torch.arange(beats.shape[0], device=beats.device)
    return _symmetric_cross_entropy(report_to_ecg.T, targets), attention[diagonal, diagonal]


class CaptionDecoder(nn.Module):
    """A small causal transformer decoder that writes the report from the ECG token states.

    Parameters
    ----------
    n_words : int
        Output vocabulary (the built-in tokenizer's words; id 0 padding, 2 ``<bos>``, 3 ``<eos>``).
    memory_dim : int
        Width of the ECG token states it cross-attends to.
    width : int, default=64
    depth : int, default=2
    num_heads : int, default=4
    max_length : int, default=65
        Longest decoded sequence (``max_words`` + 1).

    Examples
    --------
    >>> decoder = CaptionDecoder(n_words=12, memory_dim=16, width=16, depth=1, max_length=6)
    >>> memory = torch.randn(2, 5, 16); words = torch.tensor([[4, 5, 0, 0, 0], [6, 7, 8, 9, 10]])
    >>> logits, targets = decoder(memory, torch.zeros(2, 5, dtype=torch.bool), words)
    >>> logits.shape, targets[0].tolist()  # <eos> after the last word, then padding
    (torch.Size([2, 6, 12]), [4, 5, 3, 0, 0, 0])
    """

    def __init__(self, n_words, memory_dim, width=64, depth=2, num_heads=4, max_length=65):
        super().__init__()
        self.max_length = int(max_length)
        self.words = nn.Embedding(n_words, width, padding_idx=0)
        self.positions = nn.Embedding(max_length, width)
        self.memory = nn.Linear(memory_dim, width)
        layer = nn.TransformerDecoderLayer(width, num_heads, 4 * width, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.layers = nn.TransformerDecoder(layer, depth)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_words)

    @staticmethod
    def teacher_forcing(words):
        """Decoder inputs (``<bos>`` + words) and targets (words + ``<eos>``), both (B, L + 1)."""
        lengths = (words > 0).sum(dim=1)
        pad = words.new_zeros(words.shape[0], 1)
        inputs = torch.cat([torch.full_like(pad, 2), words], dim=1)
        targets = torch.cat([words, pad], dim=1)
        targets[torch.arange(len(words), device=words.device), lengths] = 3
        inputs = inputs.masked_fill(torch.cat([pad.bool(), words == 0], dim=1), 0)
        return inputs, targets

    def logits(self, memory, memory_padding_mask, inputs):
        length = inputs.shape[1]
        positions = torch.arange(length, device=inputs.device).clamp(max=self.max_length - 1)
        x = self.words(inputs) + self.positions(positions)[None]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=inputs.device), 1)
        # A sentence of padding only would leave cross-attention without a key: let it see them all.
        memory_padding_mask = memory_padding_mask & memory_padding_mask.logical_not().any(1, keepdim=True)
        x = self.layers(x, self.memory(memory), tgt_mask=causal, memory_key_padding_mask=memory_padding_mask)
        return self.head(self.norm(x))

    def forward(self, memory, memory_padding_mask, words):
        """Next-word logits (B, L + 1, n_words) under teacher forcing, and the targets (B, L + 1)."""
        words = words[:, :self.max_length - 1]
        inputs, targets = self.teacher_forcing(words)
        return self.logits(memory, memory_padding_mask, inputs), targets

    @torch.no_grad()
    def generate(self, memory, memory_padding_mask, max_words=None):
        """Greedy decoding: word ids (B, max_words), 0 after ``<eos>``."""
        max_words = max_words or self.max_length - 1
        batch = memory.shape[0]
        inputs = torch.full((batch, 1), 2, dtype=torch.long, device=memory.device)
        done = torch.zeros(batch, dtype=torch.bool, device=memory.device)
        out = []
        for _ in range(max_words):
            step = self.logits(memory, memory_padding_mask, inputs)[:, -1]
            step[:, :3] = float("-inf")  # never padding, <unk> or <bos>
            word = step.argmax(-1).masked_fill(done, 0)
            done |= word == 3
            out.append(word.masked_fill(word == 3, 0))
            inputs = torch.cat([inputs, word[:, None].clamp_min(2)], dim=1)
            if bool(done.all()):
                break
        return torch.stack(out, dim=1)


def caption_loss(logits, targets):
    """Mean cross-entropy of the next-word logits over real targets (padding ``0`` ignored).

    Examples
    --------
    >>> logits = torch.zeros(1, 3, 5); logits[0, [0, 1], [4, 3]] = 20.0
    >>> round(float(caption_loss(logits, torch.tensor([[4, 3, 0]]))), 4)
    0.0
    """
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0)
