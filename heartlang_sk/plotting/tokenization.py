"""Pictures users would otherwise draw by hand (matplotlib, imported only when a plot is asked for)."""

from __future__ import annotations

import numpy as np

from ..io.atomic import save_figure_atomic
from ._common import LEAD_NAMES, _lead_name, _pyplot  # noqa: F401 (LEAD_NAMES: importable here)

__all__ = ["plot_tokenization", "plot_sentence"]


def plot_tokenization(sentences, record=0, leads=(0, 1, 6), window=None, path=None):
    """Draw one record with its detected QRS complexes and the beats cut from it.

    Parameters
    ----------
    sentences : ECGSentences
        Output of :class:`~heartlang_sk.QRSTokenizer`.
    record : int, default=0
        Which record to draw.
    leads : sequence of int, default=(0, 1, 6)
        Lead indices (0-based) to draw, one panel each (I, II and V1 by default).
    window : tuple of (float, float), optional
        ``(start, stop)`` in seconds from the start of the record: draw only that span (a long
        record, e.g. a 30-min MIT-BIH one, is readable only a few seconds at a time). Default:
        the whole record.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.plotting import plot_tokenization
    >>> X, y = make_ecg(1, random_state=0)
    >>> fig = plot_tokenization(QRSTokenizer(sampling_rate=100).fit_transform(X))
    >>> len(fig.axes)
    3
    >>> fig = plot_tokenization(QRSTokenizer(sampling_rate=100).fit_transform(X), window=(2, 5))
    >>> tuple(round(float(limit), 1) for limit in fig.axes[0].get_xlim())
    (2.0, 5.0)
    """
    plt = _pyplot()
    one = sentences[record]
    signals = one.signals[0].astype(np.float32)
    n_leads, n_samples = signals.shape
    rate = one.sampling_rate
    first, last = 0, n_samples
    if window is not None:
        begin, end = window
        if not 0 <= begin < end:
            raise ValueError(f"window must be (start, stop) seconds with 0 <= start < stop, got "
                             f"{window!r}")
        first, last = int(begin * rate), min(n_samples, int(np.ceil(end * rate)))
        if first >= n_samples:
            raise ValueError(f"window {window!r} starts after the record's end "
                             f"({n_samples / rate:g} s)")
    seconds = np.arange(first, last) / rate
    leads = [lead for lead in leads if lead < n_leads] or [0]
    fig, axes = plt.subplots(len(leads), 1, figsize=(11, 1.9 * len(leads) + 0.6), sharex=True,
                             squeeze=False)
    for ax, lead in zip(axes[:, 0], leads):
        ax.plot(seconds, signals[lead, first:last], color="black", lw=0.8)
        mine = (one.leads[0] == lead + 1) & (one.stops[0] > first) & (one.starts[0] < last)
        for k, (start, stop, peak) in enumerate(zip(one.starts[0][mine], one.stops[0][mine],
                                                    one.r_peaks[0][mine])):
            ax.axvspan(max(start, first) / rate, min(stop, last) / rate,
                       color=("tab:blue", "tab:orange")[k % 2], alpha=0.12, lw=0)
            if first <= peak < last:
                ax.axvline(peak / rate, color="tab:red", lw=0.7, alpha=0.8)
        ax.set_ylabel(_lead_name(lead, n_leads))
        ax.set_xlim(first / rate, last / rate)
    axes[0, 0].set_title(f"record {record}: {int(one.n_beats[0])} beats detected, "
                         f"{int(one.n_tokens[0])} tokens, {int(one.n_dropped[0])} dropped "
                         f"(red: R peaks; shading: cut beats)", fontsize=10)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig


def plot_sentence(sentences, record=0, path=None):
    """Draw one ECG sentence as the model sees it: tokens in order, lead and second of each.

    Parameters
    ----------
    sentences : ECGSentences
    record : int, default=0
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.plotting import plot_sentence
    >>> X, y = make_ecg(1, random_state=0)
    >>> fig = plot_sentence(QRSTokenizer(sampling_rate=100).fit_transform(X))
    >>> len(fig.axes)
    2
    """
    plt = _pyplot()
    one = sentences[record]
    tokens, leads, times = one.tokens[0], one.leads[0], one.times[0]
    n_real = int(one.n_tokens[0])
    shown = max(n_real, 1)
    fig, (ax_tokens, ax_index) = plt.subplots(2, 1, figsize=(11, 4.5), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 1]})
    limit = np.abs(tokens[:shown]).max() or 1.0
    ax_tokens.imshow(tokens[:shown].T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                     interpolation="nearest", extent=(-0.5, shown - 0.5, tokens.shape[1] - 0.5, -0.5))
    ax_tokens.axhline(tokens.shape[1] // 2, color="black", lw=0.5, ls=":")
    ax_tokens.set_ylabel("sample in token\n(R peak dotted)")
    ax_tokens.set_title(f"sentence {record}: {n_real} real tokens of {tokens.shape[0]} "
                        f"(the rest is padding)", fontsize=10)
    positions = np.arange(shown)
    ax_index.step(positions, leads[:shown], where="mid", label="lead")
    ax_index.step(positions, times[:shown], where="mid", label="second")
    ax_index.set_xlabel("token position")
    ax_index.legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig
