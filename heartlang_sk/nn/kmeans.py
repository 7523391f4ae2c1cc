"""Cosine nearest-neighbour search and spherical k-means on unit vectors, in bounded memory."""

import math

import torch
import torch.nn.functional as F

__all__ = ["cosine_nearest", "spherical_kmeans"]


def _rows_per_chunk(n_centers, max_elements):
    return max(1, int(max_elements) // max(1, int(n_centers)))


def cosine_nearest(x, centers, max_elements=2 ** 24):
    """Index of the most cosine-similar center for each row, chunked over rows.

    Parameters
    ----------
    x : torch.Tensor of shape (N, d)
        Query vectors, assumed L2-normalised.
    centers : torch.Tensor of shape (K, d)
        Centers, assumed L2-normalised.
    max_elements : int, default=2**24
        Upper bound on the size of one (rows × K) similarity block, so memory
        stays bounded for large codebooks (64 MiB in float32 by default).

    Returns
    -------
    indices : torch.Tensor of shape (N,), int64
    similarity : torch.Tensor of shape (N,)
        Cosine similarity with the chosen center.

    Examples
    --------
    >>> import torch
    >>> centers = torch.eye(3)
    >>> x = torch.tensor([[0.1, 0.9, 0.0], [0.0, 0.0, -1.0]])
    >>> cosine_nearest(torch.nn.functional.normalize(x, dim=1), centers)[0]
    tensor([1, 0])
    """
    n = x.shape[0]
    indices = torch.empty(n, dtype=torch.long, device=x.device)
    similarity = torch.empty(n, dtype=x.dtype, device=x.device)
    step = _rows_per_chunk(centers.shape[0], max_elements)
    centers_t = centers.t()
    for start in range(0, n, step):
        sim = x[start:start + step] @ centers_t
        similarity[start:start + step], indices[start:start + step] = sim.max(dim=1)
    return indices, similarity


def _d2_seeds(x, n_clusters, generator, max_elements):
    """Greedy k-means++ seeding (probability proportional to the squared distance to the
    nearest seed), drawn one at a time up to 16 seeds, then in rounds of ``n_seeds // 8`` so
    that a large codebook needs about ``16 + 8 * ln(K / 16)`` rounds instead of K."""
    n = x.shape[0]
    n_trials = 2 + int(math.log(n_clusters))
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    seeds = [x[first]]
    best = (x @ x[first].t()).squeeze(1)
    n_seeds = 1
    while n_seeds < n_clusters:
        m = min(max(1, n_seeds // 8), n_clusters - n_seeds)
        weights = (2.0 - 2.0 * best).clamp_min(0.0) + 1e-12
        if m == 1:
            # greedy k-means++ (as scikit-learn): of a few candidates keep the best one
            candidates = torch.multinomial(weights, n_trials, replacement=True, generator=generator)
            sims = torch.maximum(best[:, None], x @ x[candidates].t())
            choice = int((2.0 - 2.0 * sims).sum(dim=0).argmin())
            new, best = x[candidates[choice:choice + 1]], sims[:, choice]
        else:
            new = x[torch.multinomial(weights, m, replacement=False, generator=generator)]
            _, sim = cosine_nearest(x, new, max_elements)
            best = torch.maximum(best, sim)
        seeds.append(new)
        n_seeds += m
    return torch.cat(seeds)


def spherical_kmeans(x, n_clusters, n_iter=10, noise=1e-3, generator=None, max_elements=2 ** 24):
    """Spherical k-means (cosine similarity, unit-norm centers).

    Parameters
    ----------
    x : torch.Tensor of shape (N, d)
        Data; rows are L2-normalised here.
    n_clusters : int
        Number of centers K.
    n_iter : int, default=10
        Lloyd iterations.
    noise : float, default=1e-3
        When N < K the initial centers are drawn with replacement, and this
        much Gaussian noise separates duplicates. Otherwise they are seeded
        k-means++ style (squared-distance sampling).
    generator : torch.Generator, optional
        Random source for the initial centers (on ``x``'s device).
    max_elements : int, default=2**24
        Memory bound of one similarity block (see :func:`cosine_nearest`).

    Returns
    -------
    centers : torch.Tensor of shape (K, d)
        Unit-norm centers; a center that loses all its points keeps its
        previous position.
    counts : torch.Tensor of shape (K,), float
        Number of points assigned to each center at the last assignment.
    """
    x = F.normalize(x.float(), dim=1)
    n = x.shape[0]
    if n == 0:
        raise ValueError("spherical_kmeans needs at least one vector")
    if n >= n_clusters:
        centers = _d2_seeds(x, n_clusters, generator, max_elements)
    else:
        first = torch.randint(n, (n_clusters,), generator=generator, device=x.device)
        jitter = torch.randn(n_clusters, x.shape[1], generator=generator, device=x.device, dtype=x.dtype)
        centers = F.normalize(x[first] + noise * jitter, dim=1)
    counts = torch.zeros(n_clusters, device=x.device)
    for _ in range(max(1, n_iter)):
        assign, _ = cosine_nearest(x, centers, max_elements)
        counts = torch.bincount(assign, minlength=n_clusters).float()
        sums = torch.zeros_like(centers).index_add_(0, assign, x)
        centers = torch.where((counts > 0)[:, None], F.normalize(sums, dim=1), centers)
    return centers, counts
