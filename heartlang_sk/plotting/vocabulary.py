"""Pictures of a fitted ECG vocabulary.

- :func:`plot_reconstructions` -- beats beside their reconstruction from their ECG word (the
  HeartLang paper's Figure 4);
- :func:`plot_top_words` -- the most frequent words as the average of the beats they stand for
  (its Figure 3);
- :func:`plot_vocabulary_map` -- the codebook vectors embedded in 2-D, coloured by how often each
  word is used (its Figure 6).

matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

import numbers
import textwrap

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..io.atomic import save_figure_atomic
from .._validation import check_sentences
from ._common import _lead_name, _pyplot

__all__ = ["plot_reconstructions", "plot_top_words", "plot_vocabulary_map"]

_CHUNK = 256  # records per inference / token-building chunk
_MIN_WIDTH = 7.5  # inches: a figure of few panels still fits its title
MAP_METHODS = ("pca", "tsne")


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _grid(plt, n_panels, n_cols, panel=(2.6, 1.6), title_height=0.45):
    """A figure with exactly ``n_panels`` axes (shared x and y) on a grid of ``n_cols`` columns.

    The layout is computed here in inches rather than by ``tight_layout``, which needs seconds for
    a grid of 16 panels; tick labels are kept on the left column and the lowest panel of each
    column only.
    """
    n_cols = max(1, min(n_cols, n_panels))
    n_rows = -(-n_panels // n_cols)
    left, right, bottom, top = 0.55, 0.2, 0.55, 0.45 + title_height  # suptitle + first titles
    gap_x, gap_y = 0.2, title_height + 0.1
    width = left + right + n_cols * panel[0] + (n_cols - 1) * gap_x
    if width < _MIN_WIDTH:  # room for the title: centre a narrow grid
        left, right = left + (_MIN_WIDTH - width) / 2, right + (_MIN_WIDTH - width) / 2
        width = _MIN_WIDTH
    height = bottom + top + n_rows * panel[1] + (n_rows - 1) * gap_y
    fig = plt.figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap_x / panel[0], hspace=gap_y / panel[1])
    axes = []
    for i in range(n_panels):
        share = axes[0] if axes else None
        ax = fig.add_subplot(n_rows, n_cols, i + 1, sharex=share, sharey=share)
        ax.tick_params(labelsize=7, labelleft=i % n_cols == 0,
                       labelbottom=i >= n_panels - n_cols)  # the last n_cols end their columns
        if i >= n_panels - n_cols:
            ax.set_xlabel("ms from R peak", fontsize=7)
        axes.append(ax)
    return fig, axes


def _milliseconds(t, sampling_rate):
    return (np.arange(t) - t // 2) * 1000.0 / sampling_rate


def _finish(fig, title, path):
    fig.suptitle(textwrap.fill(title, width=int(13 * fig.get_figwidth())), fontsize=10,
                 y=1 - 0.08 / fig.get_figheight(), va="top")
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig


def plot_reconstructions(vocabulary, sentences, n_beats=8, random_state=0, path=None):
    """Draw randomly chosen beats with their reconstruction from their ECG word.

    Each panel overlays one real (non-padding) beat and what the vocabulary's decoder rebuilds
    from the beat's word (with the lead and second of the sentence as context), like Figure 4 of
    the HeartLang paper. Titles give the record, lead, second and word; the legend of the first
    panel gives the R² of the reconstruction over the drawn beats (pass held-out sentences to see
    how the vocabulary generalizes).

    Parameters
    ----------
    vocabulary : ECGVocabulary
        A fitted vocabulary.
    sentences : ECGSentences
        Output of :class:`~heartlang_sk.QRSTokenizer` (e.g. held-out records).
    n_beats : int, default=8
        Number of beats (panels), drawn without replacement among the real beats; fewer when
        the sentences hold fewer beats.
    random_state : int, RandomState instance or None, default=0
        Which beats are drawn.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per beat.

    Raises
    ------
    ValueError
        If ``n_beats`` is not a positive integer or the sentences hold no real beat.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer, ECGVocabulary
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.plotting.vocabulary import plot_reconstructions
    >>> X, y = make_ecg(8, random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> vocab = ECGVocabulary(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1,
    ...                       max_epochs=1, random_state=0).fit(S)
    >>> fig = plot_reconstructions(vocab, S, n_beats=4)
    >>> len(fig.axes)
    4
    """
    check_is_fitted(vocabulary, "net_")
    sentences = check_sentences(vocabulary, sentences, reset=False)
    _check_positive_int(n_beats, "n_beats")
    records, positions = np.nonzero(~sentences.padding_mask)
    if len(records) == 0:
        raise ValueError("the sentences hold no real beat to draw")
    rng = check_random_state(random_state)
    chosen = np.sort(rng.choice(len(records), size=min(n_beats, len(records)), replace=False))
    records, positions = records[chosen], positions[chosen]
    unique, inverse = np.unique(records, return_inverse=True)
    part = sentences[unique]  # only the records drawn from go through the model
    words = vocabulary.transform(part)[inverse, positions]
    rebuilt = vocabulary.reconstruct(part)[inverse, positions]
    beats = part.tokens[inverse, positions]
    leads = part.leads[inverse, positions]
    times = part.times[inverse, positions]
    n_leads = sentences.signals.shape[1]
    total = np.sum((beats - beats.mean()) ** 2)
    r2 = 1.0 - np.sum((rebuilt - beats) ** 2) / total if total > 0 else float("nan")

    plt = _pyplot()
    fig, axes = _grid(plt, len(beats), 4)
    ms = _milliseconds(sentences.t, sentences.sampling_rate)
    for k, ax in enumerate(axes):
        ax.plot(ms, beats[k], color="black", lw=1.0, label="beat")
        ax.plot(ms, rebuilt[k], color="tab:red", lw=1.0, alpha=0.85, label="from its word")
        ax.set_title(f"record {int(records[k])}, lead {_lead_name(int(leads[k]) - 1, n_leads)}, "
                     f"second {int(times[k])}\nword {int(words[k])}", fontsize=8)
        ax.axvline(0.0, color="grey", lw=0.5, ls=":")
    axes[0].legend(fontsize=6, loc="upper right", title=f"R² {r2:.3f}", title_fontsize=6)
    return _finish(fig, f"{len(beats)} beats and their reconstruction from one ECG word each "
                        f"(vocabulary of {vocabulary.codebook_.shape[0]} words)", path)


def plot_top_words(vocabulary, sentences, n_words=16, path=None):
    """Draw the most frequent ECG words as the average of the beats they stand for.

    Every real beat of ``sentences`` is assigned its word; for the ``n_words`` most frequent
    words, one panel shows the mean beat (line) and ± one standard deviation (band) of the beats
    assigned to it, with the word's count, like Figure 3 of the HeartLang paper. Beats are built
    and summed a chunk of records at a time, so large sentence stores fit in memory.

    Parameters
    ----------
    vocabulary : ECGVocabulary
        A fitted vocabulary.
    sentences : ECGSentences
    n_words : int, default=16
        Number of words (panels); fewer when fewer words are used.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per word, most frequent first.

    Raises
    ------
    ValueError
        If ``n_words`` is not a positive integer or the sentences hold no real beat.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer, ECGVocabulary
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.plotting.vocabulary import plot_top_words
    >>> X, y = make_ecg(8, random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> vocab = ECGVocabulary(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1,
    ...                       max_epochs=1, random_state=0).fit(S)
    >>> fig = plot_top_words(vocab, S, n_words=3)
    >>> len(fig.axes)
    3
    """
    check_is_fitted(vocabulary, "net_")
    sentences = check_sentences(vocabulary, sentences, reset=False)
    _check_positive_int(n_words, "n_words")
    vocabulary_size = vocabulary.codebook_.shape[0]
    words = vocabulary.transform(sentences)
    counts = np.bincount(words[words >= 0], minlength=vocabulary_size)
    if counts.sum() == 0:
        raise ValueError("the sentences hold no real beat to draw")
    order = np.argsort(-counts, kind="stable")
    top = order[:min(n_words, int(np.count_nonzero(counts)))]
    slot = np.full(vocabulary_size, -1)
    slot[top] = np.arange(len(top))
    t = sentences.t
    sums = np.zeros((len(top), t))
    squares = np.zeros((len(top), t))
    for start in range(0, len(sentences), _CHUNK):
        stop = min(start + _CHUNK, len(sentences))
        chunk_words = words[start:stop]
        keep = (chunk_words >= 0) & (slot[np.maximum(chunk_words, 0)] >= 0)
        if not keep.any():
            continue
        beats = sentences[start:stop].tokens[keep].astype(np.float64)
        rows = slot[chunk_words[keep]]
        np.add.at(sums, rows, beats)
        np.add.at(squares, rows, beats ** 2)
    n = counts[top].astype(np.float64)[:, None]
    mean = sums / n
    std = np.sqrt(np.maximum(squares / n - mean ** 2, 0.0))

    plt = _pyplot()
    fig, axes = _grid(plt, len(top), 4, title_height=0.3)
    ms = _milliseconds(t, sentences.sampling_rate)
    total = int(counts.sum())
    for k, ax in enumerate(axes):
        ax.fill_between(ms, mean[k] - std[k], mean[k] + std[k], color="tab:blue", alpha=0.25, lw=0)
        ax.plot(ms, mean[k], color="tab:blue", lw=1.2)
        ax.set_title(f"word {int(top[k])}: {int(counts[top[k]])} beats "
                     f"({100.0 * counts[top[k]] / total:.2f}%)", fontsize=8)
        ax.axvline(0.0, color="grey", lw=0.5, ls=":")
    return _finish(fig, f"The {len(top)} most frequent ECG word{'s' if len(top) > 1 else ''}: "
                        f"mean ± std of their beats "
                        f"({int(np.count_nonzero(counts))} of {vocabulary_size} words used, "
                        f"{total} beats)", path)


def _project(codebook, method, random_state):
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=random_state).fit_transform(codebook)
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(1.0, (len(codebook) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", metric="cosine",
                random_state=random_state).fit_transform(codebook)


def plot_vocabulary_map(vocabulary, sentences=None, method="pca", random_state=0, path=None):
    """Draw the vocabulary as a 2-D map of its word vectors, coloured by how often each is used.

    The unit-norm codebook vectors (``vocabulary.codebook_``) are embedded in 2-D by PCA or
    t-SNE (cosine distance), like Figure 6 of the HeartLang paper. Used words are coloured by
    their count on a log scale; unused words are drawn as small grey crosses, so a codebook that
    collapsed onto a few words is visible at a glance.

    Parameters
    ----------
    vocabulary : ECGVocabulary
        A fitted vocabulary.
    sentences : ECGSentences, optional
        Count word use on these sentences (e.g. held-out records); default the training counts
        ``vocabulary.word_counts_``.
    method : {"pca", "tsne"}, default="pca"
        ``"pca"`` is fast and deterministic; ``"tsne"`` (scikit-learn ``TSNE``) shows clusters
        better and takes seconds to minutes for thousands of words.
    random_state : int, RandomState instance or None, default=0
        Seed of the projection.
    path : str or path-like, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        The map and its colour bar.

    Raises
    ------
    ValueError
        On an unknown ``method`` or a codebook of fewer than 3 words.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer, ECGVocabulary
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.plotting.vocabulary import plot_vocabulary_map
    >>> X, y = make_ecg(8, random_state=0)
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> vocab = ECGVocabulary(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1,
    ...                       max_epochs=1, random_state=0).fit(S)
    >>> fig = plot_vocabulary_map(vocab)
    >>> len(fig.axes)  # the map and its colour bar
    2
    """
    check_is_fitted(vocabulary, "codebook_")
    if method not in MAP_METHODS:
        raise ValueError(f"method must be one of {MAP_METHODS}, got {method!r}")
    codebook = np.asarray(vocabulary.codebook_, dtype=np.float64)
    if len(codebook) < 3:
        raise ValueError(f"a map needs at least 3 words, the codebook has {len(codebook)}")
    if sentences is None:
        counts = np.asarray(vocabulary.word_counts_)
        source = "training sentences"
    else:
        words = vocabulary.transform(check_sentences(vocabulary, sentences, reset=False))
        counts = np.bincount(words[words >= 0], minlength=len(codebook))
        source = f"{len(sentences)} given records"
    xy = _project(codebook, method, random_state)
    used = counts > 0

    plt = _pyplot()
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(7.5, 6.0))
    ax.scatter(xy[~used, 0], xy[~used, 1], marker="x", s=10, lw=0.6, color="0.7",
               label=f"unused ({int((~used).sum())})")
    order = np.argsort(counts[used])  # frequent words on top
    points = ax.scatter(xy[used, 0][order], xy[used, 1][order], c=counts[used][order],
                        s=8 + 40 * np.sqrt(counts[used][order] / max(counts.max(), 1)),
                        cmap="viridis", norm=LogNorm(vmin=1, vmax=max(int(counts.max()), 2)),
                        edgecolors="none", label=f"used ({int(used.sum())})")
    fig.colorbar(points, ax=ax, label=f"beats per word ({source})")
    ax.legend(loc="best", fontsize=8)
    name = {"pca": "PCA", "tsne": "t-SNE"}[method]
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    ax.set_title(f"ECG vocabulary: {len(codebook)} words ({name} of the word vectors), "
                 f"{int(used.sum())} used", fontsize=10)
    fig.tight_layout()
    if path is not None:
        save_figure_atomic(fig, path, dpi=110)
    return fig
