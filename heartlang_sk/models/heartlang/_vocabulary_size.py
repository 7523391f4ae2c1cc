"""When the training beats are too few for the vocabulary size: the rule and its one-line warning.

Contract: :func:`warn_if_too_few_beats` warns (``UserWarning``, one line, in numbers) after a fit
on fewer than :data:`BEATS_PER_WORD` real beat tokens per word, with the words the fit used, its
reconstruction R² on the training beats and an ``n_words`` that suits the data.

The rule comes from ``benchmarks/results/vocabulary_small_data.md`` (tiny vocabularies, 5 epochs,
the first 16-250 ptbxl-2k records, 2,148-35,844 beats): at every data size, 64, 512 and 8,192 words
reached the same reconstruction R² (within 0.01, on training and held-out beats), but 8,192 words left
90-99 % of the words unused (216-776 in use), while 64 words with 33 or more beats per word used
83-92 % of them. A vocabulary far larger than the data buys nothing and hides that behind the
default; 30 beats per word is where every word can be seen often enough to be learned.
"""

from __future__ import annotations

import warnings

BEATS_PER_WORD = 30
"""Fewer real beat tokens per word than this and the fit warns."""


def suggested_n_words(n_beats):
    """The largest power of two with at least :data:`BEATS_PER_WORD` beats per word (at least 2)."""
    words = 2
    while words * 2 * BEATS_PER_WORD <= n_beats:
        words *= 2
    return words


def warn_if_too_few_beats(n_beats, n_words, n_active_words, train_r2):
    """Warn when ``n_beats`` training beats are too few for ``n_words`` words."""
    if n_beats >= BEATS_PER_WORD * n_words:
        return
    warnings.warn(f"ECGVocabulary: {n_beats:,} training beats for n_words={n_words:,} ({n_beats / n_words:.2g} "
                  f"a word, fewer than {BEATS_PER_WORD}): {n_active_words:,} words in use, reconstruction R² "
                  f"{train_r2:.2f} on the training beats; n_words={suggested_n_words(n_beats):,} suits this "
                  f"much data", UserWarning, stacklevel=4)
