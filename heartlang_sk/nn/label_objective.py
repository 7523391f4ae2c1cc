"""Fine-tuning on labels, shared by every architecture's classification objective.

Contract: :class:`LabelObjective` holds a classifier ``model`` — called as
``model(tokens, leads, times, **extra)`` (``extra``: e.g. ``beat_times`` for an encoder that reads
the rhythm; only what the batch holds), returning one row of logits per sentence — and turns its logits
into the terms the training history records: ``loss`` (binary cross-entropy, one sigmoid per class,
for multi-label indicator ``labels``; softmax cross-entropy on the one-hot ``labels`` otherwise) and
``accuracy`` (exact match for multi-label).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

__all__ = ["LabelObjective"]


class LabelObjective(nn.Module):
    """Logits of ``model`` against ``labels``: the loss and accuracy terms (see the module).

    Parameters
    ----------
    model : torch.nn.Module
    multilabel : bool, default=True
    """

    def __init__(self, model, multilabel=True):
        super().__init__()
        self.model = model
        self.multilabel = bool(multilabel)

    def forward(self, tokens, leads, times, labels, **extra):
        logits = self.model(tokens, leads, times, **extra).float()
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(logits, labels.float())
            correct = ((logits > 0) == (labels > 0.5)).all(dim=1)
        else:
            target = labels.argmax(dim=1)
            loss = F.cross_entropy(logits, target)
            correct = logits.argmax(dim=1) == target
        return {"loss": loss, "accuracy": correct.float().mean().detach()}
