"""``heartlang-sk tokenize``: raw ECG records -> ECG sentences, records.csv and tokenization PNGs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ._common import (_beats_per_record, _check_finite, _folder, _read_windows, _stage,
                      _tokenization_pictures, _tokenizer, _verbose, _window_names, _write_csv)


def add_parser(commands, output, inputs):
    """Add the ``tokenize`` subcommand."""
    tokenize = commands.add_parser(
        "tokenize", parents=[output, inputs], help="raw ECG records -> ECG sentences",
        description="Cut raw ECG records into ECG sentences (QRSTokenizer) and save them "
                    "(the sentence store sentences/, records.csv, tokenization PNGs) in --out.")
    tokenize.add_argument("records", help="a folder of WFDB records (.hea with .dat, or with .mat "
                                          "as in the PhysioNet/CinC Challenges) or a .npy array "
                                          "of shape (n_records, n_leads, n_samples)")
    tokenize.add_argument("--plots", type=int, default=2,
                          help="draw the tokenization of the first N records (default 2)")
    tokenize.add_argument("--store", action="store_true",
                          help="stream the records chunk by chunk into the sentence store instead of "
                               "reading them all first: for folders larger than memory")
    tokenize.set_defaults(run=_tokenize)


def _tokenize(args):
    import pandas as pd

    from ..io.records import read_records
    from ..report import Report

    start = time.perf_counter()
    verbose = _verbose(args)
    _folder(args.out, create=False)
    if args.window is not None:
        if args.store:
            raise ValueError("--window and --store cannot be combined yet: window the records "
                             "in memory (drop --store), or cut them to one length first")
        return _tokenize_windows(args, verbose, start)
    # --store reads the records chunk by chunk while tokenizing (a WFDB folder's NaN become 0)
    X, rate, names = read_records(args.records, args.sampling_rate, args.max_records, verbose,
                                  lazy=args.store)
    if not args.store:
        _check_finite(X, names)
    print(f"{'found' if args.store else 'read'} {X.shape[0]} records x {X.shape[1]} leads x "
          f"{X.shape[2]} samples at {rate:g} Hz in {args.records}")
    tokenizer = _tokenizer(rate, args, verbose, args.bandpass)
    if args.store:
        from ..io.store import tokenize_to_store

        existed = Path(args.out).exists()
        out = _folder(args.out)
        try:
            sentences = tokenize_to_store(tokenizer, X, out / "sentences", overwrite=True,
                                          verbose=verbose)
        except BaseException:
            if not existed:  # a user mistake found mid-stream leaves nothing behind
                shutil.rmtree(out, ignore_errors=True)
            raise
        written = "the sentence store sentences/"
    else:
        sentences = tokenizer.fit_transform(X)
        out = _folder(args.out)
        sentences.save(out / "sentences", overwrite=True)  # .npy arrays + header.json: no code
        written = "the sentence store sentences/"
    _write_csv(pd.DataFrame({"record": names, "n_beats": sentences.n_beats,
                            "n_tokens": sentences.n_tokens, "n_dropped": sentences.n_dropped}),
               out / "records.csv")
    report = Report(out, "tokenization")
    _tokenization_pictures(report, sentences, range(min(max(args.plots, 0), len(sentences))))
    print(f"{sentences}; {_beats_per_record(sentences)}, tokens dropped "
          f"{int(sentences.n_dropped.sum())}")
    _stage(f"wrote {written}, records.csv and {len(report.figures)} PNGs to {out}/", start)
    return 0


def _tokenize_windows(args, verbose, start):
    """``tokenize --window``: one sentence per window, records.csv one row per window."""
    import pandas as pd

    from ..report import Report

    windows = _read_windows(args.records, args, verbose)
    names = _window_names(windows)
    _check_finite(windows.signals, names)
    tokenizer = _tokenizer(windows.sampling_rate, args, verbose, args.bandpass)
    sentences = windows.mark(tokenizer.fit_transform(windows.signals))
    out = _folder(args.out)
    sentences.save(out / "sentences", overwrite=True)  # with record_ids and window_starts
    _write_csv(pd.DataFrame({"record": sentences.record_ids,
                            "window_start_s": sentences.window_starts,
                            "n_beats": sentences.n_beats, "n_tokens": sentences.n_tokens,
                            "n_dropped": sentences.n_dropped}), out / "records.csv")
    _write_csv(windows.summary(), out / "windows.csv")
    report = Report(out, "tokenization")
    _tokenization_pictures(report, sentences, range(min(max(args.plots, 0), len(sentences))))
    print(f"{sentences}; {_beats_per_record(sentences).replace('record', 'window')}, tokens "
          f"dropped {int(sentences.n_dropped.sum())}")
    _stage(f"wrote the sentence store sentences/ (one sentence per window), records.csv (one "
           f"row per window), windows.csv (windows per record) and {len(report.figures)} PNGs to "
           f"{out}/", start)
    return 0
