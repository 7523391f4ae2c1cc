"""The built-in report tokenizer: a word vocabulary learned in ``fit`` plus hashed character n-grams.

Contract: :class:`ReportTokenizer` turns report strings into fixed-shape integer arrays that the
text tower and the caption decoder read, with no download and no external model:

- ``text_ids`` (n, max_words): the word's id in the vocabulary learned from the training reports
  (``PAD=0``, ``UNK=1``, ``BOS=2``, ``EOS=3``, then words by decreasing frequency);
- ``text_ngrams`` (n, max_words, max_ngrams): hashed character 3- and 4-grams of ``<word>``
  (fastText's sub-word trick, ``0`` = padding), so an unseen word (a prompt's ``vorhofflattern``
  next to a report's ``vorhofflimmern``, a German compound, a spelling variant) still gets an
  embedding from the pieces it shares with known words;
- ``text_phrases`` (n, max_words): the index of the statement (:func:`split_report`) each word
  belongs to, ``-1`` at padding — the report "sentences" of the local loss.

Why words + n-grams rather than learned word pieces: PTB-XL reports are short (median 60
characters), templated and highly compounded German; a word-piece merge table learned from ~600
reports overfits to whole templates, while hashed n-grams need no learning and share statistics
between ``sinusrhythmus``/``sinus rhythm``/``sinusrytm``. Reports longer than ``max_words`` words
are truncated (counted in ``n_truncated_``).
"""

from __future__ import annotations

import zlib
from collections import Counter

import numpy as np

from ...io.model_files import register_model_class
from .text import split_report

__all__ = ["ReportTokenizer", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(4)


def _ngram_ids(word, sizes, n_buckets, max_ngrams):
    padded = f"<{word}>"
    grams = [padded[i:i + n] for n in sizes for i in range(len(padded) - n + 1)]
    if len(padded) <= max(sizes):  # short words (ecg, st, qt) are also one piece as a whole
        grams.append(padded)
    return [1 + zlib.crc32(g.encode()) % n_buckets for g in grams[:max_ngrams]]


@register_model_class  # its fitted word list goes into .safetensors model files as JSON
class ReportTokenizer:
    """Word vocabulary + hashed character n-grams for ECG reports (the built-in text tower's input).

    Parameters
    ----------
    max_words : int, default=64
        Words kept per report (longer reports are truncated).
    max_vocabulary : int, default=4000
        Largest word vocabulary (most frequent training words), special tokens included.
    min_count : int, default=1
        Words seen fewer times in the training reports map to ``<unk>`` (their n-grams still count).
    n_buckets : int, default=4096
        Hash buckets of the character n-grams.
    ngram_sizes : tuple of int, default=(3, 4)
    max_ngrams : int, default=48
        N-grams kept per word.

    Attributes
    ----------
    vocabulary_ : dict of str to int
    words_ : list of str
        ``words_[i]`` is the word of id ``i``.
    n_truncated_ : int
        Training reports longer than ``max_words`` words.

    Examples
    --------
    >>> tok = ReportTokenizer().fit(["sinusrhythmus normales ekg", "vorhofflimmern, linkstyp"])
    >>> arrays = tok.transform(["Sinusrhythmus.  Vorhofflattern"])
    >>> [tok.words_[i] for i in arrays["text_ids"][0, :2]]
    ['sinusrhythmus', '<unk>']
    >>> arrays["text_phrases"][0, :3].tolist()  # two statements, then padding
    [0, 1, -1]
    >>> bool((arrays["text_ngrams"][0, 1] > 0).any())  # the unseen word still has n-grams
    True
    """

    def __init__(self, max_words=64, max_vocabulary=4000, min_count=1, n_buckets=4096, ngram_sizes=(3, 4),
                 max_ngrams=48):
        self.max_words = max_words
        self.max_vocabulary = max_vocabulary
        self.min_count = min_count
        self.n_buckets = n_buckets
        self.ngram_sizes = ngram_sizes
        self.max_ngrams = max_ngrams

    def fit(self, reports):
        """Learn the word vocabulary from report strings (already checked)."""
        counts = Counter(word for report in reports for phrase in split_report(report) for word in phrase)
        kept = [w for w, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= self.min_count]
        self.words_ = list(SPECIAL_TOKENS) + kept[:max(0, self.max_vocabulary - len(SPECIAL_TOKENS))]
        self.vocabulary_ = {word: i for i, word in enumerate(self.words_)}
        self.n_truncated_ = sum(sum(map(len, split_report(r))) > self.max_words for r in reports)
        return self

    def transform(self, reports):
        """Integer arrays ``text_ids``, ``text_ngrams`` and ``text_phrases`` (see the module docstring)."""
        n = len(reports)
        ids = np.zeros((n, self.max_words), dtype=np.int64)
        ngrams = np.zeros((n, self.max_words, self.max_ngrams), dtype=np.int64)
        phrases = np.full((n, self.max_words), -1, dtype=np.int64)
        cache = {}
        for row, report in enumerate(reports):
            position = 0
            for p, phrase in enumerate(split_report(report)):
                for word in phrase:
                    if position == self.max_words:
                        break
                    ids[row, position] = self.vocabulary_.get(word, UNK)
                    if word not in cache:
                        cache[word] = _ngram_ids(word, self.ngram_sizes, self.n_buckets, self.max_ngrams)
                    grams = cache[word]
                    ngrams[row, position, :len(grams)] = grams
                    phrases[row, position] = p
                    position += 1
        return {"text_ids": ids, "text_ngrams": ngrams, "text_phrases": phrases}

    def decode(self, ids):
        """Words of a sequence of ids, stopping at ``<eos>`` and skipping padding and ``<bos>``."""
        words = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.words_[i])
        return " ".join(words)

    @property
    def vocabulary_size_(self):
        return len(self.words_)
