"""heartlang-sk: HeartLang, the self-supervised ECG language model, one stage per command.

  tokenize    RECORDS                       -> sentences.joblib, records.csv, tokenization PNGs
  vocabulary  SENTENCES                     -> vocabulary.joblib, history CSV, vocabulary PNGs
  pretrain    SENTENCES --vocabulary FILE   -> pretrainer.joblib, history CSV, training curves
  embed       INPUT --pretrainer FILE       -> embeddings (.csv, .parquet or .npy)
  evaluate    DATA [--pretrainer FILE]      -> PTB-XL probe results, ROC curves, report.md
  plot        [--sentences/--vocabulary/--pretrainer/--history FILE]  -> the standard PNGs
  demo        [--ptbxl PATH]                -> the whole job, results table, report.md
  align       DATA                          -> aligner.joblib, history CSV (MELP ECG-report pre-training)
  zeroshot    DATA --aligner FILE           -> per-class zero-shot scores CSV

A user mistake prints one line (``heartlang-sk: error: ...``) and exits with status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import shlex
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["build_parser", "main"]

DEFAULT_OUT = "heartlang-sk-output"
USER_ERRORS = (ValueError, OSError, ImportError)
BASELINES = ("random-init", "features", "raw")
MODEL_NAMES = {
    "heartlang": "HeartLang (pre-trained encoder)",
    "random-init": "random-initialised encoder",
    "features": "hand-made ECG features",
    "raw": "raw downsampled signal",
}
_EMBED_CHUNK = 256  # records per embedding / feature step (one progress-bar tick)
_PICTURE_SECONDS = 10.0  # longer records are drawn over their first 10 s only


# -- option parsing ----------------------------------------------------------------------------------
def _number_list(kind):
    def parse(text):
        try:
            return tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__} values, got {text!r}") from None
    parse.__name__ = f"{kind.__name__} list"
    return parse


def _folds(text):
    """``"1-8"`` or ``"1,2,3"`` -> a tuple of ints."""
    folds = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            folds.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected folds like 1-8 or 1,2,3, got {text!r}") from None
    return tuple(folds)


def _bandpass(text):
    """``"0.5,40"``, ``"0.5,"`` (high-pass), ``",40"``, ``"off"`` or ``"auto"``."""
    if text.strip().lower() in ("off", "none"):
        return None
    if text.strip().lower() == "auto":
        return "auto"
    low, comma, high = text.partition(",")
    try:
        edges = tuple(float(edge) if edge.strip() else None for edge in (low, high))
    except ValueError:
        edges = None
    if not comma or edges is None or edges == (None, None):
        raise argparse.ArgumentTypeError(
            f"expected LOW,HIGH in Hz (either may be empty, e.g. 0.5, for a high-pass) or off; got "
            f"{text!r}")
    return edges


def _param(text):
    """``NAME=VALUE`` -> (name, value); the value is a Python literal or else a string."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a bare word, e.g. precision=bf16
    return name.strip(), value


def _names(allowed):
    def parse(text):
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        if names in ((), ("none",)):
            return ()
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(allowed)}"
                                             f" (comma-separated) or none")
        return names
    parse.__name__ = "names"
    return parse


def _output_options(out_help=f"output folder (default {DEFAULT_OUT})", out_default=DEFAULT_OUT):
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--out", default=out_default, help=out_help)
    shown = options.add_mutually_exclusive_group()
    shown.add_argument("--verbose", action="store_true", default=None,
                       help="progress bars on every long step and per-epoch training tables "
                            "(default: on when stderr is a terminal)")
    shown.add_argument("--quiet", dest="verbose", action="store_false",
                       help="no progress bars or training tables")
    options.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the full traceback of an error")
    return options


def _training_options(epochs=True, epochs_default=None):
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, "
                                                          "cuda:1, ... (default auto)")
    options.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    options.add_argument("--size", default="tiny", choices=("tiny", "small", "base", "large"),
                         help="ST-ECGFormer size (default tiny)")
    if epochs:
        options.add_argument("--epochs", type=int, default=epochs_default,
                             help=f"epochs of each training stage (default "
                                  f"{epochs_default or 'the estimator default, 10'})")
    options.add_argument("--threads", type=int, default=None,
                         help="torch CPU threads (default: torch's choice)")
    return options


def _input_options():
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--sampling-rate", type=float, default=None,
                         help="Hz; required for a .npy array (WFDB headers carry their own)")
    options.add_argument("--bandpass", type=_bandpass, default=None,
                         help="Butterworth filter LOW,HIGH Hz before cutting beats, e.g. 0.5, "
                              "(high-pass for raw mV records) or 0.5,40 (default off)")
    options.add_argument("--normalize", choices=("zscore",), default=None,
                         help="per-record, per-lead z-score after filtering")
    options.add_argument("--max-records", type=int, default=None,
                         help="read only the first N records")
    return options


def _protocol_options():
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--task", default="super", choices=("super", "sub", "form", "rhythm"),
                         help="PTB-XL label set (default super)")
    options.add_argument("--fractions", type=_number_list(float), default=(0.01, 0.1, 1.0),
                         help="training regimes as fractions of the training records "
                              "(default 0.01,0.1,1)")
    options.add_argument("--seeds", type=_number_list(int), default=(0, 1, 2),
                         help="one draw per seed and regime (default 0,1,2)")
    options.add_argument("--train-folds", type=_folds, default=None,
                         help="strat_fold values to train (and validate) on (default 1-8)")
    options.add_argument("--test-folds", type=_folds, default=None,
                         help="strat_fold values to report on (default 10 if the data has it, "
                              "else 9)")
    options.add_argument("--probe", type=_names(("sklearn", "torch")), default=("sklearn",),
                         help="linear probe(s): sklearn (logistic regression), torch (the paper's "
                              "linear head) (default sklearn)")
    options.add_argument("--pooling", default="mean", choices=("mean", "lead", "cls"),
                         help="how the encoder's tokens become one vector (default mean)")
    options.add_argument("--bandpass", type=_bandpass, default="auto",
                         help="tokenizer filter LOW,HIGH Hz or off (default auto: 0.5, high-pass "
                              "for raw PTB-XL, off for the band-passed ptbxl-2k)")
    return options


