"""ECG sentences as torch data: the dataset the nets train on (tokens built batch by batch, memory-mapped
pages released after each), inference batches on a device, and the validation split skorch uses."""

from __future__ import annotations

import numpy as np
import torch

from ..io.store import release_mapped_pages

__all__ = ["SentenceDataset", "beat_time_arrays", "device_batches", "validation_split"]


class SentenceDataset(torch.utils.data.Dataset):
    """ECG sentences as a torch dataset of ``({"tokens", "leads", "times"[, "words"]}, target)`` items.

    Tokens are built batch by batch from the sentence store (``__getitems__``), so an epoch never
    holds more than one batch of tokens in memory. Sentences opened memory-mapped
    (``ECGSentences.load``) hand the pages they read back to the system after each batch, so a
    store larger than memory streams through in bounded memory.

    Parameters
    ----------
    sentences : ECGSentences
    targets : array-like of shape (n_records, ...), optional
        Per-record targets (e.g. multi-label outcomes), float32; a dummy 0 when absent.
    **arrays : array-like of shape (n_records, ...)
        Further per-record inputs passed to the module under their names, e.g. ``words``
        (per-token ECG word targets, -1 at padding) or ``labels``.
    """

    def __init__(self, sentences, targets=None, **arrays):
        self.sentences = sentences
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float32)
        self.arrays = {name: np.asarray(values) for name, values in arrays.items() if values is not None}

    def __len__(self):
        return len(self.sentences)

    def _batch(self, indices):
        indices = np.asarray(indices, dtype=np.intp)
        part = self.sentences[indices]
        X = {
            "tokens": torch.from_numpy(part.tokens),
            "leads": torch.from_numpy(part.leads.astype(np.int64)),
            "times": torch.from_numpy(part.times.astype(np.int64)),
        }
        for name, values in self.arrays.items():
            X[name] = torch.from_numpy(np.ascontiguousarray(values[indices]))
        y = (torch.zeros(len(indices)) if self.targets is None
             else torch.from_numpy(self.targets[indices]))
        release_mapped_pages(self.sentences)
        return X, y

    def __getitems__(self, indices):
        X, y = self._batch(indices)
        return [({key: value[i] for key, value in X.items()}, y[i]) for i in range(len(indices))]

    def __getitem__(self, index):
        return self.__getitems__([index])[0]

    def batches(self, batch_size):
        """Iterate over ``(X, y)`` batches in order (for inference)."""
        for start in range(0, len(self), batch_size):
            yield self._batch(np.arange(start, min(start + batch_size, len(self))))


def beat_time_arrays(sentences, reads_rhythm):
    """The per-record arrays a network that reads the rhythm needs beside the tokens.

    ``{"beat_times": sentences.beat_times}`` when ``reads_rhythm`` (an encoder with
    ``temporal_encoding="rhythm"``, or a rhythm target), else ``{}``; pass it to
    :class:`SentenceDataset` or :func:`device_batches` as keyword arguments.
    """
    return {"beat_times": sentences.beat_times} if reads_rhythm else {}


def device_batches(sentences, batch_size, device, **arrays):
    """Inference batches of ``sentences`` (and per-record ``arrays``) as dicts of tensors on ``device``."""
    for batch, _ in SentenceDataset(sentences, **arrays).batches(batch_size):
        yield {key: value.to(device) for key, value in batch.items()}


def validation_split(validation_dataset, valid_fraction, seed):
    """skorch ``train_split``: a fixed validation dataset, a random fraction, or none."""
    if validation_dataset is not None:
        from skorch.helper import predefined_split

        return predefined_split(validation_dataset)
    if valid_fraction > 0:
        from skorch.dataset import ValidSplit

        return ValidSplit(valid_fraction, random_state=seed)
    return None
