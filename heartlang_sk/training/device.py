"""Where and how training runs: the device (``"auto"`` -> CUDA when visible), the torch seed from a
scikit-learn ``random_state``, and the autocast precision."""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["amp_dtype", "resolve_device", "torch_seed"]


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