def _add_fit_inputs(parser, estimator, example):
    """The saved sentences a training subcommand fits on, and ``--param`` for the estimator."""
    parser.add_argument("sentences", help="sentences.joblib (or the sentences/ store) from "
                                          "'heartlang-sk tokenize'")
    parser.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                        help=f"any other {estimator} parameter, e.g. {example} (repeatable)")


def build_parser():
    """The ``heartlang-sk`` argument parser, one subparser per subcommand.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from heartlang_sk.cli import build_parser
    >>> args = build_parser().parse_args(["tokenize", "records/", "--sampling-rate", "500"])
    >>> args.command, args.sampling_rate, args.out
    ('tokenize', 500.0, 'heartlang-sk-output')
    """
    parser = argparse.ArgumentParser(
        prog="heartlang-sk", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'heartlang-sk COMMAND --help' for a command's options.")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    output, training, inputs = _output_options(), _training_options(), _input_options()

    tokenize = commands.add_parser(
        "tokenize", parents=[output, inputs], help="raw ECG records -> ECG sentences",
        description="Cut raw ECG records into ECG sentences (QRSTokenizer) and save them "
                    "(sentences.joblib, records.csv, tokenization PNGs) in --out.")
    tokenize.add_argument("records", help="a folder of WFDB records (.hea/.dat) or a .npy array "
                                          "of shape (n_records, n_leads, n_samples)")
    tokenize.add_argument("--plots", type=int, default=2,
                          help="draw the tokenization of the first N records (default 2)")
    tokenize.add_argument("--store", action="store_true",
                          help="stream the records chunk by chunk into a memory-mapped sentence "
                               "store (the folder sentences/) instead of sentences.joblib: for "
                               "folders larger than memory; later commands take the folder")
    tokenize.set_defaults(run=_tokenize)

    vocabulary = commands.add_parser(
        "vocabulary", parents=[output, training], help="learn the ECG vocabulary",
        description="Fit an ECGVocabulary on saved sentences; save it with its history and "
                    "pictures (reconstructions, top words, vocabulary map, training curves).")
    _add_fit_inputs(vocabulary, "ECGVocabulary", "encoder_depth=2")
    vocabulary.add_argument("--n-words", type=int, default=None,
                            help="vocabulary size (default: the estimator's, 8192)")
    vocabulary.add_argument("--word-dim", type=int, default=None,
                            help="word vector dimension (default: the estimator's, 128)")
    vocabulary.add_argument("--map", default="pca", choices=("pca", "tsne"),
                            help="2-D projection of the vocabulary map (default pca)")
    vocabulary.set_defaults(run=_vocabulary)

    pretrain = commands.add_parser(
        "pretrain", parents=[output, training], help="masked-sentence pre-training",
        description="Fit a HeartLangPretrainer on saved sentences with a saved vocabulary; save "
                    "it with its history and training curves.")
    _add_fit_inputs(pretrain, "HeartLangPretrainer", "mask_ratio=0.4")
    pretrain.add_argument("--vocabulary", required=True,
                          help="vocabulary.joblib from 'heartlang-sk vocabulary'")
    pretrain.add_argument("--depth", type=int, default=None,
                          help="transformer blocks (default: the size's depth)")
    pretrain.set_defaults(run=_pretrain)

    embed = commands.add_parser(
        "embed", parents=[_output_options("embeddings file: .csv, .parquet (needs pyarrow) or "
                                          ".npy (default heartlang-sk-output/embeddings.csv)",
                                          f"{DEFAULT_OUT}/embeddings.csv"), inputs],
        help="one vector per record from a pre-trained encoder",
        description="Embed saved sentences, or raw records tokenized on the fly, with the frozen "
                    "encoder of a saved pretrainer.")
    embed.add_argument("input", help="sentences.joblib, a sentences/ store, a folder of WFDB "
                                     "records or a .npy array")
    embed.add_argument("--pretrainer", required=True,
                       help="pretrainer.joblib from 'heartlang-sk pretrain'")
    embed.add_argument("--pooling", default="mean", choices=("mean", "lead", "cls"),
                       help="how the encoder's tokens become one vector (default mean)")
    embed.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default auto)")
    embed.set_defaults(run=_embed)

    evaluate = commands.add_parser(
        "evaluate", parents=[output, _training_options(epochs=False), _protocol_options()],
        help="the PTB-XL linear-probe protocol",
        description="Linear probes of frozen embeddings on a PTB-XL folder or a ptbxl-2k folder "
                    "(heartlang_sk.evaluation): macro ROC-AUC per regime, ROC curves per class, "
                    "report.md.")
    evaluate.add_argument("data", help="a PTB-XL folder (ptbxl_database.csv) or a ptbxl-2k folder "
                                       "(signals_100hz.npy, labels.csv)")
    evaluate.add_argument("--pretrainer", default=None,
                          help="pretrainer.joblib to evaluate beside the baselines")
    evaluate.add_argument("--baselines", type=_names(BASELINES), default=BASELINES,
                          help="comma-separated, from random-init, features, raw; or none "
                               "(default all)")
    evaluate.set_defaults(run=_evaluate)

    plot = commands.add_parser(
        "plot", parents=[output], help="draw the standard pictures from saved files",
        description="Draw the standard pictures of whatever saved files are given: records and "
                    "their beats (sentences), reconstructions, top words and map (vocabulary, "
                    "with sentences), training curves (vocabulary, pretrainer, history CSV).")
    plot.add_argument("--sentences", help="sentences.joblib")
    plot.add_argument("--vocabulary", help="vocabulary.joblib")
    plot.add_argument("--pretrainer", help="pretrainer.joblib")
    plot.add_argument("--history", action="append", default=[],
                      help="a training history CSV (repeatable)")
    plot.add_argument("--records", type=_number_list(int), default=(0,),
                      help="records whose tokenization to draw (default 0)")
    plot.add_argument("--map", default="pca", choices=("pca", "tsne"),
                      help="2-D projection of the vocabulary map (default pca)")
    plot.set_defaults(run=_plot)

    demo = commands.add_parser(
        "demo", parents=[output, _training_options(epochs_default=8), _protocol_options()],
        help="the whole job on built-in synthetic ECG (or --ptbxl PATH)",
        description="The whole job: tokenizer -> vocabulary -> pre-training -> linear probes of "
                    "HeartLang embeddings beside a random-initialised encoder, hand-made ECG "
                    "features and the raw signal; prints the results table and writes pictures, "
                    "models and report.md to --out. Built-in synthetic ECG by default; --ptbxl "
                    "runs the PTB-XL probe protocol on a real PTB-XL folder (protocol options "
                    "apply to --ptbxl only).")
    demo.add_argument("--ptbxl", default=None, metavar="PATH",
                      help="a PTB-XL folder (or ptbxl-2k folder) instead of synthetic ECG")
    demo.add_argument("--n-records", type=int, default=360, help="synthetic records (default 360)")
    demo.add_argument("--sampling-rate", type=float, default=500.0,
                      help="synthetic sampling rate in Hz (default 500)")
    demo.add_argument("--n-words", type=int, default=1024, help="vocabulary size (default 1024)")
    demo.add_argument("--depth", type=int, default=None,
                      help="transformer blocks of the vocabulary's encoder (its decoder: at most "
                           "2) and of the pre-trained encoder (default: the estimators', 4)")
    demo.add_argument("--map", default="pca", choices=("pca", "tsne"),
                      help="2-D projection of the vocabulary map (default pca)")
    demo.set_defaults(run=_demo)

    from .melp import add_commands as add_melp_commands

    add_melp_commands(commands, output, training)
    return parser


