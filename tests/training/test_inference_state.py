"""A fitted estimator keeps what inference needs, not training state (issue 17, item 5)."""

import io
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import load_ptbxl2k, make_ecg
from heartlang_sk.training.net import SentenceDataset

VOCAB = dict(n_words=64, word_dim=16, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8,
             random_state=0)


def saved_bytes(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sentences():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(24, random_state=0)[0])


@pytest.fixture(scope="module")
def vocabulary(sentences):
    return ECGVocabulary(**VOCAB).fit(sentences)


def test_fitted_nets_hold_no_optimizer_state_nor_quantizer_training_buffers(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(sentences)
    for estimator in (vocabulary, pre):
        assert estimator.net_.optimizer_.state_dict()["state"] == {}
    quantizer = vocabulary.net_.module_.model.quantizer
    assert quantizer.embed_sum.shape == (0, 16) and quantizer._recent.shape == (0, 16)
    assert quantizer.codebook.shape == (64, 16)


def test_views_of_the_net_are_saved_once_and_restored(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(sentences)
    assert "encoder_" not in pre.__getstate__() and "codebook_" not in vocabulary.__getstate__()
    assert "encoder_" in pre.__dict__  # the live object keeps it
    loaded = joblib.load(io.BytesIO(saved_bytes(pre)))
    assert loaded.encoder_ is loaded.net_.module_.model.encoder
    np.testing.assert_array_equal(loaded.vocabulary_.codebook_, vocabulary.codebook_)
    np.testing.assert_array_equal(loaded.transform(sentences), pre.transform(sentences))


def test_weights_file_of_a_fitted_vocabulary_round_trips(sentences, vocabulary, tmp_path):
    vocabulary.save_weights(tmp_path / "vocabulary.pt")
    loaded = ECGVocabulary.load_weights(tmp_path / "vocabulary.pt")
    np.testing.assert_array_equal(loaded.transform(sentences), vocabulary.transform(sentences))


def test_training_a_fitted_net_further_restores_the_ema_state_and_restarts_the_optimizer(sentences):
    vocabulary = ECGVocabulary(**VOCAB).fit(sentences)
    quantizer = vocabulary.net_.module_.model.quantizer
    before = quantizer.codebook.clone()
    vocabulary.net_.partial_fit(SentenceDataset(sentences), epochs=1)
    assert quantizer.embed_sum.shape == (64, 16) and quantizer._recent.shape[0] == quantizer.restart_buffer_size
    assert not torch.equal(before, quantizer.codebook)  # the EMA moved the words
    assert len(vocabulary.net_.optimizer_.state_dict()["state"]) > 0  # a fresh AdamW, stepping again


def test_readme_sized_probe_on_real_records_saves_small(ptbxl2k_path):
    X, Y, _ = load_ptbxl2k(ptbxl2k_path, task="super", folds=[1])
    X, y = X[:48], Y.iloc[:48, 1].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        S = QRSTokenizer(sampling_rate=100).fit_transform(X)
        vocab = ECGVocabulary(max_epochs=1, random_state=0).fit(S)  # the default 8,192 x 128 words
    pre = HeartLangPretrainer(vocab, max_epochs=1, random_state=0).fit(S)
    probe = make_pipeline(QRSTokenizer(sampling_rate=100), HeartLangEmbedder(pre),
                          LogisticRegression(max_iter=500)).fit(X, y)
    saved = saved_bytes(probe)
    # 30.2 MB before (benchmarks/results/model_size.md): AdamW moments, EMA sums, the restart pool and
    # second copies of the codebook and encoder. What is left: weights, the codebook and the word head.
    assert len(saved) < 10 * 2**20
    np.testing.assert_array_equal(joblib.load(io.BytesIO(saved)).predict_proba(X), probe.predict_proba(X))
