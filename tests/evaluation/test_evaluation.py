"""The evaluation protocol: few-shot draws, macro AUC, linear probes, splits and the runner."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import heartlang_sk.evaluation.protocol as protocol
from heartlang_sk.evaluation import (
    PUBLISHED,
    evaluate_baselines,
    evaluate_embedders,
    evaluate_embeddings,
    few_shot_indices,
    linear_probe,
    macro_auc,
    patient_groups,
    protocol_split,
    published_table,
    summarize,
)


def multilabel(n=1000, n_classes=8, rare=(3, 1), seed=0):
    """Labels with common classes and a few rare ones (3 and 1 positives by default)."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_classes)) < 0.2).astype(int)
    for k, count in enumerate(rare):
        column = n_classes - 1 - k
        Y[:, column] = 0
        Y[rng.choice(n, count, replace=False), column] = 1
    return Y


def linear_data(n=600, d=10, n_classes=3, seed=0):
    """Embeddings whose classes are linear functions of the first dimensions, plus noise."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    Y = (Z[:, :n_classes] + 0.3 * rng.normal(size=(n, n_classes)) > 0.5).astype(int)
    return Z, Y


# -- few-shot draws --------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction, size", [(0.01, 10), (0.1, 100), (0.5, 500), (1.0, 1000)])
def test_few_shot_sizes_cover_every_class_and_are_sorted(fraction, size):
    Y = multilabel()
    draw = few_shot_indices(Y, fraction, random_state=0)
    assert len(draw) == size and draw.dtype == np.int64
    assert (np.diff(draw) > 0).all()
    assert Y[draw].any(axis=0).all()  # the rare classes (3 and 1 positives) included


def test_few_shot_is_deterministic_per_seed_and_differs_between_seeds():
    Y = multilabel()
    first = few_shot_indices(Y, 0.1, random_state=3)
    np.testing.assert_array_equal(first, few_shot_indices(Y, 0.1, random_state=3))
    assert not np.array_equal(first, few_shot_indices(Y, 0.1, random_state=4))
    np.testing.assert_array_equal(few_shot_indices(Y, 1.0, random_state=5), np.arange(1000))


def test_few_shot_small_budget_covers_rarest_classes_first_and_skips_absent_ones():
    Y = multilabel(n=200, n_classes=6, rare=(2, 1))
    Y[:, 0] = 0  # a class with no positive at all cannot be covered and is no obstacle
    draw = few_shot_indices(Y, 0.01, random_state=0)  # 2 records for 5 coverable classes
    assert len(draw) == 2
    assert Y[draw, 5].any() and Y[draw, 4].any()
    with pytest.raises(ValueError, match="fraction"):
        few_shot_indices(Y, 0.0)
    with pytest.raises(ValueError, match="fraction"):
        few_shot_indices(Y, 1.5)


# -- macro AUC -------------------------------------------------------------------------------------
def test_macro_auc_uses_only_classes_with_both_labels():
    rng = np.random.default_rng(0)
    Y = pd.DataFrame(rng.integers(0, 2, size=(50, 4)), columns=["a", "b", "c", "d"])
    Y["c"] = 0
    Y["d"] = 1
    S = rng.random((50, 4))
    result = macro_auc(Y, S)
    assert result.classes.tolist() == ["a", "b"]
    assert result.score == pytest.approx(roc_auc_score(Y[["a", "b"]], S[:, :2], average="macro"))
    assert result.per_class["a"] == pytest.approx(roc_auc_score(Y["a"], S[:, 0]))
    score, classes, _ = macro_auc(Y.to_numpy(), S)
    assert classes.tolist() == [0, 1] and score == result.score
    with pytest.warns(UserWarning, match="no class"):
        assert np.isnan(macro_auc(np.zeros((5, 2)), np.ones((5, 2))).score)
    with pytest.raises(ValueError, match="shape"):
        macro_auc(Y, S[:, :3])


# -- linear probes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sklearn", "torch"])
def test_probe_selects_on_validation_never_on_test(method):
    Z, Y = linear_data()
    parts = dict(Z_train=Z[:300], Y_train=Y[:300], Z_valid=Z[300:450], Y_valid=Y[300:450],
                 Z_test=Z[450:], Y_test=Y[450:])
    options = {"epochs": 40} if method == "torch" else {}
    honest = linear_probe(**parts, method=method, **options)
    assert honest["test_auc"] > 0.9 and honest["valid_auc"] > 0.9
    shuffled = dict(parts, Y_test=np.random.default_rng(1).permutation(Y[450:]))
    blind = linear_probe(**shuffled, method=method, **options)
    # Same validation score and choice: the test labels played no part; on them it is chance.
    assert blind["valid_auc"] == honest["valid_auc"] and blind["params"] == honest["params"]
    assert abs(blind["test_auc"] - 0.5) < 0.1


def test_sklearn_probe_keeps_the_best_validation_c():
    Z, Y = linear_data(seed=2)
    kwargs = dict(Z_train=Z[:300], Y_train=Y[:300], Z_valid=Z[300:450], Y_valid=Y[300:450],
                  Z_test=Z[450:], Y_test=Y[450:])
    Cs = (1e-4, 1e-2, 1.0)
    per_c = {C: linear_probe(**kwargs, Cs=(C,))["valid_auc"] for C in Cs}
    chosen = linear_probe(**kwargs, Cs=Cs)
    assert chosen["params"]["C"] == max(per_c, key=per_c.get)
    assert chosen["valid_auc"] == max(per_c.values())
    model = chosen["model"]
    assert macro_auc(Y[450:], model.predict_proba(Z[450:])).score == chosen["test_auc"]


def test_torch_probe_returns_a_linear_layer_on_raw_embeddings():
    import torch

    Z, Y = linear_data(seed=3)
    Z = 5.0 * Z + 3.0  # not standardized: the returned layer has the scaling folded in
    result = linear_probe(Z[:300], Y[:300], Z[300:450], Y[300:450], Z[450:], Y[450:],
                          method="torch", epochs=10, lr=5e-3)
    assert 1 <= result["params"]["epoch"] <= 10
    with torch.no_grad():
        logits = result["model"](torch.as_tensor(Z[450:], dtype=torch.float32)).numpy()
    assert macro_auc(Y[450:], logits).score == pytest.approx(result["test_auc"], abs=1e-6)
    # Reproducible by seed, without touching the global torch RNG.
    state = torch.random.get_rng_state()
    again = linear_probe(Z[:300], Y[:300], Z[300:450], Y[300:450], Z[450:], Y[450:],
                         method="torch", epochs=10)
    assert again["test_auc"] == result["test_auc"]
    assert torch.equal(state, torch.random.get_rng_state())


def test_probe_survives_classes_without_training_positives():
    Z, Y = linear_data(n_classes=3, seed=4)
    Y_train = Y[:300].copy()
    Y_train[:, 2] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing leaks to the user
        result = linear_probe(Z[:300], Y_train, Z[300:450], Y[300:450], Z[450:], Y[450:])
    assert result["n_train_classes"] == 2
    assert result["per_class_auc"][2] == pytest.approx(0.5)


# -- the protocol ----------------------------------------------------------------------------------
def toy_meta(n=300, missing_patients=10, seed=0):
    rng = np.random.default_rng(seed)
    patients = rng.integers(0, n // 3, size=n).astype(float)  # about 3 records per patient
    patients[rng.choice(n, missing_patients, replace=False)] = np.nan
    folds = (patients % 5 + 1)
    folds[np.isnan(patients)] = rng.integers(1, 6, size=missing_patients)
    return pd.DataFrame({"strat_fold": folds.astype(int), "patient_id": patients})


def test_patient_groups_give_missing_ids_their_own_group():
    meta = pd.DataFrame({"patient_id": [3.0, np.nan, 3.0, np.nan]})
    groups = patient_groups(meta)
    assert groups[0] == groups[2] and len(set(groups)) == 3


def test_validation_is_patient_disjoint_from_the_pool():
    meta = toy_meta()
    pool, valid, test = protocol_split(meta, train_folds=(1, 2, 3, 4), test_folds=(5,),
                                       valid_fraction=0.2)
    assert not set(pool) & set(valid)
    assert set(pool) | set(valid) == set(np.flatnonzero(meta["strat_fold"] < 5))
    assert set(test) == set(np.flatnonzero(meta["strat_fold"] == 5))
    groups = patient_groups(meta)
    assert not set(groups[pool]) & set(groups[valid])
    assert 0.1 < len(valid) / (len(pool) + len(valid)) < 0.3
    with pytest.raises(ValueError, match="overlap"):
        protocol_split(meta, train_folds=(1, 2), test_folds=(2,))


def test_regime_draws_come_from_the_pool_only(monkeypatch):
    meta = toy_meta()
    n = len(meta)
    Y = multilabel(n=n, n_classes=4, rare=(2,), seed=1)
    # Embedding = the record's row number, so the probe can tell which records it got.
    Z = np.arange(n, dtype=float)[:, None] * np.ones((1, 2))
    seen = []

    def spy(Z_train, Y_train, Z_valid, Y_valid, Z_test, Y_test, **kwargs):
        rows = [np.asarray(z)[:, 0].astype(int) for z in (Z_train, Z_valid, Z_test)]
        seen.append(rows)
        return {"test_auc": 0.5, "valid_auc": 0.5, "params": {}, "per_class_auc": {},
                "test_classes": [], "n_train": len(rows[0]), "n_train_classes": 0,
                "fit_seconds": 0.0}

    monkeypatch.setattr(protocol, "linear_probe", spy)  # where evaluate_embeddings looks it up
    results = evaluate_embeddings(Z, Z, Y, meta, train_folds=(1, 2, 3, 4), test_folds=(5,),
                                  fractions=(0.05, 0.5, 1.0), seeds=(0, 1))
    pool, valid, test = protocol_split(meta, train_folds=(1, 2, 3, 4), test_folds=(5,))
    groups = patient_groups(meta)
    assert len(seen) == 5  # the 100 % regime is fitted once for both seeds
    for train_rows, valid_rows, test_rows in seen:
        np.testing.assert_array_equal(valid_rows, valid)
        np.testing.assert_array_equal(test_rows, test)
        assert set(train_rows) <= set(pool)
        assert not set(groups[train_rows]) & set(groups[valid_rows])
        assert Y[train_rows].any(axis=0).all()
    assert results["n_train"].tolist() == [round(0.05 * len(pool))] * 2 + [
        round(0.5 * len(pool))] * 2 + [len(pool)] * 2
    resplit = evaluate_embeddings(Z, Z, Y, meta, train_folds=(1, 2, 3, 4), test_folds=(5,),
                                  fractions=(1.0,), seeds=(0, 1), resplit_valid=True)
    assert len(resplit) == 2 and not np.array_equal(seen[-1][1], seen[-2][1])


def test_protocol_on_synthetic_records_with_named_embedders():
    from heartlang_sk.datasets import make_ecg

    X, y = make_ecg(120, classes=["normal", "afib", "wide_qrs"], random_state=0)
    Y = pd.get_dummies(pd.Series(y)).astype(int)
    patients = np.arange(120) // 2  # two records per patient, both in the same fold
    meta = pd.DataFrame({"strat_fold": patients % 4 + 1, "patient_id": patients})
    meta.attrs["task"] = "toy"
    mean_amplitude = (lambda X: np.abs(X).mean(axis=2))  # a weak embedding of one's own
    results = evaluate_baselines(X, Y, meta, extra={"mean_abs": mean_amplitude},
                                 train_folds=(1, 2, 3), test_folds=(4,), fractions=(0.2, 1.0),
                                 seeds=(0, 1), methods=("sklearn", "torch"),
                                 probe_params={"epochs": 10})
    assert set(results["model"]) == {"features", "raw", "mean_abs"}
    assert len(results) == 3 * 2 * 2 * 2 and (results["task"] == "toy").all()
    assert set(results.attrs["embed_seconds"]) == {"features", "raw", "mean_abs"}
    best = results.query("model == 'features' and regime == '100%' and method == 'sklearn'")
    assert (best["test_auc"] > 0.9).all()
    summary = summarize(results)
    assert len(summary) == 3 * 2 * 2
    assert summary["regime"].tolist()[:2] == ["20%", "100%"]
    assert (summary.query("regime == '100%' and method == 'sklearn'")["test_auc_std"] == 0).all()
    with pytest.raises(ValueError, match="clashes"):
        evaluate_baselines(X, Y, meta, extra={"raw": mean_amplitude})
    with pytest.raises(ValueError, match="non-empty"):
        evaluate_embedders({}, X, Y, meta)


def test_protocol_on_real_records_rhythm(ptbxl2k_path):
    from heartlang_sk.datasets import load_ptbxl2k

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unlabelled records dropped
        X, Y, meta = load_ptbxl2k(ptbxl2k_path, task="rhythm")
    results = evaluate_baselines(X, Y, meta, names=("features",), fractions=(1.0,), seeds=(0,))
    row = results.iloc[0]
    assert row["task"] == "rhythm" and row["regime"] == "100%"
    assert row["n_test"] == int((meta["strat_fold"] == 9).sum())
    assert row["n_train"] + row["n_valid"] == int((meta["strat_fold"] <= 8).sum())
    assert row["test_auc"] > 0.8 and row["valid_auc"] > 0.75


def test_published_numbers_match_the_spec_table():
    table = published_table()
    paper = table[table["model"].isin(["HeartLang", "MERL", "MELP"])]
    assert len(paper) == 3 * 4 * 3
    assert PUBLISHED["HeartLang"]["super"] == (78.94, 85.59, 87.52)
    assert PUBLISHED["MELP"]["rhythm"][2] == 96.91
    workshop = table[~table["model"].isin(["HeartLang", "MERL", "MELP"])]
    assert len(workshop) == 8 and (workshop["regime"] == "100%").all()
    assert workshop.set_index(["model", "task"])["test_auc"].loc[
        ("random-init Small (workshop)", "rhythm")] == 76.95