# -- shared helpers ----------------------------------------------------------------------------------
def _verbose(args):
    return sys.stderr.isatty() if args.verbose is None else bool(args.verbose)


def _setup_torch(args):
    """Apply --threads and check --device before anything is trained."""
    import torch

    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = getattr(args, "device", "auto")
    if device == "auto":
        return
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch {torch.__version__} sees no CUDA "
                         f"GPU here; use --device cpu or auto")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for, but MPS is not available here")


def _command_line(args):
    return "heartlang-sk " + " ".join(shlex.quote(a) for a in (args.argv or []))


def _folder(path, create=True):
    """The --out folder; ``create=False`` only checks it early, before any long work."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} exists and is not a folder")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _load_sentences(path):
    from ..io.records import load_artifact
    from ..sentences import ECGSentences

    if Path(path).is_dir():  # a sentence store from 'tokenize --store', opened memory-mapped
        from ..io.store import load_sentences

        return load_sentences(path)
    return load_artifact(path, ECGSentences, "ECG sentences (sentences.joblib from "
                                                     "'heartlang-sk tokenize')")


def _load_vocabulary(path):
    from ..io.records import load_artifact
    from ..models.heartlang.vocabulary import ECGVocabulary

    return load_artifact(path, ECGVocabulary, "a fitted ECGVocabulary (vocabulary.joblib)")


def _load_pretrainer(path):
    from ..io.records import load_artifact
    from ..models.heartlang.pretrainer import HeartLangPretrainer, _is_fitted

    pretrainer = load_artifact(path, HeartLangPretrainer,
                               "a fitted HeartLangPretrainer (pretrainer.joblib)")
    if not _is_fitted(pretrainer):
        raise ValueError(f"{path} holds an unfitted HeartLangPretrainer")
    return pretrainer


def _record_names(sentences_path, n):
    """Record names saved beside the sentences by ``tokenize`` (records.csv), else 0..n-1."""
    import pandas as pd

    table = Path(sentences_path).with_name("records.csv")
    if table.exists():
        names = pd.read_csv(table, usecols=["record"], dtype=str)["record"]
        if len(names) == n:
            return names.tolist()
    return [str(i) for i in range(n)]


def _in_chunks(transform, X, desc, verbose):
    """``transform(X)`` a chunk of records at a time, with a progress bar."""
    from tqdm.auto import tqdm

    starts = range(0, len(X), _EMBED_CHUNK)
    parts = [np.asarray(transform(X[start:start + _EMBED_CHUNK]))
             for start in tqdm(starts, desc=desc, unit="chunk", disable=not verbose)]
    return np.concatenate(parts)


def _tokenizer(sampling_rate, args, verbose, bandpass=None):
    from ..preprocessing.tokenizer import QRSTokenizer

    return QRSTokenizer(sampling_rate=sampling_rate, bandpass=bandpass,
                        normalize=getattr(args, "normalize", None), verbose=verbose)


def _check_finite(X, names):
    """Name the records with missing (NaN) or infinite samples before tokenizing."""
    bad = []
    for start in range(0, len(X), _EMBED_CHUNK):
        chunk = np.asarray(X[start:start + _EMBED_CHUNK])
        finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
        bad.extend(start + np.flatnonzero(~finite))
    if bad:
        examples = ", ".join(str(names[i]) for i in bad[:3])
        raise ValueError(f"{len(bad)} of {len(X)} records contain NaN (missing) or infinite "
                         f"samples (e.g. record {examples}): clean or interpolate them first")


def _apply_params(estimator, params):
    if params:
        estimator.set_params(**dict(params))
    return estimator


def _stage(message, start):
    print(f"{message} ({time.perf_counter() - start:.0f} s)", flush=True)


# -- pictures ------------------------------------------------------------------------------------
def _beats_per_record(sentences):
    low, median, high = np.percentile(sentences.n_beats, [5, 50, 95])
    return f"beats per record {low:.4g} / {median:.4g} / {high:.4g} (5th / 50th / 95th percentile)"


def _tokenization_pictures(report, sentences, records, names=None):
    """Tokenization and sentence PNGs of ``records``; the report shows the first sentence only."""
    from ..plotting.tokenization import plot_sentence, plot_tokenization

    seconds = sentences.signals.shape[2] / sentences.sampling_rate
    window = (0.0, _PICTURE_SECONDS) if seconds > _PICTURE_SECONDS else None
    shown = f"the first {_PICTURE_SECONDS:g} s of " if window else ""
    leads = "leads I, II and V1" if sentences.signals.shape[1] == 12 else "its first leads"
    for k, i in enumerate(records):
        if not 0 <= i < len(sentences):
            raise ValueError(f"record {i} out of range: the sentences hold {len(sentences)} records")
        label = i if names is None else names[i]
        report.figure(plot_tokenization(sentences, i, window=window), f"tokenization_{label}.png",
                      f"Record {label}: detected R peaks (red) and the beats cut from them "
                      f"(shaded), {shown}{leads}.")
        report.figure(plot_sentence(sentences, i), f"sentence_{label}.png",
                      f"Record {label} as an ECG sentence: tokens in order with their lead and "
                      f"second.", show=k == 0)


def _vocabulary_pictures(report, vocabulary, sentences, held_out=None, map_method="pca"):
    from ..plotting.vocabulary import plot_reconstructions, plot_top_words, plot_vocabulary_map

    if not vocabulary.history_.empty:
        _curves_picture(report, vocabulary.history_, "vocabulary_curves.png",
                        "ECG vocabulary training: loss terms, reconstruction R² and codebook use "
                        "per epoch.")
    shown = held_out if held_out is not None else sentences
    report.figure(plot_reconstructions(vocabulary, shown, n_beats=8), "reconstructions.png",
                  f"Beats ({'held-out' if held_out is not None else 'training'} records) and their "
                  f"reconstruction from their ECG word (paper Fig. 4).")
    report.figure(plot_top_words(vocabulary, sentences, n_words=16), "top_words.png",
                  "The most frequent ECG words: mean ± std of the beats each stands for "
                  "(paper Fig. 3).")
    report.figure(plot_vocabulary_map(vocabulary, method=map_method), "vocabulary_map.png",
                  f"The vocabulary in 2-D ({map_method.upper()} of the word vectors), coloured by "
                  f"use on the training records (paper Fig. 6).")


def _curves_picture(report, history, filename, caption):
    from ..plotting.training import plot_training_curves

    report.figure(plot_training_curves(history), filename, caption)


def _pretraining_pictures(report, pretrainer):
    if not pretrainer.history_.empty:
        _curves_picture(report, pretrainer.history_, "pretraining_curves.png",
                        "Masked-sentence pre-training: masked-word cross-entropy and accuracy per "
                        "epoch.")


# -- training stages shared by the subcommands and the demo ---------------------------------------
def _new_vocabulary(args, verbose, **params):
    """An unfitted ECGVocabulary from the options (``None`` keeps the estimator's default)."""
    from ..models.heartlang.vocabulary import ECGVocabulary

    vocabulary = ECGVocabulary(args.size, device=args.device, random_state=args.seed,
                               verbose=verbose, **{k: v for k, v in params.items() if v is not None})
    return _apply_params(vocabulary, getattr(args, "param", None))


def _new_pretrainer(vocabulary, args, verbose, **params):
    """An unfitted HeartLangPretrainer from the options (``None`` keeps the default)."""
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    pretrainer = HeartLangPretrainer(vocabulary, args.size, device=args.device,
                                     random_state=args.seed, verbose=verbose,
                                     **{k: v for k, v in params.items() if v is not None})
    return _apply_params(pretrainer, getattr(args, "param", None))


def _vocabulary_summary(vocabulary):
    line = (f"{vocabulary.n_active_words_} of {vocabulary.codebook_.shape[0]} words in use, "
            f"perplexity {vocabulary.perplexity_:.0f}")
    if "train_r2" in vocabulary.history_:
        line = f"reconstruction R2 {vocabulary.history_['train_r2'].iloc[-1]:.3f}, " + line
    return line


def _pretrainer_summary(pretrainer):
    last = pretrainer.history_.iloc[-1]
    return f"masked-word accuracy {last.train_masked_accuracy:.3f}, loss {last.train_loss:.3f}"


# -- subcommands ---------------------------------------------------------------------------------
def _tokenize(args):
    import joblib
    import pandas as pd

    from ..io.records import read_records
    from ..report import Report

    start = time.perf_counter()
    verbose = _verbose(args)
    _folder(args.out, create=False)
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
        joblib.dump(sentences, out / "sentences.joblib")
        written = "sentences.joblib"
    pd.DataFrame({"record": names, "n_beats": sentences.n_beats, "n_tokens": sentences.n_tokens,
                  "n_dropped": sentences.n_dropped}).to_csv(out / "records.csv", index=False)
    report = Report(out, "tokenization")
    _tokenization_pictures(report, sentences, range(min(max(args.plots, 0), len(sentences))))
    print(f"{sentences}; {_beats_per_record(sentences)}, tokens dropped "
          f"{int(sentences.n_dropped.sum())}")
    _stage(f"wrote {written}, records.csv and {len(report.figures)} PNGs to {out}/", start)
    return 0


def _fit_and_save(args, estimator, sentences, *, doing, model_file, history_file, title, draw,
                  summary, start):
    """The tail shared by ``vocabulary`` and ``pretrain``: fit, write the model, its history CSV and
    a report (``draw(report)`` adds the pictures), print ``summary()`` (unless empty) and the
    stage's time."""
    import joblib

    from ..report import Report

    print(f"{doing} on {sentences}")
    estimator.fit(sentences)
    out = _folder(args.out)
    joblib.dump(estimator, out / model_file)
    estimator.history_.to_csv(out / history_file, index=False)
    report = Report(out, title)
    draw(report)
    line = summary()
    if line:
        print(line)
    _stage(f"wrote {model_file}, {history_file} and {len(report.figures)} PNG(s) to {out}/", start)
    return 0


def _vocabulary(args):
    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    _folder(args.out, create=False)
    sentences = _load_sentences(args.sentences)
    vocabulary = _new_vocabulary(args, verbose, n_words=args.n_words, word_dim=args.word_dim,
                                 max_epochs=args.epochs)
    return _fit_and_save(args, vocabulary, sentences, doing="fitting the ECG vocabulary",
                         model_file="vocabulary.joblib", history_file="vocabulary_history.csv",
                         title="ECG vocabulary", start=start,
                         draw=lambda report: _vocabulary_pictures(report, vocabulary, sentences,
                                                                  map_method=args.map),
                         summary=lambda: _vocabulary_summary(vocabulary))


def _pretrain(args):
    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    _folder(args.out, create=False)
    sentences = _load_sentences(args.sentences)
    vocabulary = _load_vocabulary(args.vocabulary)
    pretrainer = _new_pretrainer(vocabulary, args, verbose, depth=args.depth,
                                 max_epochs=args.epochs)
    return _fit_and_save(args, pretrainer, sentences, doing="pre-training",
                         model_file="pretrainer.joblib", history_file="pretraining_history.csv",
                         title="pre-training", start=start,
                         draw=lambda report: _pretraining_pictures(report, pretrainer),
                         summary=lambda: (None if pretrainer.history_.empty
                                          else _pretrainer_summary(pretrainer)))


def _embed(args):
    from ..models.heartlang.embedder import HeartLangEmbedder
    from ..io.records import check_embeddings_path, read_records, save_embeddings
    from ..io.store import HEADER_FILE

    start = time.perf_counter()
    verbose = _verbose(args)
    check_embeddings_path(args.out)  # before any work
    _setup_torch(args)
    pretrainer = _load_pretrainer(args.pretrainer)
    source = Path(args.input)
    if source.is_file() and source.suffix.lower() not in (".joblib", ".npy"):
        raise ValueError(f"{source}: expected sentences.joblib, a folder of WFDB records or a .npy "
                         f"array, got a {source.suffix or 'plain'} file")
    if source.suffix.lower() == ".joblib" or (source / HEADER_FILE).is_file():
        sentences = _load_sentences(source)  # sentences.joblib, or a store from 'tokenize --store'
        names = _record_names(source, len(sentences))
    else:
        X, rate, names = read_records(source, args.sampling_rate, args.max_records, verbose)
        _check_finite(X, names)
        sentences = _tokenizer(rate, args, verbose, args.bandpass).fit_transform(X)
    embedder = HeartLangEmbedder(pretrainer, pooling=args.pooling, device=args.device)
    embedder.fit(sentences)
    Z = _in_chunks(embedder.transform, sentences, "embed", verbose)
    path = save_embeddings(Z, args.out, index=names, columns=embedder.get_feature_names_out())
    _stage(f"wrote {Z.shape[0]} x {Z.shape[1]} embeddings to {path}", start)
    return 0


def _plot(args):
    import pandas as pd

    from ..plotting.training import plot_training_curves
    from ..report import Report

    if not (args.sentences or args.vocabulary or args.pretrainer or args.history):
        raise ValueError("nothing to plot: give --sentences, --vocabulary, --pretrainer and/or "
                         "--history")
    start = time.perf_counter()
    sentences = _load_sentences(args.sentences) if args.sentences else None
    vocabulary = _load_vocabulary(args.vocabulary) if args.vocabulary else None
    pretrainer = _load_pretrainer(args.pretrainer) if args.pretrainer else None
    histories = []
    for path in map(Path, args.history):
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            histories.append((path, pd.read_csv(path)))
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            raise ValueError(f"{path} is not a training history CSV ({error})") from None
    report = Report(_folder(args.out), "pictures")
    if sentences is not None:
        _tokenization_pictures(report, sentences, args.records)
    if vocabulary is not None:
        if sentences is not None:
            _vocabulary_pictures(report, vocabulary, sentences, map_method=args.map)
        else:
            from ..plotting.vocabulary import plot_vocabulary_map

            if not vocabulary.history_.empty:
                _curves_picture(report, vocabulary.history_, "vocabulary_curves.png", "")
            report.figure(plot_vocabulary_map(vocabulary, method=args.map), "vocabulary_map.png", "")
    if pretrainer is not None:
        _pretraining_pictures(report, pretrainer)
    for path, history in histories:
        report.figure(plot_training_curves(history, title=path.name), f"curves_{path.stem}.png", "")
    names = ", ".join(figure.name for figure in report.figures) or "nothing (no training history)"
    _stage(f"wrote {names} to {report.folder}/", start)
    return 0


# -- PTB-XL data and the probe protocol -----------------------------------------------------------
def _ptbxl_kind(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such folder: {path}")
    if (path / "ptbxl_database.csv").exists():
        return "ptbxl"
    if (path / "signals_100hz.npy").exists() and (path / "labels.csv").exists():
        return "ptbxl-2k"
    raise ValueError(f"{path} is neither a PTB-XL folder (ptbxl_database.csv, records100/) nor a "
                     f"ptbxl-2k folder (signals_100hz.npy, labels.csv)")


def _protocol_folds(path, kind, args):
    import pandas as pd

    table = "ptbxl_database.csv" if kind == "ptbxl" else "labels.csv"
    available = set(pd.read_csv(Path(path) / table, usecols=["strat_fold"])["strat_fold"].tolist())
    test = args.test_folds or ((10,) if 10 in available else (9,))
    train = args.train_folds or tuple(f for f in range(1, 9) if f not in test)
    missing = sorted((set(train) | set(test)) - available)
    if missing:
        raise ValueError(f"fold(s) {missing} not in {path} (it has folds {sorted(available)})")
    if set(train) & set(test):
        raise ValueError(f"--train-folds and --test-folds overlap: {sorted(set(train) & set(test))}")
    return train, test


def _load_ptbxl_task(path, args, verbose):
    """Records, labels and metadata of the protocol's folds; the tokenizer's default filter."""
    from ..datasets import load_ptbxl, load_ptbxl2k

    kind = _ptbxl_kind(path)
    train, test = _protocol_folds(path, kind, args)
    folds = sorted(set(train) | set(test))
    if kind == "ptbxl":
        X, Y, meta = load_ptbxl(path, task=args.task, folds=folds, verbose=verbose)
        bandpass = (0.5, None)  # raw mV records: remove baseline wander
    else:
        X, Y, meta = load_ptbxl2k(path, task=args.task, folds=folds)
        bandpass = None  # already band-passed 0.5-40 Hz
    if args.bandpass != "auto":
        bandpass = args.bandpass
    print(f"{kind} {path}: {len(X)} records labelled for task {args.task!r} "
          f"({Y.shape[1]} classes), training folds {list(train)}, test folds {list(test)}")
    return X, Y, meta, (train, test), bandpass


def _probe_protocol(embeddings, X, Y, meta, folds, args, verbose):
    """The linear-probe protocol on precomputed embeddings: every fit, the summary table, and
    the test scores of the largest regime's probe (first seed) for the ROC curves."""
    import pandas as pd

    from ..evaluation.protocol import (evaluate_embedders, few_shot_indices, linear_probe, protocol_split,
                             regime_name, summarize)

    train, test = folds
    method = args.probe[0] if args.probe else "sklearn"
    protocol = dict(train_folds=train, test_folds=test, fractions=tuple(sorted(args.fractions)),
                    seeds=tuple(args.seeds), methods=tuple(args.probe) or ("sklearn",))
    if not protocol["fractions"] or not protocol["seeds"]:
        raise ValueError("--fractions and --seeds need at least one value each")
    results = evaluate_embedders(embeddings, X, Y, meta, verbose=verbose, **protocol)
    summary = summarize(results)

    regimes = [regime_name(f) for f in protocol["fractions"]]
    several_methods = len(protocol["methods"]) > 1
    rows = []
    for model in embeddings:  # in the caller's order, not summarize's alphabetical one
        for probe in protocol["methods"]:
            cells = summary[(summary["model"] == model) & (summary["method"] == probe)]
            cells = cells.set_index("regime")["test_auc"]
            row = {"model": f"{model} ({probe})" if several_methods else model}
            row.update({f"{regime} macro AUC (%)": cells.get(regime, "") for regime in regimes})
            rows.append(row)
    table = pd.DataFrame(rows)

    pool, valid, test_rows = protocol_split(meta, train_folds=train, test_folds=test)
    fraction, seed = protocol["fractions"][-1], protocol["seeds"][0]
    draw = pool[few_shot_indices(Y.iloc[pool], fraction, random_state=seed)]
    scores, per_class = {}, {}
    for name, Z in embeddings.items():
        Z = np.asarray(Z)
        result = linear_probe(Z[draw], Y.iloc[draw], Z[valid], Y.iloc[valid], Z[test_rows],
                              Y.iloc[test_rows], method=method, random_state=seed)
        model = result["model"]
        if method == "sklearn":
            scores[name] = model.predict_proba(Z[test_rows])
        else:
            import torch

            with torch.no_grad():
                scores[name] = model(torch.as_tensor(Z[test_rows], dtype=torch.float32)).numpy()
        per_class[name] = result["per_class_auc"]
    per_class = pd.DataFrame(per_class).T.reset_index(names="model")
    return results, table, Y.iloc[test_rows], scores, per_class, (regime_name(fraction), seed, method)


def _embed_all(models, X, sentences, verbose):
    """Embeddings of every record by each named model (an embedder of sentences, or of X)."""
    embeddings, seconds = {}, {}
    for name, (transform, on_sentences) in models.items():
        start = time.perf_counter()
        embeddings[name] = _in_chunks(transform, sentences if on_sentences else X, name, verbose)
        seconds[name] = time.perf_counter() - start
    return embeddings, seconds


def _report_protocol(report, table, per_class, y_test, scores, roc_info, task, results):
    from ..evaluation.protocol import PUBLISHED, published_table
    from ..plotting.evaluation import plot_roc_curves

    regime, seed, method = roc_info
    report.summary(f"Macro ROC-AUC (%) of a linear probe ({', '.join(results['method'].unique())}) "
                   f"on the test folds, mean ± std over {results['seed'].nunique()} seed(s) per "
                   f"training regime (the seed draws the training records of a regime; the 100% "
                   f"regime is the same for every seed); the probe is selected on a "
                   f"patient-disjoint validation split of the training folds "
                   f"(heartlang_sk.evaluation).", table)
    report.section("Per class", f"ROC-AUC per class of the {regime} regime's probe ({method}, seed "
                                f"{seed}) on the {len(y_test)} test records.")
    report.table(per_class, float_format="{:.3f}")
    report.figure(plot_roc_curves(y_test, scores, title=f"ROC curves, task {task}, {regime} "
                                                        f"regime"),
                  "roc_curves.png", f"ROC curve per class of every model ({regime} regime).")
    published = published_table([m for m in PUBLISHED if task in PUBLISHED[m]])
    published = published[published["task"] == task]
    if len(published):
        wide = published.pivot_table(index="model", columns="regime", values="test_auc",
                                     sort=False).reset_index()
        report.section("Published numbers, for context",
                       "Linear-probe macro ROC-AUC (%) on PTB-XL as published (HeartLang paper and "
                       "its workshop version): other pre-training corpora, model sizes and the "
                       "official test fold, so not directly comparable with the table above.")
        report.table(wide, float_format="{:.2f}")


def _evaluate(args):
    from ..evaluation.protocol import baseline_embedders
    from ..report import Report, markdown_table, run_details

    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    if args.pretrainer is None and not args.baselines:
        raise ValueError("nothing to evaluate: give --pretrainer and/or --baselines")
    pretrainer = _load_pretrainer(args.pretrainer) if args.pretrainer else None
    _folder(args.out, create=False)
    X, Y, meta, folds, bandpass = _load_ptbxl_task(args.data, args, verbose)
    out = _folder(args.out)
    rate = float(meta.attrs.get("sampling_rate", 100))
    models = {}
    sentences = None
    if pretrainer is not None or "random-init" in args.baselines:
        sentences = _tokenizer(rate, args, verbose, bandpass).fit_transform(X)
    if pretrainer is not None:
        models["heartlang"] = (_embedder(pretrainer, sentences, args), True)
    if "random-init" in args.baselines:
        models["random-init"] = (_embedder(_random_encoder(sentences, args, pretrainer),
                                           sentences, args), True)
    baselines = [name for name in args.baselines if name != "random-init"]
    for name, embed in baseline_embedders(baselines, sampling_rate=rate,
                                          downsample=max(1, round(rate / 10))).items():
        models[name] = (embed, False)
    embeddings, seconds = _embed_all(models, X, sentences, verbose)
    embeddings = {MODEL_NAMES[name]: Z for name, Z in embeddings.items()}
    results, table, y_test, scores, per_class, roc_info = _probe_protocol(
        embeddings, X, Y, meta, folds, args, verbose)

    print(f"results, task {args.task} (macro ROC-AUC %, mean ± std over seeds):")
    print(markdown_table(table))
    results.drop(columns=["per_class_auc"]).to_csv(out / "results.csv", index=False)
    table.to_csv(out / "results_table.csv", index=False)
    (out / "results.md").write_text(markdown_table(table) + "\n", encoding="utf-8")
    report = Report(out, f"heartlang-sk evaluate: PTB-XL task {args.task}",
                    run_details(_command_line(args), _device_name(args.device)))
    report.details["data"] = (f"{args.data} ({len(X)} records, training folds {list(folds[0])}, "
                              f"test folds {list(folds[1])})")
    if args.pretrainer:
        report.details["pretrainer"] = args.pretrainer
    _report_protocol(report, table, per_class, y_test, scores, roc_info, args.task, results)
    report.section("Files", "results.csv (one row per fit), results_table.csv and results.md (the "
                            "table above), roc_curves.png.")
    report.details["embedding time"] = ", ".join(f"{MODEL_NAMES[k]} {v:.1f} s"
                                                 for k, v in seconds.items())
    report.details["wall time"] = f"{time.perf_counter() - start:.0f} s"
    report.write()
    _stage(f"wrote report.md, results.csv, results.md and roc_curves.png to {out}/", start)
    return 0


def _device_name(device):
    from ..training.net import resolve_device

    return resolve_device(device)


def _embedder(pretrainer, sentences, args):
    from ..models.heartlang.embedder import HeartLangEmbedder

    return HeartLangEmbedder(pretrainer, pooling=args.pooling, device=args.device).fit(
        sentences).transform


def _random_encoder(sentences, args, like=None):
    """The no-pre-training baseline: an encoder of the same architecture, never trained."""
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    shape = {} if like is None else {"size": like.size, "depth": like.depth,
                                     "use_cls": like.use_cls}
    params = {"size": args.size, **shape}
    return HeartLangPretrainer(max_epochs=0, random_state=args.seed, device=args.device,
                               **params).fit(sentences)


# -- the demo ------------------------------------------------------------------------------------
def _demo(args):
    import joblib

    from ..report import Report, markdown_table, run_details

    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    if args.ptbxl is not None:
        _ptbxl_kind(args.ptbxl)  # a wrong path fails before anything is written
    out = _folder(args.out)
    source = "synthetic ECG" if args.ptbxl is None else f"PTB-XL ({args.ptbxl})"
    report = Report(out, f"heartlang-sk demo: the whole job on {source}",
                    run_details(_command_line(args), _device_name(args.device)))
    run = _demo_synthetic if args.ptbxl is None else _demo_ptbxl
    vocabulary, pretrainer, table = run(args, report, verbose, start)

    text = markdown_table(table)
    print(text)
    (out / "results.md").write_text(
        f"# heartlang-sk demo\n\nCommand: `{_command_line(args)}`\n\n{text}\n", encoding="utf-8")
    joblib.dump(vocabulary, out / "vocabulary.joblib")
    joblib.dump(pretrainer, out / "pretrainer.joblib")
    vocabulary.history_.to_csv(out / "vocabulary_history.csv", index=False)
    pretrainer.history_.to_csv(out / "pretraining_history.csv", index=False)
    report.section("Files", "vocabulary.joblib and pretrainer.joblib (the fitted models, for "
                            "`heartlang-sk embed` or `joblib.load`), vocabulary_history.csv, "
                            "pretraining_history.csv, results.md and the PNGs above.")
    report.details["wall time"] = f"{time.perf_counter() - start:.0f} s"
    report.write()
    _stage(f"wrote report.md, results.md, models, histories and {len(report.figures)} PNGs to "
           f"{out}/", start)
    return 0


def _demo_stages(args, report, verbose, start, fit_sentences, held_out, n_steps):
    """Vocabulary and pre-training with their pictures, as steps 2 and 3 of the demo."""
    print(f"[2/{n_steps}] ECG vocabulary ({args.size}, {args.n_words} words, {args.epochs} epochs)",
          flush=True)
    decoder_depth = None if args.depth is None else min(args.depth, 2)
    vocabulary = _new_vocabulary(args, verbose, n_words=args.n_words, max_epochs=args.epochs,
                                 encoder_depth=args.depth, decoder_depth=decoder_depth)
    vocabulary.fit(fit_sentences)
    _stage(f"      {_vocabulary_summary(vocabulary)}", start)
    report.section("ECG vocabulary", f"{args.n_words} words, {args.epochs} epochs: "
                                     f"{_vocabulary_summary(vocabulary)}.")
    _vocabulary_pictures(report, vocabulary, fit_sentences, held_out, map_method=args.map)

    print(f"[3/{n_steps}] masked-sentence pre-training ({args.size}, {args.epochs} epochs)",
          flush=True)
    pretrainer = _new_pretrainer(vocabulary, args, verbose, max_epochs=args.epochs,
                                 depth=args.depth).fit(fit_sentences)
    _stage(f"      {_pretrainer_summary(pretrainer)}", start)
    report.section("Masked-sentence pre-training", f"{args.epochs} epochs: "
                                                   f"{_pretrainer_summary(pretrainer)}.")
    _pretraining_pictures(report, pretrainer)
    return vocabulary, pretrainer


def _demo_synthetic(args, report, verbose, start):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..datasets import make_ecg
    from ..models.heartlang.embedder import HeartLangEmbedder
    from ..baselines.features import ECGFeatures, RawSignal
    from ..plotting.evaluation import plot_roc_curves
    from ..models.heartlang.pretrainer import HeartLangPretrainer
    from ..preprocessing.tokenizer import QRSTokenizer

    rate = args.sampling_rate
    X, y = make_ecg(args.n_records, sampling_rate=rate, random_state=args.seed)
    print(f"[1/5] built-in synthetic ECG: {X.shape[0]} records x {X.shape[1]} leads x {X.shape[2]} "
          f"samples at {rate:g} Hz, classes {sorted(map(str, set(y)))}", flush=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=args.seed)
    tokenizer = QRSTokenizer(sampling_rate=rate, verbose=verbose)
    S_train = tokenizer.fit_transform(X_train)
    _stage(f"      {S_train}; {_beats_per_record(S_train)}, tokens dropped "
           f"{int(S_train.n_dropped.sum())}", start)
    report.details["data"] = (f"built-in synthetic ECG (heartlang_sk.datasets.make_ecg): "
                              f"{X.shape[0]} records, {X.shape[1]} leads, {X.shape[2] / rate:g} s "
                              f"at {rate:g} Hz, {len(set(y))} classes; 70/30 stratified split")
    report.section("Tokenization", f"Training records: {S_train}; {_beats_per_record(S_train)}; "
                                   f"{int(S_train.n_dropped.sum())} tokens dropped. One training "
                                   f"record of each class (sentence_*.png for the others):")
    shown = [int(np.flatnonzero(y_train == label)[0]) for label in sorted(set(y_train))]
    _tokenization_pictures(report, S_train, shown, names=y_train)

    S_test = QRSTokenizer(sampling_rate=rate).fit_transform(X_test)
    vocabulary, pretrainer = _demo_stages(args, report, verbose, start, S_train, S_test, 5)

    print("[4/5] linear probes on the held-out 30% (logistic regression)", flush=True)

    def probe():
        return LogisticRegression(max_iter=2000)

    random_encoder = HeartLangPretrainer(size=args.size, max_epochs=0, random_state=args.seed,
                                         device=args.device)
    candidates = {
        MODEL_NAMES["heartlang"]: make_pipeline(
            QRSTokenizer(sampling_rate=rate),
            HeartLangEmbedder(pretrainer, pooling=args.pooling, device=args.device),
            StandardScaler(), probe()),
        MODEL_NAMES["random-init"]: make_pipeline(
            QRSTokenizer(sampling_rate=rate),
            HeartLangEmbedder(random_encoder, pooling=args.pooling, device=args.device),
            StandardScaler(), probe()),
        MODEL_NAMES["features"]: make_pipeline(ECGFeatures(sampling_rate=rate), StandardScaler(),
                                               probe()),
        MODEL_NAMES["raw"]: make_pipeline(RawSignal(downsample=int(rate // 10)), StandardScaler(),
                                          probe()),
    }
    rows, scores = [], {}
    from tqdm.auto import tqdm

    for name, model in tqdm(candidates.items(), desc="probes", unit="model", disable=not verbose):
        model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        scores[name] = proba
        rows.append({"model": name,
                     "accuracy": accuracy_score(y_test, model.classes_[proba.argmax(1)]),
                     "macro AUC": roc_auc_score(y_test, proba, multi_class="ovr", average="macro")})
    table = pd.DataFrame(rows)
    _stage("[5/5] results (synthetic data: a smoke test of the whole job, not a benchmark)", start)
    report.summary(f"Linear probes (standardized features, logistic regression) fitted on the "
                   f"{len(X_train)} training records, scored on the {len(X_test)} held-out "
                   f"records. Synthetic data: a smoke test of the whole job, not a benchmark.",
                   table)
    report.section("Probes")
    report.figure(plot_roc_curves(y_test, scores, classes=np.unique(y_train).tolist(),
                                  title="ROC curves of the probes on the held-out records"),
                  "roc_curves.png", "ROC curve per class (one vs rest) of every probe.")
    return vocabulary, pretrainer, table


def _demo_ptbxl(args, report, verbose, start):
    X, Y, meta, folds, bandpass = _load_ptbxl_task(args.ptbxl, args, verbose)
    rate = float(meta.attrs.get("sampling_rate", 100))
    print(f"[1/5] tokenizing {len(X)} records", flush=True)
    sentences = _tokenizer(rate, args, verbose, bandpass).fit_transform(X)
    train_rows = np.flatnonzero(meta["strat_fold"].isin(folds[0]).to_numpy())
    test_rows = np.flatnonzero(meta["strat_fold"].isin(folds[1]).to_numpy())
    S_train, S_test = sentences[train_rows], sentences[test_rows]
    _stage(f"      {sentences}; {_beats_per_record(sentences)}", start)
    report.details["data"] = (f"{args.ptbxl}: {len(X)} records labelled for task {args.task!r}, "
                              f"training folds {list(folds[0])} (pre-training and probes), test "
                              f"folds {list(folds[1])}")
    report.section("Tokenization", f"{sentences}; {_beats_per_record(sentences)}; "
                                   f"{int(sentences.n_dropped.sum())} tokens dropped; band-pass "
                                   f"{bandpass}. The first two training records:")
    _tokenization_pictures(report, S_train, range(min(2, len(S_train))))
    vocabulary, pretrainer = _demo_stages(args, report, verbose, start, S_train, S_test, 5)

    print("[4/5] linear-probe protocol (heartlang_sk.evaluation)", flush=True)
    from ..evaluation.protocol import baseline_embedders

    models = {"heartlang": (_embedder(pretrainer, sentences, args), True),
              "random-init": (_embedder(_random_encoder(sentences, args, pretrainer), sentences,
                                        args), True)}
    for name, embed in baseline_embedders(sampling_rate=rate).items():
        models[name] = (embed, False)
    embeddings, _ = _embed_all(models, X, sentences, verbose)
    embeddings = {MODEL_NAMES[name]: Z for name, Z in embeddings.items()}
    results, table, y_test, scores, per_class, roc_info = _probe_protocol(
        embeddings, X, Y, meta, folds, args, verbose)
    results.drop(columns=["per_class_auc"]).to_csv(report.folder / "results.csv", index=False)
    _stage(f"[5/5] results, task {args.task} (macro ROC-AUC %, mean ± std over seeds)", start)
    _report_protocol(report, table, per_class, y_test, scores, roc_info, args.task, results)
    return vocabulary, pretrainer, table


# -- entry point ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _one_line_warnings():
    original = warnings.formatwarning
    warnings.formatwarning = (lambda message, category, filename, lineno, line=None:
                              f"heartlang-sk: warning: {message}\n")
    try:
        yield
    finally:
        warnings.formatwarning = original


def main(argv=None):
    """Entry point of the ``heartlang-sk`` console script (and ``python -m heartlang_sk``).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a user error (bad path, wrong kind of file, invalid data
        or option), reported in one line on stderr unless ``--debug`` is given, 130 when
        interrupted.

    Examples
    --------
    >>> from heartlang_sk.cli import main
    >>> main(["tokenize", "no/such/folder"])  # the message goes to stderr
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    debug = getattr(args, "debug", False)
    context = contextlib.nullcontext() if debug else _one_line_warnings()
    with context:
        try:
            return args.run(args) or 0
        except KeyboardInterrupt:
            if debug:
                raise
            print("heartlang-sk: interrupted", file=sys.stderr)
            return 130
        except USER_ERRORS as error:
            if debug:
                raise
            message = " ".join(str(error).split()) or type(error).__name__
            sys.stdout.flush()  # what was printed before the error comes first
            print(f"heartlang-sk: error: {message}", file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
