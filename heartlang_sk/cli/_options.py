"""Option types and the option groups the subcommands share (output, training, input, protocol).

Every function here only builds or parses ``argparse`` arguments; nothing runs a stage.
"""

from __future__ import annotations

import argparse
import ast

DEFAULT_OUT = "heartlang-sk-output"


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


def _seconds(text):
    """A positive number of seconds (``--window``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


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
    options.add_argument("--window", type=_seconds, default=None, metavar="SECONDS",
                         help="cut every record into consecutive windows of SECONDS (e.g. 10, the "
                              "model's length; the last window ends at the record's end), one "
                              "sentence each, instead of cropping records of unequal length to "
                              "the shortest; prints the windows per record (default off)")
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


def _add_trust_pickle(parser):
    """``--trust-pickle``: the only way the CLI opens a joblib/pickle file."""
    parser.add_argument("--trust-pickle", action="store_true",
                        help="also open .joblib/.pkl files (models and sentences saved by older versions "
                             "or by your own Python): loading a pickle runs any code inside it, so only "
                             "for files you made yourself")


def _add_fit_inputs(parser, estimator, example):
    """The saved sentences a training subcommand fits on, and ``--param`` for the estimator."""
    parser.add_argument("sentences", help="the sentences/ folder from 'heartlang-sk tokenize'")
    _add_trust_pickle(parser)
    parser.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                        help=f"any other {estimator} parameter, e.g. {example} (repeatable)")



def _add_recipe(parser):
    """``--recipe``: the pre-training objective (``heartlang_sk.models.heartlang.PRETRAINING_RECIPES``)."""
    parser.add_argument("--recipe", default="rhythm", choices=("rhythm", "paper"),
                        help="pre-training recipe: 'rhythm' (default; R-peak times and RR intervals "
                             "embedded, masked beats' RR and samples as targets beside the word: "
                             "benchmarks/results/pretraining_ablation_issue13.md) or 'paper' "
                             "(HeartLang as published)")
