"""ZeroShotECGClassifier: classes from prompts only, cosine scores, multi-label probabilities, and
it works in cross_val_score and Pipelines with the fitted aligner kept through clone."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (check_get_params_invariance, check_no_attributes_set_in_init,
                                            check_parameters_default_constructible)

from heartlang_sk import ECGReportAligner, QRSTokenizer, ZeroShotECGClassifier
from heartlang_sk.datasets import RHYTHM_CLASSES, SUPERCLASSES, make_ecg
from heartlang_sk.prompts import PTBXL_PROMPTS

PROMPTS = {"SR": ["sinusrhythmus", "sinus rhythm"], "AFIB": ["vorhofflimmern", "atrial fibrillation"]}


@pytest.fixture(scope="module")
def setting():
    X, y = make_ecg(24, classes=["normal", "afib"], random_state=1)
    reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern" for c in y]
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    aligner = ECGReportAligner(depth=1, text_depth=1, embed_dim=16, max_epochs=40, lr=3e-3, batch_size=8,
                               losses=("global",), device="cpu", random_state=0).fit(S, reports)
    Y = np.stack([np.asarray(y) == "normal", np.asarray(y) == "afib"], axis=1).astype(int)
    return X, S, Y, aligner


def test_fit_learns_only_the_classes_and_scores_are_cosines(setting):
    _, S, _, aligner = setting
    clf = ZeroShotECGClassifier(aligner, PROMPTS).fit(S)
    assert clf.classes_.tolist() == ["SR", "AFIB"]
    scores = clf.decision_function(S)
    assert scores.shape == (24, 2) and np.all(np.abs(scores) <= 1 + 1e-5)
    expected = aligner.encode_ecg(S) @ clf.class_embeddings_.T
    assert np.allclose(scores, expected)
    proba = clf.predict_proba(S)
    assert ((proba > 0) & (proba < 1)).all()
    assert (clf.predict(S).sum(axis=1) >= 1).all()
    three = ZeroShotECGClassifier(aligner, {**PROMPTS, "LAD": ["linkstyp"]}).fit(S).predict_proba(S)
    assert not np.allclose(three.sum(axis=1), 1)  # independent per class, not a softmax


def test_zero_shot_ranks_the_right_class_first_on_synthetic_ecg(setting):
    _, S, Y, aligner = setting
    clf = ZeroShotECGClassifier(aligner, PROMPTS).fit(S)
    assert (clf.decision_function(S).argmax(axis=1) == Y.argmax(axis=1)).mean() >= 0.8


def test_cross_val_score_and_pipeline_keep_the_fitted_aligner(setting):
    X, S, Y, aligner = setting
    clf = ZeroShotECGClassifier(aligner, PROMPTS)
    assert clone(clf).aligner is aligner
    scores = cross_val_score(clf, S, Y, cv=2, scoring="roc_auc")
    assert scores.shape == (2,) and (scores > 0.5).all()
    pipeline = make_pipeline(QRSTokenizer(sampling_rate=100), ZeroShotECGClassifier(aligner, PROMPTS)).fit(X, Y)
    assert pipeline.predict_proba(X[:3]).shape == (3, 2)


def test_prompt_and_aligner_errors(setting):
    _, S, Y, aligner = setting
    with pytest.raises(ValueError, match="class 'AFIB' have no text"):
        ZeroShotECGClassifier(aligner, {"SR": ["sinusrhythmus"], "AFIB": []}).fit(S)
    with pytest.raises(ValueError, match="class 'AFIB' have no text"):
        ZeroShotECGClassifier(aligner, {"SR": ["sinusrhythmus"], "AFIB": ["  "]}).fit(S)
    with pytest.raises(ValueError, match="fitted ECGReportAligner"):
        ZeroShotECGClassifier(ECGReportAligner(), PROMPTS).fit(S)
    with pytest.raises(ValueError, match="shape \\(n_records, 2\\)"):
        ZeroShotECGClassifier(aligner, PROMPTS).fit(S, Y[:, :1])


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance])
def test_sklearn_checks_that_need_no_training_data(check):
    # The remaining scikit-learn checks feed random 2-D arrays, which a zero-shot classifier cannot
    # score without an aligner fitted on ECG sentences of the same beat width.
    check("ZeroShotECGClassifier", ZeroShotECGClassifier())


def test_prompt_tables_cover_exactly_the_task_classes():
    assert tuple(PTBXL_PROMPTS["super"]) == SUPERCLASSES
    assert tuple(PTBXL_PROMPTS["rhythm"]) == RHYTHM_CLASSES
    for table in PTBXL_PROMPTS.values():
        for name, texts in table.items():
            assert texts and all(isinstance(t, str) and t == t.lower() and t.strip() for t in texts), name
