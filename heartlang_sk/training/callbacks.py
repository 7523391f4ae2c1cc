"""skorch callbacks that put what users inspect into the training history."""

from __future__ import annotations

from skorch.callbacks import Callback

__all__ = ["CodebookMonitor", "EpochR2"]


class EpochR2(Callback):
    """Exact R² of the reconstruction over an epoch's real tokens, from per-batch sums.

    The objective records ``<split>_sse``, ``<split>_sum_x``, ``<split>_sum_x2`` and
    ``<split>_n_values`` per batch; this callback records ``train_r2`` / ``valid_r2`` per epoch:
    the fraction of the variance of the non-padding beat samples that the reconstruction explains.
    """

    def on_epoch_end(self, net, **kwargs):
        batches = net.history[-1]["batches"]
        for split in ("train", "valid"):
            rows = [b for b in batches if f"{split}_sse" in b]
            if not rows:
                continue
            sse = sum(b[f"{split}_sse"] for b in rows)
            n = sum(b[f"{split}_n_values"] for b in rows)
            total = sum(b[f"{split}_sum_x2"] for b in rows) - sum(b[f"{split}_sum_x"] for b in rows) ** 2 / max(n, 1)
            net.history.record(f"{split}_r2", 1.0 - sse / total if total > 0 else float("nan"))


class CodebookMonitor(Callback):
    """Codebook use over each epoch's training batches: active words, utilisation, perplexity,
    words restarted so far.

    Parameters
    ----------
    quantizer : callable
        ``quantizer(net)`` returns the :class:`~heartlang_sk.nn.NormEMAQuantizer` to watch.
    """

    def __init__(self, quantizer):
        self.quantizer = quantizer

    def on_epoch_begin(self, net, **kwargs):
        self.quantizer(net).reset_usage()
        self.training_stats_ = None

    def on_batch_begin(self, net, training=False, **kwargs):
        # The quantizer counts inference too: read its use before validation batches add to it.
        if not training and self.training_stats_ is None:
            self.training_stats_ = self.quantizer(net).usage_stats()

    def on_epoch_end(self, net, **kwargs):
        stats = self.training_stats_ or self.quantizer(net).usage_stats()
        net.history.record("active_words", stats["active_words"])
        net.history.record("utilization", stats["utilization"])
        net.history.record("perplexity", stats["perplexity"])
        net.history.record("words_restarted", stats["n_restarted"])
