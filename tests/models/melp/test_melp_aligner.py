"""ECGReportAligner: fit on (ECG, report) pairs, every loss term in the history, inputs checked,
repeatable, persistent, resumable, warm-started from HeartLang pre-training."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (check_get_params_invariance, check_no_attributes_set_in_init,
                                            check_parameters_default_constructible, check_set_params)

from heartlang_sk import ECGReportAligner, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg

FAST = dict(depth=1, text_depth=1, embed_dim=16, max_epochs=2, batch_size=8, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def pairs():
    X, y = make_ecg(16, classes=["normal", "afib"], random_state=0)
    reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern, linkstyp" for c in y]
    return QRSTokenizer(sampling_rate=100).fit_transform(X), reports, np.asarray(y)


@pytest.fixture(scope="module")
def fitted(pairs):
    S, reports, _ = pairs
    return ECGReportAligner(**FAST).fit(S, reports)


def test_history_records_every_selected_loss_term_per_epoch(fitted):
    history = fitted.history_
    assert len(history) == 2
    for term in ("train_loss", "train_global_loss", "train_local_loss", "train_caption_loss", "train_temperature"):
        assert history[term].notna().all() and np.isfinite(history[term]).all(), term
    total = history["train_global_loss"] + history["train_local_loss"] + history["train_caption_loss"]
    assert np.allclose(history["train_loss"], total, rtol=1e-4)


@pytest.mark.parametrize("losses", [("global",), ("local",), ("caption",), ("global", "caption")])
def test_each_loss_alone_or_combined_trains_and_only_its_terms_are_logged(pairs, losses):
    S, reports, _ = pairs
    aligner = ECGReportAligner(**{**FAST, "max_epochs": 1}, losses=losses).fit(S, reports)
    logged = {c[len("train_"):-len("_loss")] for c in aligner.history_ if c.endswith("_loss") and c != "train_loss"}
    assert logged == set(losses)


def test_outputs_have_the_documented_shapes_and_unit_norms(fitted, pairs):
    S, _, _ = pairs
    features = fitted.transform(S)
    assert features.shape == (16, fitted.n_features_out_) == (16, 64) and features.dtype == np.float32
    ecg, text = fitted.encode_ecg(S), fitted.encode_text(["Vorhofflimmern", "sinus rhythm"])
    assert ecg.shape == (16, 16) and text.shape == (2, 16)
    assert np.allclose(np.linalg.norm(ecg, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(text, axis=1), 1, atol=1e-5)
    assert fitted.n_reports_ == 16 and fitted.n_distinct_reports_ == 2
    assert fitted.get_feature_names_out()[0] == "melp0"
    assert all(isinstance(r, str) for r in fitted.generate_reports(S[:2]))


def test_same_random_state_same_model(pairs, fitted):
    S, reports, _ = pairs
    again = ECGReportAligner(**FAST).fit(S, reports)
    assert np.allclose(again.transform(S), fitted.transform(S), atol=1e-5)


def test_aligned_space_separates_the_two_kinds_of_report():
    X, y = make_ecg(24, classes=["normal", "afib"], random_state=1)
    reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern" for c in y]
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    aligner = ECGReportAligner(**{**FAST, "max_epochs": 40, "lr": 3e-3}, losses=("global",)).fit(S, reports)
    similarity = aligner.encode_ecg(S) @ aligner.encode_text(["sinusrhythmus normales ekg", "vorhofflimmern"]).T
    predicted = np.where(similarity[:, 1] > similarity[:, 0], "afib", "normal")
    assert (predicted == np.asarray(y)).mean() >= 0.8


@pytest.mark.parametrize("bad, message", [
    (lambda r: r[:-1], "got 15 reports for 16 ECG records"),
    (lambda r: r[:-1] + [float("nan")], "position 15 is NaN"),
    (lambda r: [""] + r[1:], "position 0 is empty"),
    (lambda r: [3] + r[1:], "position 0 is not a string"),
])
def test_bad_reports_are_refused_with_a_one_line_error(pairs, bad, message):
    S, reports, _ = pairs
    with pytest.raises(ValueError, match=message):
        ECGReportAligner(**FAST).fit(S, bad(list(reports)))


def test_missing_reports_and_bad_parameters_are_refused(pairs):
    S, reports, _ = pairs
    with pytest.raises(ValueError, match="needs the reports"):
        ECGReportAligner(**FAST).fit(S)
    with pytest.raises(ValueError, match="losses must be a non-empty tuple"):
        ECGReportAligner(**FAST, losses=("global", "rhythm")).fit(S, reports)
    with pytest.raises(ValueError, match="not a folder"):
        ECGReportAligner(**FAST, text_encoder="/no/such/model").fit(S, reports)


def test_joblib_round_trip(fitted, pairs, tmp_path):
    S, _, _ = pairs
    joblib.dump(fitted, tmp_path / "aligner.joblib")
    loaded = joblib.load(tmp_path / "aligner.joblib")
    assert np.allclose(loaded.encode_ecg(S), fitted.encode_ecg(S))
    assert np.allclose(loaded.encode_text(["ekg"]), fitted.encode_text(["ekg"]))


def test_model_file_round_trip_loads_no_code(fitted, pairs, tmp_path):
    S, _, _ = pairs
    fitted.save_weights(tmp_path / "aligner.safetensors")
    loaded = ECGReportAligner.load_weights(tmp_path / "aligner.safetensors", device="cpu")
    np.testing.assert_array_equal(loaded.encode_ecg(S), fitted.encode_ecg(S))
    np.testing.assert_array_equal(loaded.encode_text(["ekg", "sinusrhythmus"]),
                                  fitted.encode_text(["ekg", "sinusrhythmus"]))


def test_checkpoint_resumes_the_same_run_and_refuses_another(pairs, tmp_path):
    S, reports, _ = pairs
    first = ECGReportAligner(**{**FAST, "max_epochs": 1}, checkpoint_dir=tmp_path).fit(S, reports)
    longer = ECGReportAligner(**FAST, checkpoint_dir=tmp_path).fit(S, reports)  # one more epoch
    assert len(longer.history_) == 2
    assert longer.history_["train_loss"].iloc[0] == pytest.approx(first.history_["train_loss"].iloc[0])
    with pytest.raises(ValueError, match="another run"):
        ECGReportAligner(**FAST, checkpoint_dir=tmp_path).fit(S, reports[::-1])


def test_init_from_a_heartlang_pretrainer_starts_from_its_encoder_and_clone_keeps_it(pairs):
    S, reports, _ = pairs
    pretrainer = HeartLangPretrainer(max_epochs=0, depth=1, random_state=3).fit(S)
    aligner = ECGReportAligner(**{**FAST, "max_epochs": 0}, init_from=pretrainer).fit(S, reports)
    source = pretrainer.encoder_.state_dict()
    for name, value in aligner.net_.module_.ecg.state_dict().items():
        assert torch.equal(value, source[name]), name
    assert clone(aligner).init_from is pretrainer


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_checks_that_need_no_training_data(check):
    # scikit-learn's other checks fit on random numeric X and y; the aligner needs ECG sentences and
    # report strings (a numeric y is refused as "not a string"), so they cannot apply.
    check("ECGReportAligner", ECGReportAligner())


# -- temporal_encoding="rhythm": the ECG tower also reads each beat's R-peak time and RR intervals ----------
@pytest.fixture(scope="module")
def rhythm_fitted(pairs):
    S, reports, _ = pairs
    return ECGReportAligner(**FAST, temporal_encoding="rhythm").fit(S, reports)


def _tower_features(aligner, S, beat_times):
    module = aligner.net_.module_.eval()
    with torch.inference_mode():
        return module.ecg_features(torch.from_numpy(S.tokens), torch.from_numpy(S.leads.astype(np.int64)),
                                   torch.from_numpy(S.times.astype(np.int64)),
                                   torch.from_numpy(beat_times))[1].numpy()


def test_rhythm_tower_reads_the_beat_times_in_transform_and_in_training(rhythm_fitted, pairs):
    S, _, _ = pairs
    assert rhythm_fitted.net_.module_.ecg.rhythm is not None
    assert "train_global_loss" in rhythm_fitted.history_ and np.isfinite(rhythm_fitted.history_["train_loss"]).all()
    features = rhythm_fitted.transform(S)
    np.testing.assert_allclose(features, _tower_features(rhythm_fitted, S, S.beat_times), atol=1e-5)
    # The same beats at 30% longer RR intervals give other features: the rhythm reaches the vector.
    stretched = _tower_features(rhythm_fitted, S, S.beat_times * np.float32(1.3))
    assert np.abs(stretched - features).max() > 1e-3
    assert rhythm_fitted.encode_ecg(S).shape == (16, 16)
    assert len(rhythm_fitted.generate_reports(S[:2])) == 2


def test_rhythm_aligner_round_trips_through_a_model_file(rhythm_fitted, pairs, tmp_path):
    S, _, _ = pairs
    rhythm_fitted.save_weights(tmp_path / "aligner.safetensors")
    loaded = ECGReportAligner.load_weights(tmp_path / "aligner.safetensors", device="cpu")
    assert loaded.temporal_encoding == "rhythm"
    np.testing.assert_array_equal(loaded.encode_ecg(S), rhythm_fitted.encode_ecg(S))


def test_init_from_a_rhythm_pretrainer_copies_its_rhythm_embedding(pairs):
    S, reports, _ = pairs
    pretrainer = HeartLangPretrainer(max_epochs=0, depth=1, temporal_encoding="rhythm", random_state=3).fit(S)
    aligner = ECGReportAligner(**{**FAST, "max_epochs": 1}, temporal_encoding="rhythm",
                               init_from=pretrainer)
    start = clone(aligner).set_params(max_epochs=0).fit(S, reports)
    source = pretrainer.encoder_.state_dict()
    copied = start.net_.module_.ecg.state_dict()
    assert any(name.startswith("rhythm.") for name in copied)
    for name, value in copied.items():
        assert torch.equal(value, source[name]), name
    trained = aligner.fit(S, reports)  # trains: beat_times reach the copied rhythm tower
    assert np.isfinite(trained.history_["train_loss"]).all() and trained.transform(S).shape == (16, 64)


@pytest.mark.parametrize("pretrained, aligned", [("rhythm", "second"), ("second", "rhythm")])
def test_init_from_with_another_temporal_encoding_is_refused(pairs, pretrained, aligned):
    S, reports, _ = pairs
    pretrainer = HeartLangPretrainer(max_epochs=0, depth=1, temporal_encoding=pretrained, random_state=3).fit(S)
    with pytest.raises(ValueError, match=f"init_from was pre-trained with temporal_encoding='{pretrained}'"):
        ECGReportAligner(**FAST, temporal_encoding=aligned, init_from=pretrainer).fit(S, reports)


def test_unknown_temporal_encoding_is_refused(pairs):
    S, reports, _ = pairs
    with pytest.raises(ValueError, match="temporal_encoding"):
        ECGReportAligner(**FAST, temporal_encoding="minute").fit(S, reports)
