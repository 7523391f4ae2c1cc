"""Random masking of real tokens for masked sentence pre-training (paper §2.4.1)."""

import torch

__all__ = ["random_token_mask"]


def random_token_mask(padding_mask, ratio=0.5, generator=None):
    """Draw a random mask over the real tokens of each sentence.

    Exactly ``round(ratio * n_real)`` real tokens are masked in each sentence
    (``torch.round``: halves go to the even integer, like Python's
    ``round``), uniformly at random; padding tokens are never masked.

    Parameters
    ----------
    padding_mask : torch.Tensor of shape (B, l), bool
        True at padding tokens (``leads == 0``).
    ratio : float, default=0.5
        Fraction of real tokens to mask, in [0, 1].
    generator : torch.Generator, optional
        Random source, for repeatable masks. Its device is used to draw the
        random numbers; the mask is returned on ``padding_mask``'s device.

    Returns
    -------
    torch.Tensor of shape (B, l), bool
        True at masked tokens.

    Examples
    --------
    >>> import torch
    >>> padding = torch.tensor([[False] * 6 + [True] * 2, [False] * 3 + [True] * 5])
    >>> mask = random_token_mask(padding, 0.5, torch.Generator().manual_seed(0))
    >>> mask.sum(dim=1).tolist(), bool((mask & padding).any())
    ([3, 2], False)
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be in [0, 1], got {ratio}")
    padding_mask = padding_mask.bool()
    device = generator.device if generator is not None else padding_mask.device
    scores = torch.rand(padding_mask.shape, generator=generator, device=device).to(padding_mask.device)
    scores = scores.masked_fill(padding_mask, 2.0)  # padding sorts after every real token
    n_masked = torch.round((~padding_mask).sum(dim=1).double() * ratio).long()
    ranks = scores.argsort(dim=1).argsort(dim=1)
    return ranks < n_masked[:, None]
