"""Records of different lengths: cut into 10-s windows, embed each, pool back to one per record.

HeartLang reads 10-s sentences. Holter excerpts and challenge recordings last from seconds to
minutes; stacking them crops every record to the shortest, and drops most of the signal. Instead,
``split_windows`` cuts each record into consecutive windows of the model's length (the last one
ending at the record's end), the sentences of the windows carry their record and start, and
``pool_windows`` averages the window embeddings back to one vector per record for the classifier.

    python examples/07_long_records.py
"""

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.preprocessing import pool_windows, split_windows


def long_records(n_records, shortest, longest, random_state=0):
    """Synthetic records of random lengths between ``shortest`` and ``longest`` seconds."""
    rng = np.random.default_rng(random_state)
    X, y = make_ecg(n_records, classes=["normal", "brady", "tachy"], duration=longest,
                    random_state=random_state)
    seconds = rng.integers(shortest, longest + 1, size=n_records)
    return [record[:, :100 * s] for record, s in zip(X, seconds)], y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--longest", type=int, default=60, help="seconds")
    args = parser.parse_args()

    records, y = long_records(args.records, shortest=12, longest=args.longest)
    names = [f"rec{i:02d}" for i in range(len(records))]
    windows = split_windows(records, sampling_rate=100, window=10, names=names)
    summary = windows.summary()
    kept = 10 * summary["windows"].sum()
    print(f"{len(records)} records of {summary['seconds'].min():g} to {summary['seconds'].max():g} s "
          f"-> {len(windows)} windows of 10 s")
    print(summary.head(4).to_string(index=False))
    cropped = summary["seconds"].min() * len(records) / summary["seconds"].sum()
    print(f"cropping to the shortest would keep {cropped:.0%} of the signal; the windows cover all "
          f"of it ({kept:g} s of windows for {summary['seconds'].sum():g} s of records)")

    tokenizer = QRSTokenizer(sampling_rate=100)
    sentences = windows.mark(tokenizer.fit_transform(windows.signals))
    print(f"sentences: {sentences}")
    vocabulary = ECGVocabulary(n_words=32, word_dim=16, encoder_depth=1, decoder_depth=1,
                               max_epochs=args.epochs, batch_size=32, random_state=0).fit(sentences)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=args.epochs, batch_size=32,
                                     random_state=0).fit(sentences)
    Z_windows = HeartLangEmbedder(pretrainer).fit_transform(sentences)
    Z_records, order = pool_windows(Z_windows, sentences.record_ids, how="mean")
    assert order.tolist() == names  # records come back in input order
    print(f"embeddings: {Z_windows.shape[0]} windows x {Z_windows.shape[1]} -> "
          f"{Z_records.shape[0]} records x {Z_records.shape[1]}")

    # the same probe on the records cropped to the shortest, as stacking them would do
    shortest = min(record.shape[1] for record in records)
    cropped_sentences = tokenizer.transform(np.stack([r[:, :shortest] for r in records]))
    Z_cropped = HeartLangEmbedder(pretrainer).fit_transform(cropped_sentences)

    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    for name, Z in [("pooled 10-s windows", Z_records), ("cropped to the shortest", Z_cropped)]:
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        scores = cross_val_score(probe, Z, y, cv=cv)
        print(f"per-record probe, {name:>23}: accuracy {scores.mean():.3f} (3-fold, {len(y)} "
              f"records)")


if __name__ == "__main__":
    main()
