"""Training machinery shared by every neural estimator: the skorch net (``net``), the sentence
dataset (``data``), devices and precision (``device``), the learning-rate schedule (``schedules``),
callbacks, checkpoints and multi-GPU training through Accelerate."""

from .data import SentenceDataset, device_batches, validation_split
from .device import amp_dtype, resolve_device, torch_seed
from .net import HeartLangNet, fit_net, history_frame, make_net
from .schedules import WarmupCosine

__all__ = ["HeartLangNet", "SentenceDataset", "WarmupCosine", "amp_dtype", "device_batches", "fit_net", "make_net",
           "history_frame", "resolve_device", "torch_seed", "validation_split"]
