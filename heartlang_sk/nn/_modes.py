"""Temporarily switch a module to evaluation mode, restoring every submodule's own flag afterwards."""

import contextlib

__all__ = ["eval_mode"]


@contextlib.contextmanager
def eval_mode(module):
    """Context manager: ``module.eval()`` inside, each submodule's previous ``training`` flag after."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag
