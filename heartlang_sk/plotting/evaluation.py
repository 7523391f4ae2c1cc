"""ROC curves of linear probes, one panel per class, one curve per model.

matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from ..io.atomic import save_figure_atomic
from ._common import _pyplot

__all__ = ["plot_roc_curves"]


def _indicator(y_true, classes):
    """0/1 matrix (n_records, n_classes) and class names from labels or an indicator matrix."""
    if isinstance(y_true, pd.DataFrame):
        names = list(y_true.columns) if classes is None else list(classes)
        return y_true.to_numpy(), names
    y_true = np.asarray(y_true)
    if y_true.ndim == 1:  # class labels: one column per class, in sorted order as classes_
        names = np.unique(y_true).tolist() if classes is None else list(classes)
        labels = y_true.astype(object)[:, None]
        return (labels == np.asarray(names, dtype=object)[None, :]).astype(int), names
    if y_true.ndim != 2:
        raise ValueError(f"y_true must be class labels (n,) or a 0/1 matrix (n, n_classes), got "
                         f"shape {y_true.shape}")
    names = list(range(y_true.shape[1])) if classes is None else list(classes)
    return y_true, names


def plot_roc_curves(y_true, scores, classes=None, n_cols=4, title=None, path=None):
    """Draw the ROC curve of every class, one panel per class, one curve per model.

    One-vs-rest: for class ``k``, records with label ``k`` are positives and the others
    negatives. Classes without both a positive and a negative record have no ROC curve and are
    left out (named in the title), as in :func:`heartlang_sk.evaluation.macro_auc`. Each legend
    gives every model's AUC for the class.

    Parameters
    ----------
    y_true : array-like of shape (n_records,) or (n_records, n_classes), or DataFrame
        Class labels (columns of ``scores`` then follow the sorted labels, as a classifier's
        ``classes_``), or a 0/1 indicator matrix (multi-label; DataFrame columns name the classes).
    scores : array-like of shape (n_records, n_classes), or mapping of str to array-like
        Scores (probabilities or any monotone score) per class; a mapping draws several models,
        name -> scores, in each panel.
    classes : sequence, optional
        Class names, in the column order of ``scores``. Default: the sorted labels, the
        DataFrame's columns, or column indices.
    n_cols : int, default=4
        Panels per row.
    title : str, optional
        Figure title.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per class that has a curve.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``scores`` disagree or no class has both labels.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk.plotting.evaluation import plot_roc_curves
    >>> y = np.array(["afib", "normal", "normal", "afib", "tachy", "tachy"])
    >>> P = np.array([[.8, .1, .1], [.2, .7, .1], [.3, .6, .1], [.6, .3, .1], [.1, .2, .7],
    ...               [.2, .2, .6]])
    >>> fig = plot_roc_curves(y, {"probe": P, "chance": np.full((6, 3), 1 / 3)})
    >>> [ax.get_title() for ax in fig.axes]
    ['afib', 'normal', 'tachy']
    """
    truth, names = _indicator(y_true, classes)
    models = dict(scores) if isinstance(scores, Mapping) else {"model": scores}
    if not models:
        raise ValueError("scores is empty: give at least one model's scores")
    models = {name: np.asarray(value, dtype=float) for name, value in models.items()}
    for name, value in models.items():
        if value.shape != truth.shape:
            raise ValueError(f"scores of {name!r} have shape {value.shape}, expected "
                             f"{truth.shape} (records x classes)")
    drawn = [k for k in range(truth.shape[1]) if 0 < truth[:, k].sum() < len(truth)]
    if not drawn:
        raise ValueError("no class has both a positive and a negative record: no ROC curve")
    skipped = [str(names[k]) for k in range(truth.shape[1]) if k not in drawn]

    plt = _pyplot()
    n_cols = max(1, min(n_cols, len(drawn)))
    n_rows = -(-len(drawn) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 3.2 * n_rows + 0.5),
                             squeeze=False)
    for ax, k in zip(axes.ravel(), drawn):
        for name, value in models.items():
            fpr, tpr, _ = roc_curve(truth[:, k], value[:, k])
            auc = roc_auc_score(truth[:, k], value[:, k])
            ax.plot(fpr, tpr, lw=1.2, label=f"{name} ({auc:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.6, ls=":")
        ax.set_title(str(names[k]), fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="lower right", title="AUC", title_fontsize=6)
    for ax in axes.ravel()[len(drawn):]:
        fig.delaxes(ax)
    for ax in axes[:, 0]:
        ax.set_ylabel("true positive rate", fontsize=8)
    for ax in axes.ravel()[max(0, len(drawn) - n_cols):len(drawn)]:
        ax.set_xlabel("false positive rate", fontsize=8)
    heading = title or "ROC curve per class (one vs rest)"
    if skipped:
        heading += f"; no curve for {', '.join(skipped)} (one label only)"
    fig.suptitle(heading, fontsize=10)
    fig.tight_layout()
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig
