"""Model files that load no code: every fitted model round-trips exactly; anything else is refused in
one line naming the file; a failed write leaves the previous file intact."""

import errno
import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from heartlang_sk import ECGVocabulary, HeartLangClassifier, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.model_files import load_model, save_model

VOCAB = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1, batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_ecg(24, classes=["normal", "afib"], random_state=0)
    return y, QRSTokenizer(sampling_rate=100).fit_transform(X)


@pytest.fixture(scope="module")
def models(data):
    y, S = data
    vocab = ECGVocabulary(**VOCAB).fit(S)
    pre = HeartLangPretrainer(vocab, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(S)
    clf = HeartLangClassifier(pre, max_epochs=1, batch_size=8, random_state=0).fit(S, y)
    embedder = HeartLangEmbedder(pre, pooling="lead").fit(S)
    return {"vocabulary": vocab, "pretrainer": pre, "classifier": clf, "embedder": embedder}


def test_every_model_round_trips_exactly(models, data, tmp_path):
    y, S = data
    for name, model in models.items():
        path = tmp_path / f"{name}.safetensors"
        model.save_weights(path)
        loaded = type(model).load_weights(path, device="cpu")
        assert loaded.get_params()["random_state"] == model.get_params().get("random_state") if name != "embedder" \
            else loaded.pooling == "lead"
        if name == "vocabulary":
            np.testing.assert_array_equal(loaded.transform(S), model.transform(S))
            np.testing.assert_array_equal(loaded.codebook_, model.codebook_)
            assert loaded.n_active_words_ == model.n_active_words_
        elif name == "pretrainer":
            assert loaded.score(S) == model.score(S)
            np.testing.assert_array_equal(HeartLangEmbedder(loaded).fit(S).transform(S),
                                          HeartLangEmbedder(model).fit(S).transform(S))
        elif name == "classifier":
            np.testing.assert_array_equal(loaded.predict_proba(S), model.predict_proba(S))
            assert loaded.classes_.tolist() == model.classes_.tolist() and loaded.classes_.dtype == model.classes_.dtype
        else:
            np.testing.assert_array_equal(loaded.transform(S), model.transform(S))
        assert list(loaded.history_.columns) == list(model.history_.columns) if hasattr(model, "history_") else True


def test_model_file_holds_no_optimizer_state_and_is_smaller_than_the_pickle(models, tmp_path):
    path = tmp_path / "pre.safetensors"
    models["pretrainer"].save_weights(path)
    keys = load_file(str(path)).keys()
    assert not any("optimizer" in key for key in keys)
    # Fitted nets no longer carry optimizer state (training/inference_state.py), so a pickle is now
    # small too. The file writes the vocabulary twice (as the parameter and as vocabulary_, one object
    # that a pickle writes once): it stays within twice the pickle.
    assert path.stat().st_size < 2 * len(pickle.dumps(models["pretrainer"]))


@pytest.mark.parametrize("content, message", [
    (b"just some text\n", "is not a heartlang-sk model file"),
    (np.random.default_rng(0).bytes(4096), "is not a heartlang-sk model file"),
])
def test_garbage_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_bare_tensor_file_and_a_pickle_are_refused(tmp_path, models):
    bare = tmp_path / "bare.safetensors"
    save_file({"weight": torch.zeros(3)}, str(bare))
    with pytest.raises(ValueError, match="without its heartlang-sk description"):
        HeartLangPretrainer.load_weights(bare)
    pickled = tmp_path / "model.pt"
    torch.save(models["pretrainer"].encoder_.state_dict(), pickled)
    with pytest.raises(ValueError, match="is not a heartlang-sk model file"):
        HeartLangPretrainer.load_weights(pickled)


def test_a_file_of_another_model_class_is_refused(models, tmp_path):
    path = tmp_path / "vocab.safetensors"
    models["vocabulary"].save_weights(path)
    with pytest.raises(ValueError, match="holds a ECGVocabulary, not a HeartLangPretrainer"):
        HeartLangPretrainer.load_weights(path)


def _rewrite_header(path, edit):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    header = json.loads(metadata["heartlang_sk"])
    edit(header)
    save_file(tensors, str(path), metadata={"heartlang_sk": json.dumps(header)})


def test_tampered_parameters_that_disagree_with_the_tensors_are_an_error(models, tmp_path):
    path = tmp_path / "vocab.safetensors"
    models["vocabulary"].save_weights(path)
    _rewrite_header(path, lambda h: h["model"]["net"]["module_params"]["dict"].update(n_words=32))
    with pytest.raises(ValueError, match="its parameters and its tensors disagree .*size mismatch"):
        ECGVocabulary.load_weights(path)


def test_a_file_naming_code_outside_the_package_is_refused(models, tmp_path):
    path = tmp_path / "vocab.safetensors"
    models["vocabulary"].save_weights(path)
    _rewrite_header(path, lambda h: h["model"]["net"].update(module="os:system"))
    with pytest.raises(ValueError, match="network class 'os:system' is not one of heartlang-sk's"):
        ECGVocabulary.load_weights(path)
    _rewrite_header(path, lambda h: h["model"].update({"class": "Popen"}))
    with pytest.raises(ValueError, match="class 'Popen' is not a heartlang-sk model class"):
        load_model(path)


def test_a_failed_write_keeps_the_previous_file_and_names_it(models, tmp_path, monkeypatch):
    import heartlang_sk.io.model_files as model_files
    import safetensors.torch

    path = tmp_path / "vocab.safetensors"
    models["vocabulary"].save_weights(path)
    good = path.read_bytes()

    def disk_full(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(OSError, match=f"could not write {path}: No space left on device"):
        models["vocabulary"].save_weights(path)
    assert path.read_bytes() == good
    assert not list(tmp_path.glob(".*.tmp"))
