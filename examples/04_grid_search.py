"""Choose the probe's settings by cross-validation: GridSearchCV over pooling and C.

A HeartLang probe is an ordinary scikit-learn Pipeline -- QRSTokenizer -> HeartLangEmbedder ->
OneVsRestClassifier(LogisticRegression) -- so GridSearchCV tunes it like any other model. The
embedder keeps its fitted (frozen) pretrainer through cloning, so the search fits only the
logistic regressions, never the encoder.

    python examples/04_grid_search.py
"""

import argparse

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    X, y = make_ecg(45, classes=["normal", "brady", "tachy"], random_state=0)
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocabulary = ECGVocabulary(n_words=32, word_dim=16, encoder_depth=1, decoder_depth=1,
                               max_epochs=args.epochs, batch_size=16, random_state=0).fit(sentences)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=args.epochs, batch_size=16,
                                     random_state=0).fit(sentences)

    pipeline = Pipeline([
        ("tokenizer", QRSTokenizer(sampling_rate=100)),
        ("embedder", HeartLangEmbedder(pretrainer)),
        ("probe", OneVsRestClassifier(LogisticRegression(max_iter=2000))),
    ])
    grid = {"embedder__pooling": ["mean", "lead"], "probe__estimator__C": [0.01, 1.0]}
    search = GridSearchCV(pipeline, grid, scoring="roc_auc_ovr",
                          cv=StratifiedKFold(3, shuffle=True, random_state=0))
    search.fit(X, y)

    table = pd.DataFrame(search.cv_results_)[["param_embedder__pooling", "param_probe__estimator__C",
                                              "mean_test_score", "std_test_score"]]
    print(table.to_string(index=False))
    print(f"best: {search.best_params_}, cross-validated macro ROC-AUC {search.best_score_:.3f}")


if __name__ == "__main__":
    main()
