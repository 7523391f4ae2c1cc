"""Training curves of the HeartLang estimators, drawn from their ``history_`` DataFrames.

matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.atomic import save_figure_atomic
from ._common import _pyplot

__all__ = ["plot_training_curves"]

# Panels in drawing order: (title, y label, history columns drawn when present).
_PANELS = (
    ("loss", "loss", ("train_loss", "valid_loss", "train_reconstruction_loss",
                      "valid_reconstruction_loss", "train_commit_loss", "valid_commit_loss")),
    ("masked-word accuracy", "accuracy", ("train_masked_accuracy", "valid_masked_accuracy")),
    ("reconstruction R²", "R²", ("train_r2", "valid_r2")),
    ("codebook use", "words", ("active_words", "perplexity")),
)
_LABELS = {
    "perplexity": "perplexity (effective words)",
    "active_words": "active words",
}


def _history_of(history):
    frame = getattr(history, "history_", history)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"history must be a DataFrame or a fitted estimator with history_, got "
                         f"{type(history).__name__}")
    if frame.empty:
        raise ValueError("the training history is empty: the model was not trained (max_epochs=0) "
                         "or was loaded from a weights-only file")
    return frame


def plot_training_curves(history, title=None, path=None):
    """Draw the per-epoch training curves of an ECG vocabulary or a pretrainer.

    One panel per kind of curve found in the history: every loss term (training solid, validation
    dashed; log scale when positive), the masked-word accuracy (:class:`~heartlang_sk.HeartLangPretrainer`), the
    reconstruction R² and the codebook use -- words in use and usage perplexity --
    (:class:`~heartlang_sk.ECGVocabulary`).

    Parameters
    ----------
    history : DataFrame or fitted estimator
        An estimator's ``history_`` (one row per epoch, an ``epoch`` column), or the estimator.
    title : str, optional
        Figure title; default none.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel.

    Raises
    ------
    ValueError
        If the history is empty or has none of the known columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.plotting.training import plot_training_curves
    >>> history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [6.9, 6.1, 5.8],
    ...                         "train_masked_accuracy": [0.01, 0.08, 0.12]})
    >>> fig = plot_training_curves(history, title="pre-training")
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'masked-word accuracy']
    """
    frame = _history_of(history)
    panels = [(name, ylabel, [c for c in columns if c in frame and frame[c].notna().any()])
              for name, ylabel, columns in _PANELS]
    panels = [panel for panel in panels if panel[2]]
    if not panels:
        raise ValueError(f"the history has no training curve to draw; its columns are "
                         f"{list(frame.columns)}")
    epochs = frame["epoch"].to_numpy() if "epoch" in frame else np.arange(1, len(frame) + 1)

    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (name, ylabel, columns) in zip(axes[0], panels):
        for column in columns:
            style = "--" if column.startswith("valid_") else "-"
            ax.plot(epochs, frame[column].to_numpy(dtype=float), style, marker="o", ms=3,
                    label=_LABELS.get(column, column))
        values = frame[columns].to_numpy(dtype=float)
        if name == "loss" and np.nanmin(values) > 0:
            ax.set_yscale("log")  # loss terms differ by orders of magnitude
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title is not None:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig
