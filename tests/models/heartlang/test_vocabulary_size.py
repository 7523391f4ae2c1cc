"""A vocabulary too large for its training beats says so, in numbers (issue 17, item 4)."""

import re
import warnings

import numpy as np
import pytest

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.models.heartlang._vocabulary_size import BEATS_PER_WORD, suggested_n_words

SMALL = dict(word_dim=16, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def sentences(ptbxl2k_path):
    signals = np.load(ptbxl2k_path / "signals_100hz.npy", mmap_mode="r")[:40]
    return QRSTokenizer(sampling_rate=100).fit_transform(np.asarray(signals, dtype=np.float32))


def test_suggested_vocabulary_has_enough_beats_per_word():
    assert suggested_n_words(4_680) == 128  # the 4,680 beats: 8,192 words left 7,868 unused
    for beats in (100, 5_000, 1_000_000):
        words = suggested_n_words(beats)
        assert beats >= BEATS_PER_WORD * words or words == 2
        assert beats < BEATS_PER_WORD * 2 * words


def test_too_many_words_for_the_beats_warns_in_numbers(sentences):
    n_beats = int(sentences.n_tokens.sum())
    with pytest.warns(UserWarning, match="training beats for n_words=1,024") as caught:
        vocab = ECGVocabulary(n_words=1024, **SMALL).fit(sentences)
    message = str([w for w in caught if "n_words=1,024" in str(w.message)][0].message)
    assert "\n" not in message
    assert f"{n_beats:,} training beats" in message
    assert f"{vocab.n_active_words_:,} words in use" in message
    assert f"R² {vocab.train_r2_:.2f}" in message
    suggested = int(re.search(r"n_words=([\d,]+) suits", message).group(1).replace(",", ""))
    assert suggested == suggested_n_words(n_beats) and suggested * BEATS_PER_WORD <= n_beats


def test_enough_beats_no_warning_and_final_training_r2(sentences):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vocab = ECGVocabulary(n_words=64, **SMALL).fit(sentences)
    assert vocab.train_r2_ == pytest.approx(vocab.reconstruction_errors(sentences)["r2"], abs=1e-5)
    assert "train_r2" in vocab.history_
