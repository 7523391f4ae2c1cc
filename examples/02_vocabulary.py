"""Learn an ECG vocabulary and look at it.

``ECGVocabulary`` learns a codebook of ECG words by vector-quantized heartbeat reconstruction:
every beat is encoded, replaced by its nearest word and rebuilt from that word. This example fits a
small vocabulary on synthetic records and draws its training curves, held-out beats beside their
reconstruction, the most frequent words and a 2-D map of the codebook. The settings are tiny so it
runs in seconds: reconstructions are rough and few words get used; more records and epochs (see
``heartlang-sk demo``) do better.

    python examples/02_vocabulary.py --out example-output
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.plotting.training import plot_training_curves
from heartlang_sk.plotting.vocabulary import (plot_reconstructions, plot_top_words,
                                               plot_vocabulary_map)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the PNGs")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = make_ecg(60, random_state=0)  # 100 Hz by default
    tokenizer = QRSTokenizer(sampling_rate=100)
    train, held_out = tokenizer.fit_transform(X[:48]), tokenizer.transform(X[48:])
    vocabulary = ECGVocabulary(n_words=64, word_dim=16, encoder_depth=1, decoder_depth=1,
                               max_epochs=args.epochs, batch_size=4, random_state=0)
    vocabulary.fit(train)

    words = vocabulary.transform(held_out)  # one word per beat, -1 at padding
    print(f"first words of a held-out sentence: {words[0, :8].tolist()}")
    print(f"{vocabulary.n_active_words_} of 64 words in use, perplexity {vocabulary.perplexity_:.1f}")
    print(f"held-out reconstruction R2: {vocabulary.reconstruction_errors(held_out)['r2']:.3f}")
    print(vocabulary.history_[["epoch", "train_loss", "train_r2", "active_words"]].to_string(index=False))

    plt.close(plot_training_curves(vocabulary, path=out / "vocabulary_curves.png"))
    plt.close(plot_reconstructions(vocabulary, held_out, path=out / "reconstructions.png"))
    plt.close(plot_top_words(vocabulary, train, n_words=8, path=out / "top_words.png"))
    plt.close(plot_vocabulary_map(vocabulary, path=out / "vocabulary_map.png"))
    print(f"wrote vocabulary_curves.png, reconstructions.png, top_words.png, vocabulary_map.png "
          f"to {out}/")


if __name__ == "__main__":
    main()
