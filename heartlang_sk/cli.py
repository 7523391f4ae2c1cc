"""The ``heartlang-sk`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _demo(args):
    import numpy as np

    from .datasets import make_ecg
    from .plotting import plot_sentence, plot_tokenization
    from .tokenizer import QRSTokenizer

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_ecg(args.n_records, sampling_rate=args.sampling_rate, random_state=args.seed)
    print(f"built-in synthetic ECG: {X.shape[0]} records x {X.shape[1]} leads x {X.shape[2]} samples "
          f"at {args.sampling_rate:g} Hz, classes {sorted(map(str, set(y)))}")
    tokenizer = QRSTokenizer(sampling_rate=args.sampling_rate, verbose=True)
    sentences = tokenizer.fit_transform(X)
    print(sentences)
    header = f"{'record':>6}  {'class':<10} {'beats':>5} {'bpm':>5} {'tokens':>6} {'dropped':>7}"
    print(header)
    print("-" * len(header))
    duration = X.shape[2] / args.sampling_rate
    for i, label in enumerate(y):
        beats = int(sentences.n_beats[i])
        peaks = sentences.r_peaks[i][sentences.leads[i] == 1]
        bpm = 60 * sentences.sampling_rate / np.median(np.diff(peaks)) if len(peaks) > 1 else 0.0
        print(f"{i:>6}  {label:<10} {beats:>5} {bpm:>5.0f} {int(sentences.n_tokens[i]):>6} "
              f"{int(sentences.n_dropped[i]):>7}")
    shown = [int(np.flatnonzero(y == label)[0]) for label in sorted(set(y))]
    for i in shown:
        plot_tokenization(sentences, i, path=out / f"tokenization_{i:03d}_{y[i]}.png")
        plot_sentence(sentences, i, path=out / f"sentence_{i:03d}_{y[i]}.png")
    print(f"wrote {2 * len(shown)} PNGs to {out}/ (a record with its QRS complexes and cut beats, "
          f"and its sentence, per class)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="heartlang-sk", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the whole job on built-in synthetic ECG")
    demo.add_argument("--n-records", type=int, default=24)
    demo.add_argument("--sampling-rate", type=float, default=500.0)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="heartlang-sk-output")
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
