"""Pre-train HeartLang, then compare linear probes of its embeddings with a random encoder.

The whole HeartLang recipe in a few lines: tokenize, learn the vocabulary, pre-train the encoder by
predicting masked ECG words, and fit a logistic regression on the frozen encoder's record
embeddings (a linear probe). The random-initialised encoder of the same architecture is the
baseline that shows what pre-training adds. Tiny settings (synthetic data, one-block models, a few
epochs) keep it to seconds, so the two scores are close here; see ``heartlang-sk demo`` for more.

    python examples/03_pretrain_and_probe.py
"""

import argparse

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg


def probe(pretrainer):
    """Frozen encoder -> standardized embedding -> logistic regression, from raw signals."""
    return make_pipeline(QRSTokenizer(sampling_rate=100), HeartLangEmbedder(pretrainer),
                         StandardScaler(), LogisticRegression(max_iter=2000))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    X, y = make_ecg(60, classes=["normal", "afib", "wide_qrs"], random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(X_train)
    vocabulary = ECGVocabulary(n_words=32, word_dim=16, encoder_depth=1, decoder_depth=1,
                               max_epochs=args.epochs, batch_size=16, random_state=0).fit(sentences)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=args.epochs, batch_size=16,
                                     random_state=0).fit(sentences)
    print(pretrainer.history_[["epoch", "train_loss", "train_masked_accuracy"]].to_string(index=False))

    random_encoder = HeartLangPretrainer(depth=1, max_epochs=0, random_state=0)  # no pre-training
    for name, model in [("HeartLang", probe(pretrainer)), ("random-init", probe(random_encoder))]:
        model.fit(X_train, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(X_test), multi_class="ovr")
        print(f"{name:>12} encoder: macro ROC-AUC {auc:.3f} on {len(X_test)} held-out records")


if __name__ == "__main__":
    main()
