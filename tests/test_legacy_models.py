"""Models saved by an earlier layout of the package still load and give the same numbers.

The fixture was written at commit d6b3974, when every estimator lived in a flat top-level module
(``heartlang_sk.vocabulary``, ``heartlang_sk.nn.ecgformer``, ...); see
``tests/fixtures/make_legacy_fixture.py``.
"""
from pathlib import Path

import joblib
import numpy as np
import pytest

from heartlang_sk import ECGVocabulary, HeartLangEmbedder

FIXTURE = Path(__file__).parent / "fixtures" / "legacy_v0_1"


@pytest.fixture(scope="module")
def expected():
    return np.load(FIXTURE / "expected.npz")


def test_joblib_probe_from_flat_layout_loads_and_predicts_the_same(expected):
    probe = joblib.load(FIXTURE / "probe.joblib")
    assert isinstance(probe[1], HeartLangEmbedder)
    np.testing.assert_allclose(probe[:-1].transform(expected["X"]), expected["embeddings"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probe.predict_proba(expected["X"]), expected["proba"], rtol=1e-5, atol=1e-6)


def test_vocabulary_weights_from_flat_layout_load_and_give_the_same_words(expected):
    probe = joblib.load(FIXTURE / "probe.joblib")
    S = probe[0].transform(expected["X"])
    vocab = ECGVocabulary.load_weights(FIXTURE / "vocabulary.pt", device="cpu")
    np.testing.assert_array_equal(vocab.transform(S), expected["words"])
