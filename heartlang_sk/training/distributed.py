"""Multi-GPU and multi-node training through Hugging Face Accelerate and skorch's ``AccelerateMixin``.

Give :class:`~heartlang_sk.ECGVocabulary` or :class:`~heartlang_sk.HeartLangPretrainer` an
``accelerate.Accelerator`` and start the script with ``accelerate launch`` (or ``torchrun``)::

    # train.py
    from accelerate import Accelerator
    accelerator = Accelerator(mixed_precision="bf16")
    S = ECGSentences.load("store")                      # every process reads the same store
    vocab = ECGVocabulary(accelerator=accelerator, random_state=0).fit(S)
    pre = HeartLangPretrainer(vocab, accelerator=accelerator, random_state=0).fit(S)
    if accelerator.is_main_process:
        joblib.dump(pre, "pretrainer.joblib")

    $ accelerate launch --multi_gpu --num_processes 8 train.py                  # one node
    $ accelerate launch --multi_gpu --num_machines 2 --machine_rank 0 \\
          --main_process_ip node0 --main_process_port 29500 --num_processes 16 train.py

Every process then trains the same model under DistributedDataParallel on its share of each epoch's
batches (``batch_size`` sentences per process and step), in the accelerator's mixed precision. The
EMA codebook of the vocabulary is not trained by gradients, so DDP alone would let it drift apart
between processes: its statistics are summed over processes (``torch.distributed.all_reduce``) and
its k-means initialisation and dead-word restarts are taken from process 0 (``broadcast``), which
keeps the codebook identical everywhere (:func:`connect_quantizers`).

The estimator's ``device`` and ``precision`` give way to the accelerator's device and mixed
precision while training. After ``fit`` every process holds the same fitted estimator, with a plain
(unwrapped) module, so it pickles, transforms and embeds as a single-process one does.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor

from .net import HeartLangNet

__all__ = ["AcceleratedHeartLangNet", "all_reduce_sum", "broadcast_from_main", "connect_quantizers",
           "make_net"]


def _accelerator_device(accelerator):
    # Under torchrun accelerate gives CPU processes the device "cpu:0", which torch.load cannot
    # map to when the fitted net is unpickled: CPU is "cpu".
    device = torch.device(accelerator.device)
    return "cpu" if device.type == "cpu" else str(device)


def _distributed():
    return (torch.distributed.is_available() and torch.distributed.is_initialized()
            and torch.distributed.get_world_size() > 1)


def all_reduce_sum(tensor):
    """Sum ``tensor`` in place over all processes (no-op outside a multi-process group).

    Examples
    --------
    >>> import torch
    >>> all_reduce_sum(torch.ones(3))  # a single process: unchanged
    tensor([1., 1., 1.])
    """
    if _distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def broadcast_from_main(tensor):
    """Overwrite ``tensor`` in place with process 0's (no-op outside a multi-process group)."""
    if _distributed():
        torch.distributed.broadcast(tensor, src=0)
    return tensor


def connect_quantizers(module, connect=True):
    """Wire (or unwire) the distributed hooks of every EMA quantizer inside ``module``.

    A :class:`~heartlang_sk.nn.NormEMAQuantizer` exposes ``all_reduce_fn`` and ``broadcast_fn``:
    with :func:`all_reduce_sum` and :func:`broadcast_from_main` its usage counts and embedding sums
    are global and its k-means initialisation and restarts identical on every process.

    Parameters
    ----------
    module : torch.nn.Module
    connect : bool, default=True
        ``False`` restores the single-process default (no hooks).

    Returns
    -------
    int
        Number of quantizers wired.

    Examples
    --------
    >>> from heartlang_sk.nn import NormEMAQuantizer
    >>> quantizer = NormEMAQuantizer(n_words=8, word_dim=4)
    >>> connect_quantizers(torch.nn.Sequential(quantizer))
    1
    >>> quantizer.all_reduce_fn is all_reduce_sum
    True
    """
    count = 0
    for submodule in module.modules():
        if hasattr(submodule, "all_reduce_fn") and hasattr(submodule, "broadcast_fn"):
            submodule.all_reduce_fn = all_reduce_sum if connect else None
            submodule.broadcast_fn = broadcast_from_main if connect else None
            count += 1
    return count


