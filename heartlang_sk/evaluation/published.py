"""The published linear-probe results on PTB-XL (HeartLang paper and its workshop version), to print
beside one's own: :data:`PUBLISHED`, :data:`PUBLISHED_FRACTIONS` and :func:`published_table`."""

from __future__ import annotations

import pandas as pd

from .splits import regime_name

__all__ = ["PUBLISHED", "PUBLISHED_FRACTIONS", "published_by_regime", "published_table"]

#: Published linear-probe macro ROC-AUC (%) on PTB-XL, as ``{model: {task: (1 %, 10 %, 100 %)}}``
#: (``None`` where not reported). Sources (SPEC section 5): HeartLang, MERL and MELP from the ICLR
#: 2025 HeartLang paper (pre-trained on MIMIC-IV-ECG); the two "workshop" rows from the workshop
#: version (pre-trained on PTB-XL only, Small model, 100 % regime only).
PUBLISHED = {
    "HeartLang": {
        "super": (78.94, 85.59, 87.52), "sub": (64.68, 79.34, 88.91),
        "form": (58.70, 63.99, 80.23), "rhythm": (62.08, 76.22, 90.34),
    },
    "MERL": {
        "super": (82.39, 86.27, 88.67), "sub": (64.90, 80.56, 84.72),
        "form": (58.26, 72.43, 79.65), "rhythm": (53.33, 82.88, 88.34),
    },
    "MELP": {
        "super": (85.82, 87.61, 87.87), "sub": (79.22, 84.40, 87.46),
        "form": (63.41, 76.71, 83.30), "rhythm": (88.83, 94.65, 96.91),
    },
    "HeartLang Small (workshop, PTB-XL pre-training)": {
        "super": (None, None, 87.89), "sub": (None, None, 87.12),
        "form": (None, None, 77.61), "rhythm": (None, None, 92.36),
    },
    "random-init Small (workshop)": {
        "super": (None, None, 80.75), "sub": (None, None, 75.51),
        "form": (None, None, 61.46), "rhythm": (None, None, 76.95),
    },
}

#: The training-data regimes of the paper, as fractions of the training records.
PUBLISHED_FRACTIONS = (0.01, 0.1, 1.0)


def published_table(models=None):
    """The published numbers of :data:`PUBLISHED` as a tidy table.

    Parameters
    ----------
    models : iterable of str, optional
        Keys of :data:`PUBLISHED`; default all.

    Returns
    -------
    DataFrame
        Columns ``model``, ``task``, ``regime``, ``fraction``, ``test_auc`` (percent), for the
        reported entries only.

    Examples
    --------
    >>> from heartlang_sk.evaluation import published_table
    >>> table = published_table(["HeartLang"])
    >>> table.query("task == 'rhythm'")["test_auc"].tolist()
    [62.08, 76.22, 90.34]
    """
    models = list(PUBLISHED) if models is None else list(models)
    rows = []
    for model in models:
        if model not in PUBLISHED:
            raise ValueError(f"unknown model {model!r}; published: {list(PUBLISHED)}")
        for task, values in PUBLISHED[model].items():
            for fraction, value in zip(PUBLISHED_FRACTIONS, values):
                if value is not None:
                    rows.append({"model": model, "task": task, "regime": regime_name(fraction),
                                 "fraction": fraction, "test_auc": value})
    return pd.DataFrame(rows, columns=["model", "task", "regime", "fraction", "test_auc"])


def published_by_regime(task):
    """The published numbers of one task: one row per model, one column per regime (percent).

    Parameters
    ----------
    task : str
        ``"super"``, ``"sub"``, ``"form"`` or ``"rhythm"``.

    Returns
    -------
    DataFrame
        Column ``model``, then one column per reported regime, NaN where a model does not report
        it; no rows for a task nobody published.

    Examples
    --------
    >>> from heartlang_sk.evaluation import published_by_regime
    >>> table = published_by_regime("super")
    >>> print(table.head(2).to_string(index=False))
        model    1%   10%  100%
    HeartLang 78.94 85.59 87.52
         MERL 82.39 86.27 88.67
    """
    published = published_table([m for m in PUBLISHED if task in PUBLISHED[m]])
    published = published[published["task"] == task]
    if not len(published):
        return pd.DataFrame(columns=["model"])
    return published.pivot_table(index="model", columns="regime", values="test_auc",
                                 sort=False).reset_index()
