"""The stages compose in a Pipeline in the order a user writes them (issue 17, item 1)."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from heartlang_sk import ECGVocabulary, HeartLangClassifier, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import load_ptbxl2k, make_ecg
from heartlang_sk.stage_outputs import WORKING_PIPELINE, ECGEmbeddings, ECGWords

VOCAB = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8,
             random_state=0)
PRE = dict(depth=1, max_epochs=1, batch_size=8, random_state=0)


def tokenizer():
    return QRSTokenizer(sampling_rate=100)


@pytest.fixture(scope="module")
def data():
    X, y = make_ecg(24, classes=["brady", "tachy"], random_state=0)
    return X, y, tokenizer().fit_transform(X)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def test_the_pipeline_a_user_writes_equals_the_stages_fitted_by_hand(data):
    X, y, S = data
    pipeline = make_pipeline(tokenizer(), ECGVocabulary(**VOCAB), HeartLangPretrainer(**PRE),
                             HeartLangEmbedder(), LogisticRegression()).fit(X, y)
    vocab = ECGVocabulary(**VOCAB).fit(S)
    pre = HeartLangPretrainer(vocab, **PRE).fit(S)
    by_hand = make_pipeline(tokenizer(), HeartLangEmbedder(pre), LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(pipeline[1].codebook_, vocab.codebook_)
    np.testing.assert_allclose(pipeline[:-1].transform(X), by_hand[:-1].transform(X), atol=1e-6)
    np.testing.assert_allclose(pipeline.predict_proba(X), by_hand.predict_proba(X), atol=1e-6)
    assert pipeline[2].vocabulary_ is pipeline[1]  # the pretrainer trained on the vocabulary step's words
    assert pipeline[3].pretrainer_ is pipeline[2]


def test_pretrainer_is_the_transformer_that_embeds(data):
    X, y, S = data
    short = make_pipeline(tokenizer(), HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE), LogisticRegression())
    short.fit(X, y)
    pre = short[1]
    embeddings = pre.transform(S)
    assert isinstance(embeddings, ECGEmbeddings) and embeddings.dtype == np.float32
    np.testing.assert_allclose(embeddings, HeartLangEmbedder(pre).fit(S).transform(S), atol=1e-6)
    assert short.predict_proba(X).shape == (24, 2)


def test_embedder_after_the_pretrainer_step_pools_otherwise(data):
    X, y, S = data
    pipeline = make_pipeline(tokenizer(), HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE),
                             HeartLangEmbedder(pooling="lead"), LogisticRegression()).fit(X, y)
    features = pipeline[:-1].transform(X)
    expected = HeartLangEmbedder(pipeline[1], pooling="lead").fit(S).transform(S)
    assert features.shape == (24, 12 * 64)
    np.testing.assert_allclose(features, expected, atol=1e-6)


def test_nested_forms_still_work_and_cross_validate(data):
    X, y, _ = data
    nested = make_pipeline(tokenizer(), HeartLangEmbedder(HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE)),
                           LogisticRegression())
    after_vocabulary = make_pipeline(tokenizer(), ECGVocabulary(**VOCAB),
                                     HeartLangEmbedder(HeartLangPretrainer(**PRE)), LogisticRegression())
    for pipeline in (nested, after_vocabulary):
        assert cross_val_score(pipeline, X, y, cv=KFold(2)).shape == (2,)


def test_words_behave_as_the_int64_array_and_keep_their_records(data):
    _, _, S = data
    vocab = ECGVocabulary(**VOCAB).fit(S)
    words = vocab.transform(S)
    plain = np.asarray(words)
    assert isinstance(words, ECGWords) and type(plain) is np.ndarray and words.dtype == np.int64
    np.testing.assert_array_equal(words, vocab.fit_transform(S))
    assert words.vocabulary is vocab and words.sentences is S
    part = words[[3, 5]]
    np.testing.assert_array_equal(part.sentences.tokens, S[[3, 5]].tokens)
    np.testing.assert_array_equal(part, plain[[3, 5]])
    assert words[1:4, ...].sentences.shape[0] == 3
    np.testing.assert_array_equal(words[[0, 2], [5, 7]], plain[[0, 2], [5, 7]])  # beats, not records
    assert type(words[[0, 2], [5, 7]]) is np.ndarray
    assert type(words + 1) is np.ndarray and type(words == -1) is np.ndarray and type(words[0]) is np.ndarray
    assert not words.copy().has_provenance
    restored = pickle.loads(pickle.dumps(words))
    np.testing.assert_array_equal(restored.sentences.tokens, S.tokens)
    assert isinstance(restored.vocabulary, ECGVocabulary)


@pytest.mark.parametrize("steps, message", [
    (lambda: [ECGVocabulary(**VOCAB), HeartLangEmbedder(), LogisticRegression()], "put one between them"),
    (lambda: [ECGVocabulary(**VOCAB), HeartLangClassifier(depth=1, max_epochs=1)], "word indices"),
    (lambda: [ECGVocabulary(**VOCAB), ECGVocabulary(**VOCAB)], "word indices"),
    (lambda: [ECGVocabulary(**VOCAB), HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE)], "give the vocabulary once"),
    (lambda: [HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE), HeartLangPretrainer(ECGVocabulary(**VOCAB), **PRE)],
     "embeddings"),
    (lambda: [HeartLangEmbedder(HeartLangPretrainer(max_epochs=0)), HeartLangEmbedder()], "embeddings"),
])
def test_a_step_order_that_cannot_work_says_which_does(data, steps, message):
    X, y, _ = data
    with pytest.raises(ValueError, match=message) as error:
        make_pipeline(tokenizer(), *steps()).fit(X, y)
    text = str(error.value)
    assert "\n" not in text and (WORKING_PIPELINE in text or "make_pipeline(" in text)


def test_words_without_their_sentences_are_refused_not_read_as_beats(data):
    _, _, S = data
    words = ECGVocabulary(**VOCAB).fit(S).transform(S)
    with pytest.raises(ValueError, match="without the sentences"):
        HeartLangPretrainer(**PRE).fit(words.copy())
    with pytest.raises(ValueError, match="needs ECG sentences but got ECG word indices"):
        ECGVocabulary(**VOCAB).fit(words)
    fitted = HeartLangPretrainer(max_epochs=0, depth=1).fit(S)
    with pytest.raises(ValueError, match="already fitted and does not read the words"):
        HeartLangEmbedder(fitted).fit(words)


def test_pipeline_memory_cache_keeps_the_provenance(data, tmp_path):
    X, y, _ = data
    pipeline = make_pipeline(tokenizer(), ECGVocabulary(**VOCAB), HeartLangPretrainer(**PRE),
                             HeartLangEmbedder(), LogisticRegression(), memory=str(tmp_path))
    first = pipeline.fit(X, y).predict_proba(X)
    again = pipeline.fit(X, y).predict_proba(X)  # the first three steps come from the cache
    np.testing.assert_allclose(first, again, atol=1e-6)


def test_the_users_pipeline_on_real_records(ptbxl2k_path, tmp_path):
    X, Y, _ = load_ptbxl2k(ptbxl2k_path, task="super", folds=[1])
    X, y = X[:96], Y.iloc[:96, 1].to_numpy()  # NORM vs rest
    pipeline = make_pipeline(tokenizer(), ECGVocabulary(**dict(VOCAB, n_words=32)), HeartLangPretrainer(**PRE),
                             HeartLangEmbedder(), LogisticRegression(max_iter=500))
    proba = pipeline.fit(X[:64], y[:64]).predict_proba(X[64:])
    assert proba.shape == (32, 2) and np.isfinite(proba).all()
    joblib.dump(pipeline, tmp_path / "pipeline.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "pipeline.joblib").predict_proba(X[64:]), proba, atol=1e-6)
