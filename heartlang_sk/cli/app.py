"""heartlang-sk: HeartLang, the self-supervised ECG language model, one stage per command.

  tokenize    RECORDS                       -> sentences/ (a sentence store), records.csv, tokenization PNGs
  vocabulary  SENTENCES                     -> vocabulary.safetensors, history CSV, vocabulary PNGs
  pretrain    SENTENCES --vocabulary FILE   -> pretrainer.safetensors, history CSV, training curves
  embed       INPUT --pretrainer FILE       -> embeddings (.csv, .parquet or .npy)
  evaluate    DATA [--pretrainer FILE]      -> PTB-XL probe results, ROC curves, report.md
  plot        [--sentences/--vocabulary/--pretrainer/--history FILE]  -> the standard PNGs
  demo        [--ptbxl PATH]                -> the whole job, results table, report.md
  align       DATA                          -> aligner.safetensors, history CSV (MELP ECG-report pre-training)
  zeroshot    DATA --aligner FILE           -> per-class zero-shot scores CSV

Models are written as .safetensors model files and sentences as a folder of .npy arrays, which load
no code; a .joblib/.pkl file is opened only with --trust-pickle (a pickle runs the code it names).
A user mistake prints one line (``heartlang-sk: error: ...``) and exits with status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings

from . import demo, embed, evaluate, melp, plot, tokenize, train
from ._options import _input_options, _output_options, _training_options

__all__ = ["build_parser", "main"]

USER_ERRORS = (ValueError, OSError, ImportError)


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

    tokenize.add_parser(commands, output, inputs)
    train.add_parsers(commands, output, training)
    embed.add_parser(commands, inputs)
    evaluate.add_parser(commands, output)
    plot.add_parser(commands, output)
    demo.add_parser(commands, output)
    melp.add_commands(commands, output, training)
    return parser


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
