"""The ``heartlang-sk`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _demo(args):
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .datasets import make_ecg
    from .embedder import HeartLangEmbedder
    from .features import ECGFeatures, RawSignal
    from .plotting import plot_sentence, plot_tokenization
    from .pretrainer import HeartLangPretrainer
    from .tokenizer import QRSTokenizer
    from .vocabulary import ECGVocabulary

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rate = args.sampling_rate
    X, y = make_ecg(args.n_records, sampling_rate=rate, random_state=args.seed)
    print(f"[1/5] built-in synthetic ECG: {X.shape[0]} records x {X.shape[1]} leads x {X.shape[2]} "
          f"samples at {rate:g} Hz, classes {sorted(map(str, set(y)))}")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=args.seed)
    tokenizer = QRSTokenizer(sampling_rate=rate, verbose=True)
    S_train = tokenizer.fit_transform(X_train)
    print(f"      {S_train}; beats per record {np.percentile(S_train.n_beats, [5, 50, 95]).tolist()} "
          f"(5/50/95th pct), tokens dropped {int(S_train.n_dropped.sum())}")
    shown = [int(np.flatnonzero(y_train == label)[0]) for label in sorted(set(y_train))]
    for i in shown:
        plot_tokenization(S_train, i, path=out / f"tokenization_{y_train[i]}.png")
        plot_sentence(S_train, i, path=out / f"sentence_{y_train[i]}.png")

    print(f"[2/5] ECG vocabulary ({args.size}, {args.n_words} words, {args.epochs} epochs)")
    common = dict(device=args.device, random_state=args.seed, verbose=args.verbose)
    vocabulary = ECGVocabulary(args.size, n_words=args.n_words, max_epochs=args.epochs, **common)
    vocabulary.fit(S_train)
    last = vocabulary.history_.iloc[-1]
    print(f"      reconstruction R2 {last.train_r2:.3f}, {vocabulary.n_active_words_} of "
          f"{args.n_words} words in use, perplexity {vocabulary.perplexity_:.0f}")

    print(f"[3/5] masked-sentence pre-training ({args.size}, {args.epochs} epochs)")
    pretrainer = HeartLangPretrainer(vocabulary, args.size, max_epochs=args.epochs, **common)
    pretrainer.fit(S_train)
    last = pretrainer.history_.iloc[-1]
    print(f"      masked-word accuracy {last.train_masked_accuracy:.3f}, loss {last.train_loss:.3f}")

    print("[4/5] linear probes on the held-out 30% (logistic regression)")
    probe = (lambda: LogisticRegression(max_iter=2000))
    candidates = {
        "HeartLang (pre-trained encoder)": make_pipeline(
            QRSTokenizer(sampling_rate=rate), HeartLangEmbedder(pretrainer), StandardScaler(), probe()),
        "random-initialised encoder": make_pipeline(
            QRSTokenizer(sampling_rate=rate),
            HeartLangEmbedder(HeartLangPretrainer(size=args.size, max_epochs=0, random_state=args.seed)),
            StandardScaler(), probe()),
        "hand-made ECG features": make_pipeline(ECGFeatures(sampling_rate=rate), StandardScaler(), probe()),
        "raw downsampled signal": make_pipeline(RawSignal(downsample=int(rate // 10)), StandardScaler(),
                                                probe()),
    }
    rows = []
    for name, model in candidates.items():
        model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        rows.append((name, accuracy_score(y_test, model.classes_[proba.argmax(1)]),
                     roc_auc_score(y_test, proba, multi_class="ovr", average="macro")))

    print("[5/5] results (synthetic data: a smoke test of the whole job, not a benchmark)")
    header = f"| {'model':<32} | accuracy | macro AUC |"
    table = [header, f"|{'-' * 34}|---------:|----------:|"]
    table += [f"| {name:<32} | {acc:8.3f} | {auc:9.3f} |" for name, acc, auc in rows]
    print("\n".join(table))
    (out / "results.md").write_text(
        "# heartlang-sk demo\n\nCommand: `heartlang-sk demo "
        + " ".join(sys.argv[2:]) + "`\n\n" + "\n".join(table) + "\n")
    vocabulary.history_.to_csv(out / "vocabulary_history.csv", index=False)
    pretrainer.history_.to_csv(out / "pretraining_history.csv", index=False)
    print(f"wrote results.md, training histories and {2 * len(shown)} PNGs to {out}/")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="heartlang-sk", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the whole job on built-in synthetic ECG")
    demo.add_argument("--n-records", type=int, default=360)
    demo.add_argument("--sampling-rate", type=float, default=500.0)
    demo.add_argument("--size", default="tiny", help="encoder size: tiny, small, base, large")
    demo.add_argument("--n-words", type=int, default=1024, help="vocabulary size")
    demo.add_argument("--epochs", type=int, default=8, help="epochs of each training stage")
    demo.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="heartlang-sk-output")
    demo.add_argument("--verbose", action="store_true", help="per-epoch tables and progress bars")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``heartlang-sk`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        if args.debug:
            raise
        print(f"heartlang-sk: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
