"""Cut 12-lead ECG into ECG sentences at its QRS complexes, and draw them.

The QRS tokenizer finds the R peaks of each record, cuts every lead into beats (the ECG "words")
and lays them out lead after lead as one ECG sentence. This example tokenizes three synthetic
records sampled at 500 Hz and saves, for each, the record with its detected R peaks and cut beats
and the sentence the models read.

    python examples/01_tokenize_and_plot.py --out example-output
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt

from heartlang_sk import QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.plotting import plot_sentence, plot_tokenization


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the PNGs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = make_ecg(3, classes=["normal", "tachy", "afib"], sampling_rate=500, random_state=0)
    sentences = QRSTokenizer(sampling_rate=500).fit_transform(X)
    print(sentences)
    for i, label in enumerate(y):
        print(f"record {i} ({label}): {sentences.n_beats[i]} beats, {sentences.n_tokens[i]} tokens")
        plt.close(plot_tokenization(sentences, i, path=out / f"tokenization_{label}.png"))
        plt.close(plot_sentence(sentences, i, path=out / f"sentence_{label}.png"))
    print(f"wrote tokenization_*.png and sentence_*.png to {out}/")


if __name__ == "__main__":
    main()
