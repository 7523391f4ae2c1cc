"""Cosine-similarity vector quantizer with an EMA-updated, L2-normalised codebook (paper §2.3.1).

Relation to the paper's loss
----------------------------
The paper's VQ-HBR loss has a codebook term ``||sg(l2(p)) - l2(v)||²`` and a
commitment term ``||l2(p) - sg(l2(v))||²``. As in BEiT-v2's
``NormEMAVectorQuantizer`` (which the official HeartLang code uses), the
codebook is **not** trained by gradient: the codebook term is replaced by an
exponential-moving-average update of each word towards the mean of the
(normalised) encoder outputs assigned to it, and only the commitment term
``beta * mean((l2(p) - sg(v))²)`` is returned as a loss. The mean runs over
all elements (tokens × dims), as in BEiT-v2 / the official code.

EMA update (training mode only)
-------------------------------
Per batch with assignment counts ``n_k`` and sums ``s_k`` of normalised
vectors: ``N_k ← γ N_k + (1-γ) n_k``, ``S_k ← γ S_k + (1-γ) s_k``,
``v_k ← l2(S_k / Ñ_k)`` with Laplace-smoothed ``Ñ_k = (N_k + ε) / (ΣN + Kε) · ΣN``.
Because of the final L2 normalisation the smoothing only guards against
division by zero; the direction of ``S_k`` is what moves the word. A word
that is never chosen keeps its direction.

Beyond the official code
------------------------
* Padding never reaches the codebook: the caller passes only real tokens, or
  a ``valid`` mask.
* Dead-word restart: every ``restart_every`` training updates, words chosen
  fewer than ``dead_word_threshold`` × the mean number of times over those
  updates are re-seeded from a ring buffer of recent encoder outputs,
  drawn with probability proportional to their squared distance to the
  nearest live word (k-means++ style). The paper reports only 66 % of its
  8192 words in use; restarts keep usage high. Deadness is judged on the
  use since the last check, not on the EMA usage ``N_k``: with γ = 0.99 an
  abandoned word's ``N_k`` takes ~460 updates to fall to 1 % of the mean,
  so on a small corpus (ptbxl-2k: ~50 updates per epoch) words died faster
  than they were restarted and only ~1,200 of 8,192 stayed in use.
* Usage counts since :meth:`NormEMAQuantizer.reset_usage` and per-batch
  perplexity make codebook utilisation visible.
* Distributed data parallel: set ``all_reduce_fn`` (summing a tensor in place
  across processes) and ``broadcast_fn`` (copying rank 0's tensor in place)
  so that EMA statistics are global and k-means / restart results identical
  on every rank. Both default to no-ops.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .kmeans import cosine_nearest, spherical_kmeans

__all__ = ["NormEMAQuantizer", "QuantizerOutput", "perplexity"]

_TINY = 1e-20


class QuantizerOutput(NamedTuple):
    """What :meth:`NormEMAQuantizer.forward` returns.

    Attributes
    ----------
    quantized : torch.Tensor of shape (..., word_dim)
        L2-normalised word vectors with straight-through gradient to the
        input; zeros where ``valid`` is False.
    indices : torch.Tensor of shape (...), int64
        Word index per vector; -1 where ``valid`` is False.
    commit_loss : torch.Tensor, scalar
        ``beta * mean((l2(z) - sg(word))²)`` over valid vectors (0 if none).
    perplexity : torch.Tensor, scalar
        ``exp(entropy)`` of this batch's word histogram (0 if no vector).
    n_active : torch.Tensor, scalar int64
        Distinct words used in this batch.
    counts : torch.Tensor of shape (n_words,), int64
        This batch's word histogram.
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    n_active: torch.Tensor
    counts: torch.Tensor


def perplexity(counts):
    """``exp`` of the entropy of a histogram; 0 for an empty histogram.

    Parameters
    ----------
    counts : torch.Tensor of shape (K,)

    Returns
    -------
    torch.Tensor, scalar float

    Examples
    --------
    >>> import torch
    >>> float(perplexity(torch.tensor([5, 5, 5, 5, 0])))
    4.0
    """
    counts = counts.double()
    total = counts.sum()
    if total <= 0:
        return torch.zeros((), dtype=torch.float32, device=counts.device)
    p = counts[counts > 0] / total
    return torch.exp(-(p * p.log()).sum()).float()


