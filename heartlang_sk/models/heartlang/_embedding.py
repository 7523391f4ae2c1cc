"""The embedding pass shared by ``HeartLangEmbedder.transform`` and ``HeartLangPretrainer.transform``.

Contract: :func:`embed_sentences` runs a frozen ST-ECGFormer encoder over sentences batch by batch,
in inference mode, and pools each sentence's token states into one float32 vector; all-padding
sentences embed to zeros. It neither checks nor records anything: the estimators do.
"""

from __future__ import annotations

import numpy as np
import torch

from ...nn import masked_mean
from ...training.net import amp_dtype, beat_time_arrays, device_batches, resolve_device

POOLINGS = ("mean", "cls", "lead")
POOLING_PARTS = ("mean", "cls", "lead", "std", "max")
"""Parts a ``pooling`` may join with ``"+"`` (e.g. ``"mean+std+lead"``), concatenated in that order."""


def pooling_parts(pooling):
    """The parts of a ``pooling`` string, or a one-line ``ValueError`` naming the bad one."""
    parts = pooling.split("+") if isinstance(pooling, str) else [pooling]
    bad = [part for part in parts if part not in POOLING_PARTS]
    if bad or len(set(parts)) != len(parts):
        raise ValueError(f"pooling must be one of {POOLINGS} or distinct parts of {POOLING_PARTS} joined by "
                         f"'+' (e.g. 'mean+std'), got {pooling!r}")
    return parts


def n_pooled_features(pooling, embed_dim, n_leads):
    """Length of the vector ``pooling`` makes from ``embed_dim``-wide token states."""
    return sum(embed_dim * n_leads if part == "lead" else embed_dim for part in pooling_parts(pooling))


def _pool_part(part, hidden, output, leads, n_leads):
    if part == "cls":
        return output.cls.float()
    if part == "mean":
        return masked_mean(hidden, output.padding_mask)
    if part == "std":
        mean = masked_mean(hidden, output.padding_mask)
        return masked_mean((hidden - mean[:, None]) ** 2, output.padding_mask).sqrt()
    if part == "max":
        filled = hidden.masked_fill(output.padding_mask[..., None], float("-inf")).amax(dim=1)
        return torch.where(torch.isfinite(filled), filled, torch.zeros_like(filled))
    per_lead = [masked_mean(hidden, leads != lead) for lead in range(1, n_leads + 1)]
    return torch.cat(per_lead, dim=1)


def pool(output, leads, pooling, n_leads):
    """One vector per sentence from the encoder's ``output`` (see ``HeartLangEmbedder.pooling``)."""
    hidden = output.hidden.float()
    pooled = [_pool_part(part, hidden, output, leads, n_leads) for part in pooling_parts(pooling)]
    return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=1)


@torch.inference_mode()
def embed_sentences(encoder, sentences, *, pooling="mean", n_leads=None, batch_size=128, device="auto",
                    precision="auto"):
    """Embed ``sentences`` with ``encoder``: float32 array of shape (n_records, n_features)."""
    n_leads = int(sentences.signals.shape[1]) if n_leads is None else n_leads
    n_features = n_pooled_features(pooling, encoder.embed_dim, n_leads)
    # An encoder with a rhythm encoding reads each beat's R-peak time and RR intervals too.
    extra = beat_time_arrays(sentences, getattr(encoder, "rhythm", None) is not None)
    device = resolve_device(device)
    encoder.to(device).eval()
    dtype = amp_dtype(precision, device)
    # One array filled batch by batch: keeping per-batch parts alive between the freed batch
    # buffers fragments the C heap, and a long pass over a large store then creeps upwards.
    embeddings = np.empty((len(sentences), n_features), dtype=np.float32)
    start = 0
    for batch in device_batches(sentences, batch_size, device, **extra):
        with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=dtype is not None):
            times = {"beat_times": batch["beat_times"]} if extra else {}
            output = encoder(batch["tokens"], batch["leads"], batch["times"], **times)
        pooled = pool(output, batch["leads"], pooling, n_leads).float().cpu().numpy()
        embeddings[start:start + len(pooled)] = pooled
        start += len(pooled)
    return embeddings
