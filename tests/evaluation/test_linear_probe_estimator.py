"""LinearProbe: the paper's sklearn probe as a scikit-learn classifier."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from heartlang_sk.evaluation import LinearProbe, linear_probe


@parametrize_with_checks([LinearProbe()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def multilabel_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 6))
    Y = np.stack([Z[:, 0] > 0, Z[:, 1] + Z[:, 2] > 0.5, Z[:, 3] > 1.0], axis=1).astype(int)
    return Z, Y


def test_chooses_the_same_C_and_scores_as_linear_probe_on_the_same_validation_set():
    Z, Y = multilabel_data()
    train, valid, test = slice(0, 200), slice(200, 300), slice(300, 400)
    reference = linear_probe(Z[train], Y[train], Z[valid], Y[valid], Z[test], Y[test])
    probe = LinearProbe().fit(Z[train], Y[train], X_valid=Z[valid], y_valid=Y[valid])
    assert probe.C_ == reference["params"]["C"]
    assert probe.valid_auc_ == pytest.approx(reference["valid_auc"])
    np.testing.assert_allclose(probe.predict_proba(Z[test]),
                               reference["model"].predict_proba(Z[test]))
    assert probe.predict(Z[test]).shape == (100, 3) and set(np.unique(probe.predict(Z[test]))) <= {0, 1}
    assert probe.decision_function(Z[test]).shape == (100, 3)


def test_valid_fraction_draw_is_seeded_and_every_C_is_scored():
    Z, Y = multilabel_data()
    y = Y[:, 1]
    first = LinearProbe(random_state=3).fit(Z, y)
    again = clone(first).fit(Z, y)
    assert first.valid_scores_ == again.valid_scores_
    assert list(first.valid_scores_) == list(first.Cs)
    assert first.valid_auc_ == max(first.valid_scores_.values()) > 0.9
    assert first.predict_proba(Z).shape == (len(Z), 2)
    assert first.decision_function(Z).shape == (len(Z),)


def test_multiclass_labels_keep_their_names_and_probabilities_sum_to_one():
    Z, Y = multilabel_data()
    labels = np.array(["low", "mid", "high"])[np.digitize(Z[:, 0], [-0.5, 0.5])]
    probe = LinearProbe().fit(Z, labels)
    assert probe.classes_.tolist() == ["high", "low", "mid"]
    np.testing.assert_allclose(probe.predict_proba(Z).sum(axis=1), 1.0)
    assert (probe.predict(Z) == labels).mean() > 0.8


@pytest.mark.parametrize("params, kwargs, match", [
    ({"valid_fraction": 0.0}, {}, "valid_fraction"),
    ({"Cs": ()}, {}, "Cs must be positive"),
    ({"Cs": (0.1, -1)}, {}, "Cs must be positive"),
    ({}, {"X_valid": np.zeros((3, 6))}, "both X_valid and y_valid"),
])
def test_bad_parameters_give_one_clear_error(params, kwargs, match):
    Z, Y = multilabel_data(60)
    with pytest.raises(ValueError, match=match):
        LinearProbe(**params).fit(Z, Y[:, 0], **kwargs)
