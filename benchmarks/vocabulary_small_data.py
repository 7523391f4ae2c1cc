"""How many training beats a vocabulary of n_words needs (issue 17: the small-data warning's rule).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/vocabulary_small_data.py --data ../shared/data/ptbxl-2k \\
        [--records 16,40,100,250] [--words 64,512,8192] [--epochs 5] [--out benchmarks/results]

Fits ``ECGVocabulary(size="tiny", n_words=K, max_epochs=--epochs, random_state=0)`` on the first N
ptbxl-2k records (folds 1-8) for every N and K, and reports the real beat tokens seen, the words in
use, the reconstruction R² on the training beats and on 200 held-out fold-9 records. Writes
``vocabulary_small_data.{csv,md}`` to ``--out`` with the command.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ptbxl-2k"))
    parser.add_argument("--records", default="16,40,100,250")
    parser.add_argument("--words", default="64,512,8192")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    import torch

    from heartlang_sk import ECGVocabulary, QRSTokenizer

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    signals = np.load(args.data / "signals_100hz.npy", mmap_mode="r")
    labels = pd.read_csv(args.data / "labels.csv")
    train = np.flatnonzero(labels["strat_fold"].between(1, 8).to_numpy())
    held_out = np.flatnonzero((labels["strat_fold"] == 9).to_numpy())[:200]
    tokenizer = QRSTokenizer(sampling_rate=100)
    S_all = tokenizer.fit_transform(np.asarray(signals[train[:max(int(n) for n in args.records.split(","))]],
                                               dtype=np.float32))
    S_test = tokenizer.transform(np.asarray(signals[held_out], dtype=np.float32))
    rows = []
    for n_records in (int(n) for n in args.records.split(",")):
        S = S_all[:n_records]
        n_tokens = int(S.n_tokens.sum())
        for n_words in (int(k) for k in args.words.split(",")):
            start = time.perf_counter()
            vocab = ECGVocabulary(n_words=n_words, max_epochs=args.epochs, random_state=0).fit(S)
            rows.append({"records": n_records, "tokens": n_tokens, "n_words": n_words,
                         "tokens_per_word": n_tokens / n_words, "active_words": vocab.n_active_words_,
                         "train_r2": vocab.reconstruction_errors(S)["r2"],
                         "held_out_r2": vocab.reconstruction_errors(S_test)["r2"],
                         "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "vocabulary_small_data.csv", index=False)
    command = "OMP_NUM_THREADS=1 python benchmarks/vocabulary_small_data.py " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    text = (f"# Vocabulary size vs training beats (tiny ECGVocabulary, {args.epochs} epochs)\n\n"
            f"Command: `{command}`\n\nDate: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. ptbxl-2k, first N "
            f"records of folds 1-8; held-out R² on 200 fold-9 records. `tokens` are real beat tokens.\n\n"
            + table.to_markdown(index=False, floatfmt=".3g") + "\n")
    (args.out / "vocabulary_small_data.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
