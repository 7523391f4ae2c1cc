"""ECG vocabulary on real data: held-out reconstruction R², codebook use and CPU throughput.

Fits :class:`heartlang_sk.ECGVocabulary` on the QRS-tokenized ptbxl-2k records of strat_fold 1–8,
with fold 9 as the fixed validation set (never trained on), once with dead-word restart and once
without, and records per epoch:

- R² of the reconstruction of the real (non-padding) beats on folds 1–8 (training batches) and on
  fold 9 (held out),
- the number of distinct words the training batches used in that epoch (of ``n_words``), the
  perplexity of that use and the number of words restarted,
- training throughput in real tokens per second.

After training it measures ``transform`` throughput (real tokens per second, inference only) and
draws the paper's Figure 4 (beats vs reconstruction) and Figure 3 (the most frequent words' average
beats) for the restart run.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/vocabulary.py --data ../shared/data/ptbxl-2k \
        --out benchmarks/results

Writes ``vocabulary.md``, ``vocabulary.csv`` (one row per run and epoch), ``vocabulary_curves.png``,
``vocabulary_reconstructions.png`` and ``vocabulary_top_words.png`` to ``--out`` (stem set by ``--name``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.datasets import load_ptbxl2k


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--n-words", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the estimator's")
    parser.add_argument("--runs", default="restart,no-restart",
                        help="comma list of runs: restart, no-restart")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-records", type=int, default=None, help="first N records per split (smoke runs)")
    parser.add_argument("--name", default="vocabulary", help="stem of the output files")
    parser.add_argument("--kmeans-reference", action="store_true",
                        help="only print the held-out R² of PCA and of k-means on the raw beats")
    return parser.parse_args(argv)


def kmeans_reference(train, test, seed=0):
    """Held-out R² of context-free references fitted on 100,000 training beats.

    PCA with 8-32 components (a continuous bottleneck) and k-means with 1,024 / 8,192 centres
    (one word per beat, no context, the codebook in signal space): what one word per beat can
    reach without the transformer's context.
    """
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import PCA

    beats = lambda s: s.tokens[~s.padding_mask].astype(np.float32)  # noqa: E731
    fit, held = beats(train), beats(test)
    fit = fit[np.random.default_rng(seed).choice(len(fit), min(100_000, len(fit)), replace=False)]
    r2 = lambda rebuilt: float(1 - ((rebuilt - held) ** 2).mean() / held.var())  # noqa: E731
    rows = {}
    for k in (8, 16, 32):
        pca = PCA(k).fit(fit)
        rows[f"PCA, {k} components"] = r2(pca.inverse_transform(pca.transform(held)))
    for k in (1024, 8192):
        km = MiniBatchKMeans(k, batch_size=8192, n_init=1, max_iter=20, random_state=seed).fit(fit)
        rows[f"k-means, {k} centres"] = r2(km.cluster_centers_[km.predict(held)])
    return rows


def load_sentences(args):
    X, _, meta = load_ptbxl2k(args.data, task="super", drop_unlabelled=False)
    fold = meta["strat_fold"].to_numpy()
    train, test = np.flatnonzero(fold <= 8), np.flatnonzero(fold == 9)
    if args.max_records:
        train, test = train[:args.max_records], test[:args.max_records]
    tokenizer = QRSTokenizer(sampling_rate=100)
    return tokenizer.fit_transform(X[train]), tokenizer.transform(X[test])


def real_tokens(sentences):
    """Number of real (non-padding) tokens: beats × leads."""
    return int((~sentences.padding_mask).sum())


def fit_run(args, name, train, test):
    params = dict(size=args.size, n_words=args.n_words, max_epochs=args.epochs,
                  dead_word_restart=name == "restart", random_state=args.seed, device="cpu",
                  verbose=True)
    if args.batch_size:
        params["batch_size"] = args.batch_size
    vocabulary = ECGVocabulary(**params)
    start = time.perf_counter()
    vocabulary.fit(train, validation_sentences=test)
    wall = time.perf_counter() - start

    history = vocabulary.history_.copy()
    history.insert(0, "run", name)
    history["train_tokens_per_s"] = real_tokens(train) / history["dur"]

    n_test_tokens = real_tokens(test)
    start = time.perf_counter()
    held_out_words = vocabulary.transform(test)
    transform_rate = n_test_tokens / (time.perf_counter() - start)
    summary = {
        "run": name, "params": {k: v for k, v in vocabulary.get_params().items() if k != "verbose"},
        "fit_wall_s": wall, "held_out": vocabulary.reconstruction_errors(test),
        "active_words_train": vocabulary.n_active_words_, "perplexity_train": vocabulary.perplexity_,
        "active_words_held_out": int(np.unique(held_out_words[held_out_words >= 0]).size),
        "transform_tokens_per_s": transform_rate,
        "median_train_tokens_per_s": float(history["train_tokens_per_s"].median()),
    }
    return vocabulary, history, summary


def plot_curves(history, n_words, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_r2, ax_words) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run, rows in history.groupby("run", sort=False):
        line, = ax_r2.plot(rows["epoch"], rows["valid_r2"], marker="o", label=f"{run}: fold 9 (held out)")
        ax_r2.plot(rows["epoch"], rows["train_r2"], ls="--", color=line.get_color(), label=f"{run}: folds 1-8")
        ax_words.plot(rows["epoch"], 100 * rows["active_words"] / n_words, marker="o", label=run,
                      color=line.get_color())
    ax_r2.axhline(0.9, color="grey", lw=0.8, ls=":")
    ax_words.axhline(70, color="grey", lw=0.8, ls=":")
    ax_r2.set(xlabel="epoch", ylabel="R² of real beats", title="Reconstruction")
    ax_words.set(xlabel="epoch", ylabel=f"% of {n_words} words used", title="Codebook use (training batches)")
    ax_r2.legend(fontsize=7)
    ax_words.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(args, argv, history, summaries, n_train, n_test, wall):
    lines = [
        "# ECG vocabulary on ptbxl-2k: held-out reconstruction, codebook use, CPU throughput", "",
        f"- Command: `OMP_NUM_THREADS={torch.get_num_threads()} python benchmarks/vocabulary.py "
        f"{' '.join(argv)}`",
        f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}; wall time of the whole run {wall / 60:.1f} min",
        f"- Machine: {platform.platform()}, {platform.processor() or 'CPU'}, torch threads "
        f"{torch.get_num_threads()}, torch {torch.__version__}; shared with other jobs, so times are "
        "wall-clock under that load.",
        f"- Data: ptbxl-2k, QRS-tokenized at 100 Hz. Training: strat_fold 1–8, {n_train[0]} records, "
        f"{n_train[1]:,} real tokens (beats × leads). Held out: fold 9, {n_test[0]} records, "
        f"{n_test[1]:,} real tokens "
        "(the fixed validation set; never trained on).",
        "- R²: 1 − MSE / variance over every sample of the real (non-padding) beats. Words used: distinct "
        "words chosen by the training batches of that epoch.", "",
        "## Final models", "",
        "| run | held-out R² | words used, folds 1–8 (of %d) | words used, fold 9 | perplexity | "
        "fit wall s | training tokens/s | transform tokens/s |" % args.n_words,
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['run']} | {s['held_out']['r2']:.3f} | {s['active_words_train']} "
            f"({100 * s['active_words_train'] / args.n_words:.0f} %) | {s['active_words_held_out']} | "
            f"{s['perplexity_train']:.0f} | {s['fit_wall_s']:.0f} | {s['median_train_tokens_per_s']:,.0f} | "
            f"{s['transform_tokens_per_s']:,.0f} |")
    lines += ["", "Parameters: `" + json.dumps(summaries[0]["params"]) + "`", "",
              "## Per epoch", "", f"![curves]({args.name}_curves.png)", ""]
    columns = ["run", "epoch", "train_r2", "valid_r2", "active_words", "perplexity", "words_restarted",
               "train_loss", "valid_loss", "dur", "train_tokens_per_s"]
    table = history[[c for c in columns if c in history]]
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else
                 (f"{v:,.0f}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Pictures (restart run)", "",
              "Beats of fold 9 and their reconstruction from their word (paper Figure 4):", "",
              f"![reconstructions]({args.name}_reconstructions.png)", "",
              "Average beat of the most frequent words on fold 9 (paper Figure 3):", "",
              f"![top words]({args.name}_top_words.png)", ""]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    train, test = load_sentences(args)
    if args.kmeans_reference:
        for name, value in kmeans_reference(train, test, args.seed).items():
            print(f"{name}: held-out R² {value:.3f}")
        return
    histories, summaries, fitted = [], [], {}
    for name in args.runs.split(","):
        vocabulary, history, summary = fit_run(args, name, train, test)
        histories.append(history)
        summaries.append(summary)
        fitted[name] = vocabulary
        print(json.dumps({k: v for k, v in summary.items() if k != "params"}), flush=True)
    history = pd.concat(histories, ignore_index=True)
    history.to_csv(out / f"{args.name}.csv", index=False)
    plot_curves(history, args.n_words, out / f"{args.name}_curves.png")

    from heartlang_sk.plotting.vocabulary import plot_reconstructions, plot_top_words

    shown = fitted.get("restart") or next(iter(fitted.values()))
    plot_reconstructions(shown, test, n_beats=12, path=out / f"{args.name}_reconstructions.png")
    plot_top_words(shown, test, path=out / f"{args.name}_top_words.png")
    text = report(args, argv, history, summaries, (len(train), real_tokens(train)),
                  (len(test), real_tokens(test)), time.perf_counter() - start)
    (out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
