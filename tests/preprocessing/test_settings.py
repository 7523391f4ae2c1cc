"""Tokenizer settings travel with the sentences and the models (issue 17, item 2)."""

import json
import pickle
import warnings

import numpy as np
import pytest

from heartlang_sk import ECGSentences, ECGVocabulary, HeartLangClassifier, HeartLangEmbedder, HeartLangPretrainer
from heartlang_sk import QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.records import read_records
from heartlang_sk.preprocessing import FixedWindowTokenizer
from heartlang_sk.preprocessing.settings import tokenizer_for

VOCAB = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8,
             random_state=0)
PRE = dict(depth=1, max_epochs=1, batch_size=8, random_state=0)
HIGH_PASS = (0.5, None)


@pytest.fixture(scope="module")
def raw_ptbxl(ptbxl_path):
    """40 raw PTB-XL records in mV (baseline wander included), 100 Hz."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X = read_records(ptbxl_path / "records100" / "00000", max_records=40)[0]
    return X


@pytest.fixture(scope="module")
def trained(raw_ptbxl):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        S = QRSTokenizer(sampling_rate=100, bandpass=HIGH_PASS).fit_transform(raw_ptbxl)
    vocab = ECGVocabulary(**VOCAB).fit(S)
    return S, vocab, HeartLangPretrainer(vocab, **PRE).fit(S)


def tokenize(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return QRSTokenizer(sampling_rate=100, **params).fit_transform(X)


def test_sentences_carry_the_settings_that_made_them(raw_ptbxl):
    S = tokenize(raw_ptbxl, bandpass=HIGH_PASS, normalize="zscore")
    assert S.preprocessing == {"tokenizer": "QRSTokenizer", "sampling_rate_in": 100.0, "l": 256, "t": 96,
                               "truncation": "balanced", "bandpass": HIGH_PASS, "filter_order": 2,
                               "normalize": "zscore", "detection_lead": 0, "detection_fallback": True}
    assert S[3:7].preprocessing == S.preprocessing
    assert pickle.loads(pickle.dumps(S)).preprocessing == S.preprocessing
    X500, _ = make_ecg(2, sampling_rate=500, random_state=0)
    windows = FixedWindowTokenizer(sampling_rate=500, stride=48).fit_transform(X500)
    assert windows.preprocessing["tokenizer"] == "FixedWindowTokenizer" and windows.preprocessing["stride"] == 48
    assert windows.preprocessing["sampling_rate_in"] == 500.0


def test_models_record_the_settings_and_refuse_sentences_made_otherwise(raw_ptbxl, trained):
    S, vocab, pre = trained
    assert vocab.preprocessing_["bandpass"] == HIGH_PASS and pre.preprocessing_ == S.preprocessing
    unfiltered = tokenize(raw_ptbxl)
    # The two tokenizations really differ: the high-pass removes the baseline of the raw mV records.
    assert np.abs(unfiltered.tokens - S.tokens).max() > 0.1
    message = r"bandpass=None here, \(0.5, None\) in training"
    for refuse in (lambda: vocab.transform(unfiltered), lambda: pre.transform(unfiltered),
                   lambda: HeartLangEmbedder(pre).fit(unfiltered),
                   lambda: HeartLangClassifier(pre, max_epochs=1).fit(unfiltered, np.arange(40) % 2)):
        with pytest.raises(ValueError, match=message) as error:
            refuse()
        assert "\n" not in str(error.value) and "tokenizer_for(model" in str(error.value)
    embedder = HeartLangEmbedder(pre).fit(S)
    with pytest.raises(ValueError, match="normalize='zscore' here, None in training"):
        embedder.transform(tokenize(raw_ptbxl, bandpass=HIGH_PASS, normalize="zscore"))


def test_tokenizer_for_a_model_applies_its_settings_to_new_records(raw_ptbxl, trained):
    S, _, pre = trained
    embedder = HeartLangEmbedder(pre).fit(S)
    tokenizer = tokenizer_for(embedder, sampling_rate=100)
    assert tokenizer.get_params()["bandpass"] == HIGH_PASS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = tokenizer.fit_transform(raw_ptbxl)
    np.testing.assert_array_equal(again.tokens, S.tokens)
    np.testing.assert_array_equal(embedder.transform(again), embedder.transform(S))
    # Records at another sampling rate: the same settings, the rate of the records.
    assert tokenizer_for(pre, sampling_rate=500).get_params()["sampling_rate"] == 500


def test_the_store_header_keeps_the_settings_and_old_stores_still_load(trained, tmp_path):
    S, vocab, _ = trained
    S[:6].save(tmp_path / "store")
    header = json.loads((tmp_path / "store" / "header.json").read_text())
    assert header["preprocessing"]["bandpass"] == [0.5, None]
    assert ECGSentences.load(tmp_path / "store").preprocessing == S.preprocessing
    del header["preprocessing"]  # a store written before the settings were recorded
    (tmp_path / "store" / "header.json").write_text(json.dumps(header))
    old = ECGSentences.load(tmp_path / "store")
    assert old.preprocessing is None
    with pytest.warns(UserWarning, match="carry no tokenizer settings"):
        words = vocab.transform(old)
    np.testing.assert_array_equal(words, vocab.transform(S[:6]))


def test_sentences_pickled_before_the_settings_existed_load_as_unknown(trained):
    S, _, _ = trained
    state = S[:2].__reduce_ex__(2)[2]
    slots = {k: v for k, v in state[1].items() if k != "preprocessing"}
    old = ECGSentences.__new__(ECGSentences)
    old.__setstate__((None, slots))
    assert old.preprocessing is None and old.shape == (2, 256, 96)


def test_joining_sentences_made_otherwise_is_refused(raw_ptbxl):
    a, b = tokenize(raw_ptbxl[:2], bandpass=HIGH_PASS), tokenize(raw_ptbxl[2:4])
    with pytest.raises(ValueError, match="bandpass"):
        ECGSentences.concatenate([a, b])
    joined = ECGSentences.concatenate([a, tokenize(raw_ptbxl[2:4], bandpass=HIGH_PASS)])
    assert joined.preprocessing == a.preprocessing


def test_models_fitted_on_unknown_settings_check_nothing():
    X, _ = make_ecg(8, random_state=0)
    S = tokenize(X)
    S_unknown = ECGSentences(S.signals, S.r_peaks, S.starts, S.stops, S.leads, S.n_beats, S.n_dropped)
    vocab = ECGVocabulary(**VOCAB).fit(S_unknown)
    assert vocab.preprocessing_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vocab.transform(tokenize(X, bandpass=HIGH_PASS))
