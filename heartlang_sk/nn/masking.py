"""Random masking of real tokens (or of whole leads) for masked sentence pre-training (paper §2.4.1)."""

import torch

__all__ = ["random_lead_mask", "random_token_mask"]


def _choose_uniformly(candidates, ratio, generator=None):
    """``round(ratio * n)`` of each row's ``n`` candidate slots, drawn uniformly: (B, k) bool."""
    device = generator.device if generator is not None else candidates.device
    scores = torch.rand(candidates.shape, generator=generator, device=device).to(candidates.device)
    scores = scores.masked_fill(~candidates, 2.0)  # non-candidates sort after every candidate
    n_chosen = torch.round(candidates.sum(dim=1).double() * ratio).long()
    return scores.argsort(dim=1).argsort(dim=1) < n_chosen[:, None]


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
    return _choose_uniformly(~padding_mask.bool(), ratio, generator)


def random_lead_mask(leads, ratio=0.5, generator=None):
    """Mask every beat of a random subset of each sentence's leads.

    An ablation of the paper's token masking: with single beats masked, a masked limb-lead beat can
    be read off the unmasked beats of the same instant (Einthoven: III = II − I, aVR, aVL and aVF
    are fixed sums of I and II). Masking whole leads asks the encoder to infer a lead's beats from
    the other leads instead.

    ``round(ratio * n_leads_present)`` of the leads present in each sentence are drawn uniformly
    at random (``torch.round``, as in :func:`random_token_mask`); all their beats are masked.
    Padding tokens (lead 0) are never masked.

    Parameters
    ----------
    leads : torch.Tensor of shape (B, l), int
        Lead index per token, 1..n_leads, 0 for padding.
    ratio : float, default=0.5
        Fraction of the present leads to mask, in [0, 1].
    generator : torch.Generator, optional
        Random source, for repeatable masks (drawn on its device).

    Returns
    -------
    torch.Tensor of shape (B, l), bool
        True at masked tokens.

    Examples
    --------
    >>> import torch
    >>> leads = torch.tensor([[1, 1, 2, 2, 3, 3, 4, 4, 0, 0]])
    >>> mask = random_lead_mask(leads, 0.5, torch.Generator().manual_seed(0))
    >>> sorted(set(leads[mask].tolist())), int(mask.sum())  # two whole leads of four
    ([2, 3], 4)
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be in [0, 1], got {ratio}")
    leads = leads.long()
    n_slots = int(leads.max()) + 1 if leads.numel() else 1
    present = torch.zeros(leads.shape[0], n_slots, dtype=torch.bool, device=leads.device)
    present.scatter_(1, leads, True)
    present[:, 0] = False
    return torch.gather(_choose_uniformly(present, ratio, generator), 1, leads)
