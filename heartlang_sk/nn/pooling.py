"""Pooling of token states into one vector per sentence, ignoring padding."""

import torch

__all__ = ["masked_mean"]


def masked_mean(hidden, padding_mask=None):
    """Mean of the token states over real (non-padding) tokens.

    Parameters
    ----------
    hidden : torch.Tensor of shape (B, l, D)
    padding_mask : torch.Tensor of shape (B, l), bool, optional
        True at padding tokens. ``None`` averages every token.

    Returns
    -------
    torch.Tensor of shape (B, D)
        Zeros for a sentence made only of padding.

    Examples
    --------
    >>> import torch
    >>> hidden = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean(hidden, torch.tensor([[False, False, True]]))
    tensor([[2.]])
    """
    if padding_mask is None:
        return hidden.mean(dim=1)
    weights = (~padding_mask).to(hidden.dtype)[..., None]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