class AcceleratedHeartLangNet(AccelerateMixin, HeartLangNet):
    """:class:`~heartlang_sk.training.HeartLangNet` trained through an ``accelerate.Accelerator``.

    skorch's :class:`~skorch.hf.AccelerateMixin` prepares the data loaders (each process iterates
    over its shard), steps the optimizer through accelerate (gradient scaling, accumulation), saves
    checkpoints from the main process only and prints through the accelerator. Unlike the plain
    mixin, ``module_`` stays the bare module: the DistributedDataParallel wrapper that the
    accelerator builds is kept aside and used for the forward passes of training only, so callbacks
    and estimators that read ``net.module_.model`` work unchanged, and the fitted net pickles.
    EMA quantizers are connected to ``torch.distributed`` while training (:func:`connect_quantizers`).

    Parameters
    ----------
    module : type or torch.nn.Module
    accelerator : accelerate.Accelerator
    device : str or None, default=None
        None places the module on ``accelerator.device`` (the only device allowed when the
        accelerator places devices).
    **kwargs
        As :class:`~heartlang_sk.training.HeartLangNet`; ``precision`` is unused (the accelerator's
        ``mixed_precision`` applies).
    """

    def __init__(self, module, *args, accelerator, device=None, **kwargs):
        if device is None and accelerator.device_placement:
            device = _accelerator_device(accelerator)
        if not kwargs.get("verbose", 1) and kwargs.get("callbacks__print_log__sink", "auto") == "auto":
            # skorch's PrintLog stays silent at verbose=0 only with the builtin print as its sink
            # (the mixin's "auto" is the accelerator's print, which prints on the main process).
            kwargs["callbacks__print_log__sink"] = print
        super().__init__(module, *args, accelerator=accelerator, device=device, **kwargs)
        # The prepared (DDP-wrapped) module, while training. Kept in a dict: skorch would register
        # a torch module set as an attribute as one more module of the net.
        self._prepared = {}

    def _validate_params(self):
        NeuralNet._validate_params(self)
        if (self.accelerator.device_placement and self.device is not None
                and str(self.device) != _accelerator_device(self.accelerator)):
            raise ValueError(f"the accelerator places the module on {self.accelerator.device}; "
                             f"got device={self.device!r}")

    def initialize(self):
        # The plain NeuralNet initialisation: the module is prepared when training starts.
        NeuralNet.initialize(self)
        self._prepared.clear()
        return self

    def _initialize_accelerator(self):
        from accelerate.optimizer import AcceleratedOptimizer

        if "module" not in self._prepared:
            self._prepared["module"] = self.accelerator.prepare(self.module_)
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if isinstance(optimizer, torch.optim.Optimizer) and not isinstance(
                    optimizer, AcceleratedOptimizer):
                setattr(self, name + "_", self.accelerator.prepare(optimizer))
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.accelerator.num_processes > 1:
            connect_quantizers(self.module_)
        self._initialize_accelerator()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        if "module" in self._prepared:
            # Restores the module's own forward (accelerate wraps it in autocast for training).
            self.accelerator.unwrap_model(self._prepared.pop("module"), keep_fp32_wrapper=False)
        connect_quantizers(self.module_, connect=False)

    def _set_training(self, training=True):
        super()._set_training(training)
        if "module" in self._prepared:
            self._prepared["module"].train(training)

    def infer(self, x, **fit_params):
        module = self._prepared.get("module", self.module_)
        x = to_tensor(x, device=self.device)
        with self.accelerator.autocast():
            if isinstance(x, Mapping):
                return module(**self._merge_x_and_fit_params(x, fit_params))
            return module(x, **fit_params)

    def train_step(self, batch, **fit_params):
        # accumulate() needs the DDP wrapper to skip gradient syncs between accumulation steps.
        with self.accelerator.accumulate(self._prepared.get("module", self.module_)):
            return HeartLangNet.train_step(self, batch, **fit_params)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.accelerator.backward(loss)
        if self.accelerator.sync_gradients:
            # fp16 scales the loss: unscale now so that gradient clipping sees true gradients.
            self.accelerator.unscale_gradients()
        return {"loss": loss, "y_pred": y_pred["loss"].detach()}


from .net import make_net  # noqa: E402,F401  (its home before training/net.py)
