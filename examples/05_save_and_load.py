"""Save fitted models and load them back: joblib, and model files that load no code.

Every estimator (and a whole probe Pipeline) pickles with joblib; the file loads on a CPU-only
machine even if it was trained on a GPU, but loading a pickle runs the code it names, so open only
your own. ``save_weights`` (vocabulary, pre-trainer, embedder, classifier) writes a ``.safetensors``
model file: tensors plus a JSON description, which ``load_weights`` reads without running any code,
for models shared between people.

    python examples/05_save_and_load.py --out example-output
"""

import argparse
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the saved files")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = make_ecg(30, classes=["normal", "afib"], random_state=0)
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocabulary = ECGVocabulary(n_words=32, word_dim=16, encoder_depth=1, decoder_depth=1,
                               max_epochs=1, batch_size=16, random_state=0).fit(sentences)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=16,
                                     random_state=0).fit(sentences)
    probe = make_pipeline(QRSTokenizer(sampling_rate=100), HeartLangEmbedder(pretrainer),
                          LogisticRegression(max_iter=1000)).fit(X, y)

    joblib.dump(probe, out / "probe.joblib")
    loaded = joblib.load(out / "probe.joblib")
    same = np.allclose(loaded.predict_proba(X), probe.predict_proba(X), atol=1e-6)
    print(f"probe.joblib: reloaded pipeline gives the same probabilities: {same}")

    vocabulary.save_weights(out / "vocabulary.safetensors")
    restored = ECGVocabulary.load_weights(out / "vocabulary.safetensors", device="cpu")
    same = np.array_equal(restored.transform(sentences), vocabulary.transform(sentences))
    print(f"vocabulary.safetensors (no code): restored vocabulary gives the same words: {same}")


if __name__ == "__main__":
    main()
