"""The embedding pass shared by ``HeartLangEmbedder.transform`` and ``HeartLangPretrainer.transform``.

Contract: :func:`embed_sentences` runs a frozen ST-ECGFormer encoder over sentences batch by batch,
in inference mode, and pools each sentence's token states into one float32 vector; all-padding
sentences embed to zeros. It neither checks nor records anything: the estimators do.
"""

from __future__ import annotations

import numpy as np
import torch

from ...nn import masked_mean
from ...training.net import amp_dtype, device_batches, resolve_device

POOLINGS = ("mean", "cls", "lead")


def pool(output, leads, pooling, n_leads):
    """One vector per sentence from the encoder's ``output`` (see ``HeartLangEmbedder.pooling``)."""
    hidden = output.hidden.float()
    if pooling == "cls":
        return output.cls
    if pooling == "mean":
        return masked_mean(hidden, output.padding_mask)
    per_lead = [masked_mean(hidden, leads != lead) for lead in range(1, n_leads + 1)]
    return torch.cat(per_lead, dim=1)


@torch.inference_mode()
def embed_sentences(encoder, sentences, *, pooling="mean", n_leads=None, batch_size=128, device="auto",
                    precision="auto"):
    """Embed ``sentences`` with ``encoder``: float32 array of shape (n_records, n_features)."""
    n_leads = int(sentences.signals.shape[1]) if n_leads is None else n_leads
    n_features = encoder.embed_dim * (n_leads if pooling == "lead" else 1)
    device = resolve_device(device)
    encoder.to(device).eval()
    dtype = amp_dtype(precision, device)
    # One array filled batch by batch: keeping per-batch parts alive between the freed batch
    # buffers fragments the C heap, and a long pass over a large store then creeps upwards.
    embeddings = np.empty((len(sentences), n_features), dtype=np.float32)
    start = 0
    for batch in device_batches(sentences, batch_size, device):
        with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=dtype is not None):
            output = encoder(batch["tokens"], batch["leads"], batch["times"])
        pooled = pool(output, batch["leads"], pooling, n_leads).float().cpu().numpy()
        embeddings[start:start + len(pooled)] = pooled
        start += len(pooled)
    return embeddings
