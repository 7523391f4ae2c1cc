"""The protocol's tables and ROC scores (used by ``heartlang-sk evaluate``): regime_table,
regime_test_scores, published_by_regime and the random-init encoder."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from heartlang_sk import HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.evaluation import (PUBLISHED, evaluate_embedders, published_by_regime,
                                     random_init_encoder, regime_table, regime_test_scores)


def toy_task(n=150, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 4))
    Y = pd.DataFrame({"a": (Z[:, 0] > 0).astype(int), "b": (Z[:, 1] + Z[:, 2] > 0.5).astype(int)})
    meta = pd.DataFrame({"strat_fold": np.arange(n) % 5 + 1, "patient_id": np.arange(n)})
    meta.attrs["task"] = "toy"  # summarize groups by task: the task must be named
    noise = rng.normal(size=(n, 4))
    return {"signal": Z, "noise": noise}, Y, meta


def test_regime_table_keeps_the_given_order_and_names_probes_when_several():
    embeddings, Y, meta = toy_task()
    results = evaluate_embedders(embeddings, embeddings["signal"], Y, meta, train_folds=(1, 2, 3, 4),
                                 test_folds=(5,), fractions=(0.1, 1.0), seeds=(0, 1),
                                 methods=("sklearn", "torch"), probe_params={"epochs": 3})
    table = regime_table(results, models=["signal", "noise"], methods=["sklearn", "torch"],
                         fractions=[0.1, 1.0])
    assert table.columns.tolist() == ["model", "10% macro AUC (%)", "100% macro AUC (%)"]
    assert table["model"].tolist() == ["signal (sklearn)", "signal (torch)", "noise (sklearn)",
                                       "noise (torch)"]
    # a cell is the mean ± std over the seeds of that model, probe and regime
    rows = results.query("model == 'noise' and method == 'torch' and regime == '10%'")["test_auc"]
    assert table.iloc[3, 1] == f"{100 * rows.mean():.2f} ± {100 * rows.std():.2f}"

    one = regime_table(results[results["method"] == "sklearn"], fractions=[0.01, 1.0])
    assert one["model"].tolist() == ["signal", "noise"]  # order of appearance, no probe suffix
    assert one["1% macro AUC (%)"].tolist() == ["", ""]  # a regime without results: empty cells


def test_regime_test_scores_reproduce_the_protocol_fit():
    embeddings, Y, meta = toy_task()
    folds = dict(train_folds=(1, 2, 3, 4), test_folds=(5,))
    results = evaluate_embedders(embeddings, embeddings["signal"], Y, meta, fractions=(0.5,),
                                 seeds=(3,), **folds)
    Y_test, scores, per_class = regime_test_scores(embeddings, Y, meta, fraction=0.5, seed=3,
                                                   **folds)
    assert Y_test.index.tolist() == meta.index[meta["strat_fold"] == 5].tolist()
    assert per_class["model"].tolist() == ["signal", "noise"]
    for name in embeddings:
        expected = results.set_index("model").loc[name, "per_class_auc"]
        got = per_class.set_index("model").loc[name].to_dict()
        assert got == pytest.approx(expected)
        assert roc_auc_score(Y_test, scores[name], average=None) == pytest.approx(
            [expected["a"], expected["b"]])
    assert per_class.set_index("model").loc["signal"].min() > 0.9


def test_regime_test_scores_torch_gives_logits_whose_auc_is_the_per_class_auc():
    embeddings, Y, meta = toy_task()
    Y_test, scores, per_class = regime_test_scores(embeddings, Y.to_numpy(), meta,
                                                   train_folds=(1, 2, 3, 4), test_folds=(5,),
                                                   method="torch")
    assert scores["signal"].shape == (len(Y_test), 2)
    assert (scores["signal"] < 0).any()  # logits, not probabilities
    assert roc_auc_score(Y_test, scores["signal"], average=None) == pytest.approx(
        per_class.set_index("model").loc["signal"].tolist())


def test_published_by_regime_is_published_table_per_model():
    table = published_by_regime("rhythm").set_index("model")
    assert list(table.index) == [m for m in PUBLISHED if "rhythm" in PUBLISHED[m]]
    assert table.loc["MELP"].tolist() == list(PUBLISHED["MELP"]["rhythm"])
    assert np.isnan(table.loc["random-init Small (workshop)", "1%"])
    assert published_by_regime("no such task").empty


def test_random_init_encoder_copies_the_architecture_and_is_seeded():
    X, _ = make_ecg(4, random_state=0)
    sentences = QRSTokenizer(sampling_rate=500).fit_transform(X)
    like = HeartLangPretrainer(size="tiny", depth=1, use_cls=True)
    first = random_init_encoder(sentences, like=like, size="small", random_state=1, device="cpu")
    again = random_init_encoder(sentences, like=like, size="small", random_state=1, device="cpu")
    other = random_init_encoder(sentences, like=like, size="small", random_state=2, device="cpu")
    assert (first.size, first.depth, first.use_cls, first.max_epochs) == ("tiny", 1, True, 0)
    assert first.history_.empty
    weights = [dict(model.encoder_.named_parameters()) for model in (first, again, other)]
    name = next(iter(weights[0]))
    assert torch.equal(weights[0][name], weights[1][name])
    assert not torch.equal(weights[0][name], weights[2][name])
    assert random_init_encoder(sentences, device="cpu").size == "tiny"
    rhythm = random_init_encoder(sentences, like=HeartLangPretrainer(depth=1, temporal_encoding="rhythm"),
                                 device="cpu")
    assert rhythm.temporal_encoding == "rhythm" and rhythm.encoder_.rhythm is not None
