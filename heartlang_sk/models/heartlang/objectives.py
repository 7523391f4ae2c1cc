"""Training objectives: modules that return every loss term and metric as a dict of scalars.

The skorch net (``heartlang_sk.training.HeartLangNet``) back-propagates ``"loss"`` and records every
other scalar in the history, so each term the paper names is visible per batch and per epoch.
"""

import torch
from torch import nn

from ...nn.label_objective import LabelObjective
from ...nn.masked_words import MASK_UNITS, MaskedWordObjective
from .heads import ECGFormerClassifier, MaskedWordPredictor
from .vqhbr import VQHeartbeatReconstructor, vqhbr_loss

__all__ = ["ClassificationObjective", "PretrainingObjective", "VocabularyObjective", "reconstruction_sums"]


def reconstruction_sums(reconstruction, tokens, padding_mask):
    """Sums over the samples of real tokens from which R² of a whole epoch is computed exactly.

    Returns ``sse`` (squared error), ``sum_x``, ``sum_x2`` (target sum and sum of squares) and
    ``n_values``, as float64 scalars.
    """
    real = (~padding_mask)[..., None].to(torch.float64)
    target = tokens.to(torch.float64)
    error = (reconstruction.to(torch.float64) - target) * real
    n_values = real.sum() * tokens.shape[-1]
    return {
        "sse": error.pow(2).sum(),
        "sum_x": (target * real).sum(),
        "sum_x2": (target.pow(2) * real).sum(),
        "n_values": n_values,
    }


class VocabularyObjective(nn.Module):
    """VQ heartbeat reconstruction as a training objective (paper §2.3, loss L_V).

    ``forward`` returns ``loss`` (reconstruction MSE over real tokens + commitment), each term,
    the batch's word perplexity and active words, and the sums for an exact epoch R².

    Parameters
    ----------
    **kwargs
        Passed to :class:`~heartlang_sk.nn.VQHeartbeatReconstructor` (the model is ``.model``).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> objective = VocabularyObjective(n_words=16, word_dim=8)
    >>> tokens = torch.randn(2, 8, 96)
    >>> leads = torch.tensor([[1, 1, 2, 2, 0, 0, 0, 0]] * 2); times = (leads > 0).long()
    >>> out = objective(tokens, leads, times)
    >>> sorted(out)[:4]
    ['active_words', 'commit_loss', 'loss', 'n_values']
    >>> out["loss"].backward()
    """

    def __init__(self, **kwargs):
        super().__init__()
        self.model = VQHeartbeatReconstructor(**kwargs)

    def forward(self, tokens, leads, times):
        output = self.model(tokens, leads, times)
        terms = vqhbr_loss(output, tokens)
        with torch.no_grad():
            terms.update(reconstruction_sums(output.reconstruction, tokens, output.padding_mask))
            terms["perplexity"] = output.perplexity.detach().float()
            terms["active_words"] = output.n_active.detach().float()
        return terms


class PretrainingObjective(MaskedWordObjective):
    """Masked ECG-sentence pre-training as a training objective (paper §2.4).

    ``mask_ratio`` of each sentence's real beats (never padding) are replaced by the learnable mask
    token after the per-beat embedding; a linear head predicts each masked beat's ECG word;
    cross-entropy over the masked beats. ``forward`` returns ``loss``, ``masked_accuracy`` and the
    number of masked targets.

    Parameters
    ----------
    encoder_config : str or dict
        The :class:`~heartlang_sk.nn.ECGFormer` (see ``resolve_ecgformer_config``).
    n_words : int
        Vocabulary size.
    mask_ratio : float, default=0.5
    mask_unit : {"token", "lead"}, default="token"
        Mask single beats (the paper, :func:`~heartlang_sk.nn.random_token_mask`) or every beat of
        ``mask_ratio`` of the leads (:func:`~heartlang_sk.nn.random_lead_mask`).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> objective = PretrainingObjective({"size": "tiny", "depth": 1}, n_words=16)
    >>> tokens = torch.randn(2, 8, 96)
    >>> leads = torch.tensor([[1, 1, 2, 2, 3, 3, 0, 0]] * 2); times = (leads > 0).long()
    >>> words = torch.randint(0, 16, (2, 8)).masked_fill(leads == 0, -1)
    >>> out = objective(tokens, leads, times, words)
    >>> int(out["n_masked"])  # half of the 6 real beats, in each of 2 sentences
    6
    """

    def __init__(self, encoder_config, n_words, mask_ratio=0.5, mask_unit="token"):
        super().__init__(MaskedWordPredictor(encoder_config, n_words), mask_ratio, mask_unit)


class ClassificationObjective(LabelObjective):
    """Fine-tuning objective: encoder + linear head, multi-label BCE or single-label cross-entropy.

    ``forward`` returns ``loss`` and ``accuracy`` (exact-match for multi-label).

    Parameters
    ----------
    encoder_config : str or dict
    n_outputs : int
    multilabel : bool, default=True
    pooling : {"mean", "cls"}, default="mean"
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> objective = ClassificationObjective({"size": "tiny", "depth": 1}, n_outputs=3)
    >>> tokens = torch.randn(2, 4, 96); leads = torch.ones(2, 4, dtype=torch.long)
    >>> out = objective(tokens, leads, leads, torch.tensor([[1., 0., 1.], [0., 1., 0.]]))
    >>> sorted(out)
    ['accuracy', 'loss']
    """

    def __init__(self, encoder_config, n_outputs, multilabel=True, pooling="mean", dropout=0.0):
        super().__init__(ECGFormerClassifier(encoder_config, n_outputs, pooling=pooling, dropout=dropout),
                         multilabel)
