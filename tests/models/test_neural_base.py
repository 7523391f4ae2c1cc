"""What the neural-estimator base class gives every family: declared parameter checks, runs that only
resume their own checkpoint, clones that keep a fitted pre-trained encoder, old pickles that load."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from heartlang_sk import ECGVocabulary, HeartLangClassifier, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg

VOCAB = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8, random_state=0)
NEURAL = [ECGVocabulary(**VOCAB), HeartLangPretrainer(max_epochs=0, depth=1),
          HeartLangClassifier(depth=1, max_epochs=1)]


@pytest.fixture(scope="module")
def data():
    X, y = make_ecg(40, classes=["normal", "afib"], random_state=0)
    return X, y, QRSTokenizer(sampling_rate=100).fit_transform(X)


@pytest.fixture(scope="module")
def vocabulary(data):
    return ECGVocabulary(**VOCAB).fit(data[2])


@pytest.mark.parametrize("estimator", NEURAL, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("param, value, message", [
    ("batch_size", True, "batch_size must be an integer >= 1, got True"),
    ("max_epochs", -1, "max_epochs must be an integer >= 0, got -1"),
    ("lr", 0.0, "lr must be a number > 0, got 0.0"),
    ("valid_fraction", 1.0, "valid_fraction must be a number in [0, 1), got 1.0"),
    ("precision", "fp8", "precision must be one of 'auto', 'bf16', 'fp16', 'fp32', got 'fp8'"),
    ("device", "gpu", "device must be 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, got 'gpu'"),
    ("resume", 1, "resume must be True or False, got 1"),
    ("size", "huge", "size must be one of"),
])
def test_every_neural_estimator_checks_the_shared_parameters_the_same_way(estimator, param, value, message, data):
    bad = clone(estimator).set_params(**{param: value})
    with pytest.raises(ValueError, match=f"^{type(estimator).__name__}: " + message.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        bad.fit(data[2], data[1]) if isinstance(bad, HeartLangClassifier) else bad.fit(data[2])


def test_family_parameters_are_checked_too(data):
    with pytest.raises(ValueError, match="n_words must be an integer >= 1, got True"):
        ECGVocabulary(**dict(VOCAB, n_words=True)).fit(data[2])
    with pytest.raises(ValueError, match=r"mask_ratio must be a number in \(0, 1\), got 1\.5"):
        HeartLangPretrainer(mask_ratio=1.5).fit(data[2])
    with pytest.raises(ValueError, match="pooling must be one of 'mean', 'cls', got 'max'"):
        HeartLangClassifier(pooling="max").fit(data[2], data[1])


def test_reused_checkpoint_dir_of_another_run_raises_instead_of_returning_the_old_model(data, vocabulary, tmp_path):
    S = data[2]
    folder = tmp_path / "ckpt"
    first = HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=8, checkpoint_dir=folder,
                                random_state=0).fit(S[:20])
    assert len(first.history_) == 2
    second = HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=8, checkpoint_dir=folder,
                                 random_state=1)
    with pytest.raises(ValueError, match=r"holds a checkpoint of another run \(these differ: .*random_state.*"
                                         r"pass resume=False"):
        second.fit(S[20:])
    # Same parameters, other data: also another run.
    with pytest.raises(ValueError, match="data.content|data.records"):
        HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=8, checkpoint_dir=folder,
                            random_state=0).fit(S[20:])
    fresh = second.set_params(resume=False).fit(S[20:])
    assert len(fresh.history_) == 2
    reference = HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=8, random_state=1).fit(S[20:])
    for a, b in zip(fresh.encoder_.state_dict().values(), reference.encoder_.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_same_run_resumes_and_continues_when_max_epochs_grows(data, vocabulary, tmp_path):
    S = data[2][:20]
    params = dict(depth=1, batch_size=8, checkpoint_dir=tmp_path, random_state=0)
    HeartLangPretrainer(vocabulary, max_epochs=2, **params).fit(S)
    resumed = HeartLangPretrainer(vocabulary, max_epochs=3, **params).fit(S)
    assert list(resumed.history_["epoch"]) == [1, 2, 3]
    straight = HeartLangPretrainer(vocabulary, max_epochs=3, depth=1, batch_size=8, random_state=0).fit(S)
    # Epochs 1-2 were not trained again: the resumed history's first rows are the saved ones.
    assert resumed.history_["train_loss"].iloc[:2].tolist() == pytest.approx(
        HeartLangPretrainer(vocabulary, max_epochs=2, depth=1, batch_size=8, random_state=0)
        .fit(S).history_["train_loss"].tolist())
    assert len(straight.history_) == 3


def test_vocabulary_and_classifier_checkpoints_are_fingerprinted_too(data, tmp_path):
    X, y, S = data
    ECGVocabulary(**VOCAB, checkpoint_dir=tmp_path / "v").fit(S[:20])
    with pytest.raises(ValueError, match="another run"):
        ECGVocabulary(**VOCAB, checkpoint_dir=tmp_path / "v").fit(S[20:])
    HeartLangClassifier(depth=1, max_epochs=1, checkpoint_dir=tmp_path / "c", random_state=0).fit(S, y)
    with pytest.raises(ValueError, match="targets"):
        HeartLangClassifier(depth=1, max_epochs=1, checkpoint_dir=tmp_path / "c", random_state=0).fit(S, y[::-1])


def test_classifier_fine_tunes_a_fitted_pretrainer_under_cross_val_score(data, vocabulary):
    X, y, S = data
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(S)
    before = {k: v.clone() for k, v in pre.encoder_.state_dict().items()}
    model = make_pipeline(QRSTokenizer(sampling_rate=100),
                          HeartLangClassifier(pre, max_epochs=1, batch_size=8, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = cross_val_score(model, X, y, cv=2, error_score="raise")
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert clone(model)[-1].pretrainer is pre
    # Each fold fine-tuned its own copy: the shared pretrainer is unchanged.
    for k, v in pre.encoder_.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())


def test_clone_shares_a_fitted_vocabulary_but_copies_an_unfitted_one(vocabulary):
    assert clone(HeartLangPretrainer(vocabulary)).vocabulary is vocabulary
    unfitted = ECGVocabulary(**VOCAB)
    assert clone(HeartLangPretrainer(unfitted)).vocabulary is not unfitted


def test_a_model_pickled_before_a_parameter_existed_loads_with_its_default(data):
    X, y, S = data
    clf = HeartLangClassifier(depth=1, max_epochs=1, random_state=0).fit(S, y)
    state = clf.__getstate__()
    for new in ("accelerator", "checkpoint_dir", "resume"):
        state.pop(new)
    old = HeartLangClassifier.__new__(HeartLangClassifier)
    old.__setstate__(state)
    assert old.get_params()["resume"] is True and old.accelerator is None
    np.testing.assert_allclose(old.predict_proba(S[:4]), clf.predict_proba(S[:4]))
    pickle.loads(pickle.dumps(old))


def test_sentences_with_another_number_of_leads_are_refused(data):
    from heartlang_sk import HeartLangEmbedder

    X, y, S = data
    two_leads = QRSTokenizer(sampling_rate=100).fit_transform(X[:, :2])
    clf = HeartLangClassifier(depth=1, max_epochs=1, random_state=0).fit(S, y)
    with pytest.raises(ValueError, match="sentences have 2 lead\\(s\\), but HeartLangClassifier was fitted on "
                                         "12-lead sentences"):
        clf.predict(two_leads)
    pre = HeartLangPretrainer(max_epochs=0, depth=1, random_state=0).fit(S)
    embedder = HeartLangEmbedder(pre).fit(S)
    with pytest.raises(ValueError, match="2 lead\\(s\\), but HeartLangEmbedder was fitted on 12-lead"):
        embedder.transform(two_leads)
    with pytest.raises(ValueError, match="2 lead\\(s\\), but the pretrainer was trained on 12-lead"):
        HeartLangEmbedder(pre).fit(two_leads)


def test_fitting_on_records_without_a_single_beat_is_an_error():
    flat = np.zeros((6, 12, 1000), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        S = QRSTokenizer(sampling_rate=100).fit_transform(flat)
    with pytest.raises(ValueError, match="ECGVocabulary: none of the 6 records has a detected beat"):
        ECGVocabulary(**VOCAB).fit(S)