class NormEMAQuantizer(nn.Module):
    """Nearest-word quantizer on the unit sphere with EMA codebook, k-means init and dead-word restart.

    Parameters
    ----------
    n_words : int, default=8192
        Vocabulary size K.
    word_dim : int, default=128
        Word vector size.
    decay : float, default=0.99
        EMA decay γ of usage counts and embedding sums.
    decay_warmup : float, default=10.0
        Update ``n`` uses ``min(decay, (1 + n) / (decay_warmup + 1 + n))``, so the codebook
        follows the fast-moving encoder of the first updates (0.1, 0.55 after 10 updates,
        0.9 after 90) and settles to ``decay``. Without it, on a small corpus (the built-in
        demo: 32 updates) the k-means words stay where the untrained encoder put its
        outputs while the encoder moves on, and the vocabulary collapses to ~100 of 1,024
        words. 0 turns the warm-up off.
    beta : float, default=1.0
        Weight of the commitment loss.
    eps : float, default=1e-5
        Laplace smoothing constant.
    kmeans_init : bool, default=True
        Initialise the codebook by spherical k-means on the first training
        batch (when it holds fewer vectors than words, centers are drawn with
        replacement plus noise). Otherwise the codebook starts as random unit
        vectors.
    kmeans_iters : int, default=10
        Lloyd iterations of the k-means initialisation.
    dead_word_restart : bool, default=True
        Re-seed rarely used words from recent encoder outputs.
    dead_word_threshold : float, default=0.01
        A word is dead when it was chosen fewer times than this fraction of
        the mean (over words) since the last dead-word check.
    restart_every : int, default=20
        Check for dead words every this many training updates.
    restart_buffer_size : int, default=8192
        Number of recent normalised encoder outputs kept for restarts (not
        saved in the state dict).
    restart_noise : float, default=0.0
        Std of the Gaussian noise added to re-seeded words before normalising.
        Keep it at zero or far below the typical distance between an encoder
        output and its word: with 0.01 per dimension (a displacement of norm
        ≈ 0.11 for 128-d words) re-seeded words landed off the data and died
        again, and only 900–3,000 of 8,192 words stayed in use on ptbxl-2k.
    max_elements : int, default=2**24
        Memory bound of one (vectors × words) similarity block.

    Attributes
    ----------
    codebook : torch.Tensor of shape (n_words, word_dim)
        Unit-norm word vectors (buffer).
    cluster_size : torch.Tensor of shape (n_words,)
        EMA usage per word (buffer).
    embed_sum : torch.Tensor of shape (n_words, word_dim)
        EMA sum of the vectors assigned to each word (buffer).
    initialized : torch.Tensor, scalar bool
        Whether the codebook has been initialised from data (buffer).
    usage : torch.Tensor of shape (n_words,), int64
        Assignments per word since the last :meth:`reset_usage`, counted by
        every :meth:`forward` (training or not) (buffer).
    n_updates : torch.Tensor, scalar int64
        Number of EMA updates so far (buffer).
    n_restarted : torch.Tensor, scalar int64
        Total number of word restarts so far (buffer).
    all_reduce_fn, broadcast_fn : callable or None
        Distributed hooks (see module docstring).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> vq = NormEMAQuantizer(n_words=16, word_dim=8)
    >>> z = torch.randn(100, 8, requires_grad=True)
    >>> out = vq(z)  # training mode: k-means init + EMA update
    >>> out.quantized.shape, out.indices.shape, bool(vq.initialized)
    (torch.Size([100, 8]), torch.Size([100]), True)
    >>> out.commit_loss.backward()  # gradient reaches z, not the codebook
    >>> z.grad.shape
    torch.Size([100, 8])
    """

    def __init__(self, n_words=8192, word_dim=128, decay=0.99, decay_warmup=10.0, beta=1.0, eps=1e-5, kmeans_init=True,
                 kmeans_iters=10, dead_word_restart=True, dead_word_threshold=0.01, restart_every=20,
                 restart_buffer_size=8192, restart_noise=0.0, max_elements=2 ** 24):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.n_words = int(n_words)
        self.word_dim = int(word_dim)
        self.decay = float(decay)
        self.decay_warmup = float(decay_warmup)
        self.beta = float(beta)
        self.eps = float(eps)
        self.kmeans_init = bool(kmeans_init)
        self.kmeans_iters = int(kmeans_iters)
        self.dead_word_restart = bool(dead_word_restart)
        self.dead_word_threshold = float(dead_word_threshold)
        self.restart_every = int(restart_every)
        self.restart_buffer_size = int(restart_buffer_size)
        self.restart_noise = float(restart_noise)
        self.max_elements = int(max_elements)
        self.all_reduce_fn = None
        self.broadcast_fn = None

        self.register_buffer("codebook", F.normalize(torch.randn(n_words, word_dim), dim=1))
        self.register_buffer("cluster_size", torch.zeros(n_words))
        self.register_buffer("embed_sum", torch.zeros(n_words, word_dim))
        self.register_buffer("initialized", torch.tensor(not self.kmeans_init))
        self.register_buffer("usage", torch.zeros(n_words, dtype=torch.long))
        self.register_buffer("n_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("n_restarted", torch.zeros((), dtype=torch.long))
        self.register_buffer("_recent", torch.zeros(self.restart_buffer_size, word_dim), persistent=False)
        self.register_buffer("_recent_count", torch.zeros((), dtype=torch.long), persistent=False)
        self.register_buffer("_use_since_check", torch.zeros(n_words), persistent=False)

    # ----------------------------------------------------------------- helpers
    def _all_reduce(self, tensor):
        if self.all_reduce_fn is not None:
            self.all_reduce_fn(tensor)
        return tensor

    def _broadcast(self, tensor):
        if self.broadcast_fn is not None:
            self.broadcast_fn(tensor)
        return tensor

    def encode(self, z):
        """Word index of each vector, without any update or statistics.

        Parameters
        ----------
        z : torch.Tensor of shape (..., word_dim)

        Returns
        -------
        torch.Tensor of shape (...), int64
        """
        with torch.no_grad(), torch.autocast(z.device.type, enabled=False):
            flat = F.normalize(z.reshape(-1, self.word_dim).float(), dim=1)
            indices, _ = cosine_nearest(flat, self.codebook, self.max_elements)
        return indices.view(z.shape[:-1])

    def lookup(self, indices):
        """Unit-norm word vectors of ``indices`` (any shape, values 0..n_words-1)."""
        return self.codebook[indices]

    # ------------------------------------------------------------------ update
    @torch.no_grad()
    def _init_from_data(self, zn):
        centers, counts = spherical_kmeans(zn, self.n_words, n_iter=self.kmeans_iters, max_elements=self.max_elements)
        self._broadcast(centers)
        self._broadcast(counts)
        self.codebook.copy_(centers)
        self.cluster_size.copy_(counts)
        self.embed_sum.copy_(centers * counts[:, None])
        self.initialized.fill_(True)

    @torch.no_grad()
    def _ema_update(self, zn, indices, counts):
        sums = torch.zeros_like(self.embed_sum).index_add_(0, indices, zn)
        counts = self._all_reduce(counts.float())
        sums = self._all_reduce(sums)
        decay = self.current_decay()
        self.cluster_size.mul_(decay).add_(counts, alpha=1.0 - decay)
        self.embed_sum.mul_(decay).add_(sums, alpha=1.0 - decay)
        self._use_since_check += counts
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.n_words * self.eps) * total
        means = self.embed_sum / smoothed.clamp_min(_TINY)[:, None]
        # A word whose EMA sum has (nearly) vanished keeps its current direction.
        alive = self.embed_sum.norm(dim=1, keepdim=True) > _TINY
        self.codebook.copy_(torch.where(alive, F.normalize(means, dim=1), self.codebook))
        self.n_updates += 1

    @torch.no_grad()
    def _remember(self, zn):
        size = self.restart_buffer_size
        if size == 0 or zn.shape[0] == 0:
            return
        if zn.shape[0] > size:
            zn = zn[torch.randperm(zn.shape[0], device=zn.device)[:size]]
        positions = (self._recent_count + torch.arange(zn.shape[0], device=zn.device)) % size
        self._recent[positions] = zn
        self._recent_count += zn.shape[0]

    def current_decay(self):
        """EMA decay of the next update (see ``decay_warmup``)."""
        if self.decay_warmup <= 0:
            return self.decay
        n = float(self.n_updates)
        return min(self.decay, (1.0 + n) / (self.decay_warmup + 1.0 + n))

    def dead_words(self):
        """Boolean mask (n_words,) of words chosen too rarely since the last check.

        Before any use has been counted (e.g. right after loading a checkpoint) the EMA usage
        stands in for the use since the last check.
        """
        use = self._use_since_check
        if float(use.sum()) > 0:
            return use < self.dead_word_threshold * use.mean()
        threshold = self.dead_word_threshold * self.cluster_size.sum() / self.n_words
        return self.cluster_size < threshold

    @torch.no_grad()
    def restart_dead_words(self):
        """Re-seed dead words from the buffer of recent encoder outputs.

        A re-seeded word starts with an EMA usage equal to the dead-word
        threshold, so if no data picks it up it is dead again at the next check.

        Returns
        -------
        int
            Number of words re-seeded (0 when none is dead or nothing was seen yet).
        """
        self.restore_training_buffers()
        n_avail = int(min(int(self._recent_count), self.restart_buffer_size))
        dead = self.dead_words()
        self._use_since_check.zero_()
        n_dead = int(dead.sum())
        if n_avail == 0 or n_dead == 0:
            return 0
        pool = self._recent[:n_avail]
        if n_dead < self.n_words:
            _, sim = cosine_nearest(pool, self.codebook[~dead], self.max_elements)
            weights = (2.0 - 2.0 * sim).clamp_min(0.0) + 1e-6
        else:
            weights = torch.ones(n_avail, device=pool.device)
        choice = torch.multinomial(weights, n_dead, replacement=n_dead > n_avail)
        noise = self.restart_noise * torch.randn(n_dead, self.word_dim, device=pool.device)
        seeds = self._broadcast(F.normalize(pool[choice] + noise, dim=1))
        mass = self.dead_word_threshold * self.cluster_size.sum() / self.n_words
        self.codebook[dead] = seeds
        self.embed_sum[dead] = seeds * mass
        self.cluster_size[dead] = mass
        self.n_restarted += n_dead
        return n_dead

    # ------------------------------------------------------- training state
    def release_training_buffers(self):
        """Free what only training reads: the EMA sums ``embed_sum`` and the restart pool.

        Encoding and lookup need only ``codebook``; a fitted model saved without these buffers is
        a third of the size. A later update rebuilds them (:meth:`restore_training_buffers`).
        """
        self.embed_sum = self.embed_sum.new_zeros(0, self.word_dim)
        self._recent = self._recent.new_zeros(0, self.word_dim)
        self._recent_count.zero_()

    @torch.no_grad()
    def restore_training_buffers(self):
        """Rebuild released training buffers before an update.

        The EMA sums restart as each word's direction times its smoothed EMA count (the exact
        sums' norms are not kept: the next updates weigh old and new vectors slightly otherwise);
        the restart pool starts empty. A no-op when nothing was released.
        """
        if self.embed_sum.shape[0] != self.n_words:
            total = self.cluster_size.sum()
            smoothed = (self.cluster_size + self.eps) / (total + self.n_words * self.eps) * total
            self.embed_sum = self.codebook * smoothed[:, None]
        if self._recent.shape[0] != self.restart_buffer_size:
            self._recent = self.codebook.new_zeros(self.restart_buffer_size, self.word_dim)
            self._recent_count.zero_()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A state saved with released buffers (or a full one loaded into a released module).
        incoming = state_dict.get(prefix + "embed_sum")
        if incoming is not None and incoming.shape != self.embed_sum.shape:
            self.embed_sum = self.embed_sum.new_zeros(incoming.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ----------------------------------------------------------------- forward
    def forward(self, z, valid=None, update=None):
        """Quantize vectors.

        Parameters
        ----------
        z : torch.Tensor of shape (N, word_dim) or (..., word_dim)
            Encoder outputs (normalised here).
        valid : torch.Tensor of shape z.shape[:-1], bool, optional
            False for vectors that must be ignored (padding): they are not
            quantized, do not touch any statistic and get index -1.
        update : bool, optional
            Run k-means initialisation / EMA update / dead-word restarts.
            Defaults to ``self.training``.

        Returns
        -------
        QuantizerOutput
        """
        if z.shape[-1] != self.word_dim:
            raise ValueError(f"expected vectors of size {self.word_dim}, got shape {tuple(z.shape)}")
        update = self.training if update is None else bool(update)
        lead_shape = z.shape[:-1]
        flat = z.reshape(-1, self.word_dim)
        if valid is not None:
            if valid.shape != lead_shape:
                raise ValueError(f"valid must have shape {tuple(lead_shape)}, got {tuple(valid.shape)}")
            valid_flat = valid.reshape(-1).bool()
            flat = flat[valid_flat]

        with torch.autocast(z.device.type, enabled=False):
            zn = F.normalize(flat.float(), dim=1)
            if update:
                self.restore_training_buffers()
            if update and not bool(self.initialized) and zn.shape[0] > 0:
                self._init_from_data(zn.detach())
            indices, _ = cosine_nearest(zn.detach(), self.codebook, self.max_elements)
            words = self.codebook[indices]
            if zn.shape[0] > 0:
                commit_loss = self.beta * F.mse_loss(zn, words)
            else:
                commit_loss = zn.sum() * 0.0
            quantized = zn + (words - zn).detach()
            counts = torch.bincount(indices, minlength=self.n_words)
            if update and zn.shape[0] > 0:
                self._ema_update(zn.detach(), indices, counts)
                self._remember(zn.detach())
                if self.dead_word_restart and self.restart_every > 0 and int(self.n_updates) % self.restart_every == 0:
                    self.restart_dead_words()
            with torch.no_grad():
                self.usage += counts

        quantized = quantized.to(z.dtype)
        if valid is not None:
            full = quantized.new_zeros(valid_flat.shape[0], self.word_dim)
            full = full.index_put((valid_flat,), quantized)
            all_indices = torch.full_like(valid_flat, -1, dtype=torch.long).masked_scatter(valid_flat, indices)
            quantized, indices = full, all_indices
        return QuantizerOutput(
            quantized.view(*lead_shape, self.word_dim),
            indices.view(lead_shape),
            commit_loss,
            perplexity(counts),
            (counts > 0).sum(),
            counts,
        )

    # -------------------------------------------------------------- statistics
    def reset_usage(self):
        """Zero the usage counts (e.g. at the start of an epoch)."""
        self.usage.zero_()

    def usage_stats(self):
        """Codebook utilisation since the last :meth:`reset_usage`.

        Returns
        -------
        dict
            ``active_words`` (words used at least once), ``utilization``
            (active / n_words), ``perplexity`` (of the usage histogram),
            ``n_assignments`` (vectors counted), ``dead_words`` (by the EMA
            criterion), ``n_restarted`` (restarts so far).
        """
        active = int((self.usage > 0).sum())
        return {
            "active_words": active,
            "utilization": active / self.n_words,
            "perplexity": float(perplexity(self.usage)),
            "n_assignments": int(self.usage.sum()),
            "dead_words": int(self.dead_words().sum()),
            "n_restarted": int(self.n_restarted),
        }

    def extra_repr(self):
        return (f"n_words={self.n_words}, word_dim={self.word_dim}, decay={self.decay}, beta={self.beta}, "
                f"kmeans_init={self.kmeans_init}, dead_word_restart={self.dead_word_restart}")
