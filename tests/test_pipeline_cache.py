"""Pipeline(memory=...) finds a fitted HeartLang step again only if the step hashes the same."""

import joblib
import pytest
from sklearn.base import clone

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg


@pytest.fixture(scope="module")
def embedder():
    S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(12, random_state=0)[0])
    vocabulary = ECGVocabulary(n_words=8, word_dim=4, encoder_depth=1, decoder_depth=1,
                               max_epochs=1, batch_size=8, random_state=0).fit(S)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8,
                                     random_state=0).fit(S)
    return HeartLangEmbedder(pretrainer)


def test_the_tokenizer_hashes_the_same_on_every_call():
    tokenizer = QRSTokenizer(sampling_rate=100)
    assert joblib.hash(clone(tokenizer)) == joblib.hash(clone(tokenizer))


def test_a_fitted_embedder_hashes_the_same_on_every_call(embedder):
    assert joblib.hash(clone(embedder)) == joblib.hash(clone(embedder))
