"""Training machinery shared by the estimators: a skorch net for dict-of-losses modules, the
sentence dataset, the learning-rate schedule, device and seed helpers.

The estimators (:class:`~heartlang_sk.ECGVocabulary`, ...) store parameters only and build a
:class:`HeartLangNet` in ``fit``; this module holds no scikit-learn estimator.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from ..io.store import release_mapped_pages

__all__ = ["HeartLangNet", "SentenceDataset", "WarmupCosine", "amp_dtype", "device_batches", "fit_net",
           "history_frame", "resolve_device", "torch_seed", "validation_split"]


def resolve_device(device="auto"):
    """``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; anything else unchanged.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def torch_seed(random_state):
    """An int seed for torch from a scikit-learn ``random_state`` (None draws one from numpy).

    Examples
    --------
    >>> torch_seed(3)
    3
    >>> torch_seed(np.random.RandomState(0)) == torch_seed(np.random.RandomState(0))
    True
    """
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}")


def amp_dtype(precision, device):
    """The autocast dtype for ``precision`` on ``device``, or None for full float32.

    ``"auto"`` is bfloat16 on CUDA and float32 on CPU (CPU autocast is slower than float32 there).
    """
    if precision == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else None
    if precision in ("bf16", "bfloat16"):
        return torch.bfloat16
    if precision in ("fp16", "float16"):
        return torch.float16
    if precision in ("fp32", "float32", None):
        return None
    raise ValueError(f"precision must be 'auto', 'bf16', 'fp16' or 'fp32', got {precision!r}")


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


def device_batches(sentences, batch_size, device, **arrays):
    """Inference batches of ``sentences`` (and per-record ``arrays``) as dicts of tensors on ``device``."""
    for batch, _ in SentenceDataset(sentences, **arrays).batches(batch_size):
        yield {key: value.to(device) for key, value in batch.items()}


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


class HeartLangNet(NeuralNet):
    """A skorch net whose module returns a dict of named scalar terms, ``"loss"`` the one to minimise.

    Every other scalar in the dict (each loss term and each metric) is recorded per batch as
    ``train_<name>`` / ``valid_<name>``; :class:`skorch.callbacks.PassthroughScoring` turns them
    into epoch averages. Mixed precision runs the forward pass under ``torch.autocast``.

    Parameters
    ----------
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
        bfloat16 autocast on CUDA, float32 on CPU for ``"auto"``.
    **kwargs
        As :class:`skorch.NeuralNet`; ``criterion`` is unused (the module computes its loss).
    """

    def __init__(self, module, *args, precision="auto", criterion=torch.nn.Identity, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.precision = precision

    def infer(self, x, **fit_params):
        dtype = amp_dtype(self.precision, self.device)
        with torch.autocast(device_type=torch.device(self.device).type, dtype=dtype,
                            enabled=dtype is not None):
            return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        prefix = "train" if training else "valid"
        for name, value in y_pred.items():
            if name != "loss" and torch.is_tensor(value) and value.ndim == 0:
                self.history.record_batch(f"{prefix}_{name}", float(value.detach()))
        return y_pred["loss"]

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred["loss"].detach()}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred["loss"]}


def validation_split(validation_dataset, valid_fraction, seed):
    """skorch ``train_split``: a fixed validation dataset, a random fraction, or none."""
    if validation_dataset is not None:
        from skorch.helper import predefined_split

        return predefined_split(validation_dataset)
    if valid_fraction > 0:
        from skorch.dataset import ValidSplit

        return ValidSplit(valid_fraction, random_state=seed)
    return None


def history_frame(net):
    """The per-epoch history of a skorch net as a DataFrame (no batches, no ``*_best`` flags)."""
    import pandas as pd

    return pd.DataFrame([{k: v for k, v in row.items() if k != "batches" and not k.endswith("_best")}
                         for row in net.history])


def fit_net(net, dataset, checkpoint_dir=None, resume=False, initial_state=None):
    """Train ``net`` on ``dataset`` for ``net.max_epochs``, resuming from a checkpoint if asked.

    With ``resume`` and a checkpoint from an earlier, interrupted fit in ``checkpoint_dir``
    (parameters, optimizer and history saved after every epoch), training continues after the
    last saved epoch instead of starting over. ``initial_state(module)`` is called on the freshly
    initialised module before training (warm start from another model).
    """
    from pathlib import Path

    from skorch.callbacks import Checkpoint

    saved = checkpoint_dir is not None and (Path(checkpoint_dir) / "history.json").exists()
    net.initialize()
    if resume and saved:
        net.load_params(checkpoint=Checkpoint(dirname=str(checkpoint_dir), f_criterion=None))
    elif initial_state is not None:
        initial_state(net.module_)
    remaining = net.max_epochs - len(net.history)
    if remaining > 0:
        net.partial_fit(dataset, epochs=remaining)
    return net
