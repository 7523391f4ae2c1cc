"""Label matrices: the one check every evaluation function applies to its labels."""

from __future__ import annotations

import numpy as np


def _label_matrix(Y, name="Y"):
    values = np.asarray(Y)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"{name} must be a one-hot matrix (n_records, n_classes), got shape "
                         f"{values.shape}")
    if values.size and not np.isin(values, (0, 1)).all():
        raise ValueError(f"{name} must hold 0/1 labels")
    return values.astype(np.int8, copy=False)
