"""Training machinery shared by every neural estimator: the skorch net, devices and precision, the
learning-rate schedule, callbacks and multi-GPU training through Accelerate."""

from .net import (HeartLangNet, SentenceDataset, WarmupCosine, amp_dtype, device_batches, fit_net, history_frame,
                  resolve_device, torch_seed, validation_split)

__all__ = ["HeartLangNet", "SentenceDataset", "WarmupCosine", "amp_dtype", "device_batches", "fit_net",
           "history_frame", "resolve_device", "torch_seed", "validation_split"]
