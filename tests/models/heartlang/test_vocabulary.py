"""ECGVocabulary: scikit-learn API, training history, repeatability, persistence."""

import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.datasets import make_ecg

TINY = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=2, batch_size=8,
            random_state=0)

EXPECTED_FAILED_CHECKS = {
    "check_methods_subset_invariance": (
        "on the checks' random data the barely trained codebook has near-tied words (cosine "
        "similarities equal to 4 decimals); float32 matmuls of a different batch shape can flip "
        "such a tie, so transform of a subset may differ in a word. Real sentences are tested for "
        "batch-size invariance in test_transform_does_not_depend_on_batch_size."),
}


@pytest.fixture(scope="module")
def sentences():
    X, _ = make_ecg(24, random_state=0)
    return QRSTokenizer(sampling_rate=100).fit_transform(X)


@pytest.fixture(scope="module")
def fitted(sentences):
    return ECGVocabulary(**TINY).fit(sentences)


# A 2-D array is read as one beat per row (one-token sentences): that is what the checks pass.
@parametrize_with_checks([ECGVocabulary(**TINY)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_transform_gives_words_and_minus_one_at_padding(fitted, sentences):
    words = fitted.transform(sentences)
    assert words.shape == (24, 256) and words.dtype == np.int64
    assert (words[sentences.padding_mask] == -1).all()
    real = words[~sentences.padding_mask]
    assert real.min() >= 0 and real.max() < 16
    np.testing.assert_array_equal(np.bincount(real, minlength=16), fitted.word_counts_)
    assert fitted.n_active_words_ == np.count_nonzero(fitted.word_counts_)
    assert 1.0 <= fitted.perplexity_ <= fitted.n_active_words_ + 1e-6
    assert fitted.codebook_.shape == (16, 8)
    np.testing.assert_allclose(np.linalg.norm(fitted.codebook_, axis=1), 1.0, rtol=1e-4)


def test_transform_does_not_depend_on_batch_size(fitted, sentences):
    whole = fitted.transform(sentences)
    one_by_one = np.concatenate([fitted.transform(sentences[i]) for i in range(len(sentences))])
    assert np.mean(whole == one_by_one) > 0.999


def test_reconstruction_is_zero_at_padding_and_scored(fitted, sentences):
    rebuilt = fitted.reconstruct(sentences)
    assert rebuilt.shape == (24, 256, 96) and rebuilt.dtype == np.float32
    assert not rebuilt[sentences.padding_mask].any()
    errors = fitted.reconstruction_errors(sentences)
    real = ~sentences.padding_mask
    mse = np.mean((rebuilt[real] - sentences.tokens[real]) ** 2)
    assert errors["mse"] == pytest.approx(mse, rel=1e-5)
    assert fitted.score(sentences) == pytest.approx(-mse, rel=1e-5)


def test_history_records_every_loss_term_and_codebook_use(sentences):
    vocab = ECGVocabulary(**dict(TINY, max_epochs=3, valid_fraction=0.25)).fit(sentences)
    history = vocab.history_
    assert len(history) == 3
    for column in ("train_loss", "train_reconstruction_loss", "train_commit_loss", "train_r2",
                   "valid_loss", "valid_reconstruction_loss", "valid_commit_loss", "valid_r2",
                   "active_words", "utilization", "perplexity", "words_restarted"):
        assert column in history and history[column].notna().all(), column
    np.testing.assert_allclose(history.train_loss,
                               history.train_reconstruction_loss + history.train_commit_loss, rtol=1e-5)
    batches = vocab.net_.history[-1]["batches"]
    assert {"train_reconstruction_loss", "train_commit_loss", "lr"} <= set(batches[0])


def test_random_state_makes_cpu_runs_repeatable(sentences):
    first = ECGVocabulary(**TINY).fit(sentences)
    second = ECGVocabulary(**TINY).fit(sentences)
    np.testing.assert_array_equal(first.transform(sentences), second.transform(sentences))
    np.testing.assert_allclose(first.history_.train_loss, second.history_.train_loss)


def test_joblib_round_trip_gives_identical_words(fitted, sentences, tmp_path):
    joblib.dump(fitted, tmp_path / "vocab.joblib")
    loaded = joblib.load(tmp_path / "vocab.joblib")
    np.testing.assert_array_equal(loaded.transform(sentences), fitted.transform(sentences))


def test_model_fitted_on_cuda_loads_on_a_cpu_only_machine(fitted, sentences, tmp_path):
    # As skorch tests it: the pickle says "cuda", the loading machine has no GPU.
    on_gpu = joblib.load(joblib.dump(fitted, tmp_path / "copy.joblib")[0])
    on_gpu.net_.device = "cuda"
    joblib.dump(on_gpu, tmp_path / "cuda.joblib")
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(UserWarning, match="CUDA"):
            loaded = joblib.load(tmp_path / "cuda.joblib")
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.transform(sentences), fitted.transform(sentences))


def test_weights_only_save_and_load(fitted, sentences, tmp_path):
    from safetensors.torch import load_file

    path = tmp_path / "vocab.safetensors"
    fitted.save_weights(path)
    assert all(torch.is_tensor(v) for v in load_file(str(path)).values())  # only numbers, no code
    loaded = ECGVocabulary.load_weights(path, device="cpu")
    np.testing.assert_array_equal(loaded.transform(sentences), fitted.transform(sentences))
    np.testing.assert_array_equal(loaded.codebook_, fitted.codebook_)
    assert loaded.get_params()["n_words"] == 16


def test_grid_search_over_vocabulary_size(sentences):
    search = GridSearchCV(ECGVocabulary(**dict(TINY, max_epochs=1)), {"n_words": [4, 16]}, cv=2)
    search.fit(sentences)
    assert search.best_params_["n_words"] in (4, 16)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert (search.cv_results_["mean_test_score"] < 0).all()  # negative reconstruction error


@pytest.mark.parametrize("params, message", [
    ({"size": "huge"}, "size"), ({"n_words": 0}, "n_words"), ({"valid_fraction": 1.0}, "valid_fraction"),
])
def test_invalid_parameters(sentences, params, message):
    with pytest.raises(ValueError, match=message):
        ECGVocabulary(**dict(TINY, **params)).fit(sentences)


def test_bad_input_names_the_problem(fitted, sentences):
    with pytest.raises(ValueError, match="tokenize signals first"):
        ECGVocabulary(**TINY).fit(np.zeros((4, 12, 1000)))
    short = QRSTokenizer(sampling_rate=100, t=64).fit_transform(make_ecg(2, random_state=1)[0])
    with pytest.raises(ValueError, match="t=64"):
        fitted.transform(short)
