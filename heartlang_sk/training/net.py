"""Training machinery shared by the estimators: a skorch net for dict-of-losses modules, its history
and the fit with checkpoints. The sentence dataset (``data``), the learning-rate schedule
(``schedules``) and the device and seed helpers (``device``) are importable here too.

The estimators (:class:`~heartlang_sk.ECGVocabulary`, ...) store parameters only and build a
:class:`HeartLangNet` in ``fit``; this module holds no scikit-learn estimator.
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data

from .data import SentenceDataset, beat_time_arrays, device_batches, validation_split
from .device import amp_dtype, resolve_device, torch_seed
from .schedules import WarmupCosine

__all__ = ["HeartLangNet", "SentenceDataset", "WarmupCosine", "amp_dtype", "beat_time_arrays", "device_batches", "fit_net", "make_net",
           "history_frame", "resolve_device", "torch_seed", "validation_split"]


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


def make_net(module, *, accelerator=None, **kwargs):
    """The estimators' skorch net: :class:`~heartlang_sk.training.HeartLangNet`, or an
    :class:`~heartlang_sk.training.distributed.AcceleratedHeartLangNet` when an ``accelerate.Accelerator`` is given.

    With an accelerator, ``device`` is replaced by the accelerator's.

    Examples
    --------
    >>> from heartlang_sk.models.heartlang.objectives import VocabularyObjective
    >>> type(make_net(VocabularyObjective, device="cpu")).__name__
    'HeartLangNet'
    """
    if accelerator is None:
        return HeartLangNet(module, **kwargs)
    from .distributed import AcceleratedHeartLangNet  # only multi-process training needs skorch.hf

    kwargs["device"] = None
    return AcceleratedHeartLangNet(module, accelerator=accelerator, **kwargs)
