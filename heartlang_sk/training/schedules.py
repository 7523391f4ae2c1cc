"""Learning-rate schedules, as skorch callbacks: :class:`WarmupCosine` (linear warm-up, then cosine
decay, per batch; a resumed fit continues where it stopped)."""

from __future__ import annotations

import math

from skorch.callbacks import Callback

__all__ = ["WarmupCosine"]


class WarmupCosine(Callback):
    """Per-batch learning rate: linear warm-up to the optimiser's lr, then cosine decay to ``min_lr``.

    The schedule spans ``max_epochs`` epochs of the training split; the number of batches per
    epoch is read from the training data at the start of each epoch.

    Parameters
    ----------
    warmup_epochs : float, default=1.0
        Length of the linear warm-up, in epochs (may be fractional).
    min_lr : float, default=1e-5
    """

    def __init__(self, warmup_epochs=1.0, min_lr=1e-5):
        self.warmup_epochs = warmup_epochs
        self.min_lr = min_lr

    def initialize(self):
        self.step_ = 0
        self.batches_per_epoch_ = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        batch_size = net.get_params().get("iterator_train__batch_size") or net.batch_size
        # Under an accelerate.Accelerator each process steps through its share of the batches.
        accelerator = getattr(net, "accelerator", None)
        processes = (1 if accelerator is None or getattr(accelerator, "split_batches", False)
                     else accelerator.num_processes)
        self.batches_per_epoch_ = max(1, math.ceil(len(dataset_train) / (batch_size * processes)))

    def learning_rate(self, peak):
        total = max(1, self.batches_per_epoch_ * max(1, getattr(self, "max_epochs_", 1)))
        warmup = min(total - 1, round(self.warmup_epochs * self.batches_per_epoch_))
        if self.step_ < warmup:
            return peak * (self.step_ + 1) / (warmup + 1)
        progress = (self.step_ - warmup) / max(1, total - warmup)
        return self.min_lr + 0.5 * (peak - self.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))

    def on_train_begin(self, net, **kwargs):
        self.max_epochs_ = net.max_epochs
        # A resumed fit continues the schedule where the saved history stopped.
        self.step_ = sum(row.get("train_batch_count", 0) for row in net.history)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        lr = self.learning_rate(net.lr)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        net.history.record_batch("lr", lr)
        self.step_ += 1
