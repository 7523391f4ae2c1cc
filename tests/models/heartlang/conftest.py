"""Fixtures shared by the tests of the options beyond the paper (rhythm and waveform targets)."""

import pytest

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.datasets import make_ecg

TINY_VOCABULARY = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8,
                       random_state=0)


@pytest.fixture(scope="module")
def sentences():
    """24 synthetic records of two rhythm classes (slow and fast), as ECG sentences."""
    X, _ = make_ecg(24, classes=["brady", "tachy"], random_state=0)
    return QRSTokenizer(sampling_rate=100).fit_transform(X)


@pytest.fixture(scope="module")
def vocabulary(sentences):
    """A 16-word vocabulary fitted in one epoch on :func:`sentences`."""
    return ECGVocabulary(**TINY_VOCABULARY).fit(sentences)
