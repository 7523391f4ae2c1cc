"""``heartlang-sk plot``: the standard pictures of whatever saved files are given."""

from __future__ import annotations

import time
from pathlib import Path

from ._common import (_curves_picture, _folder, _load_pretrainer, _load_sentences, _load_vocabulary,
                      _pretraining_pictures, _stage, _tokenization_pictures, _vocabulary_pictures)
from ._options import _add_trust_pickle, _number_list


def add_parser(commands, output):
    """Add the ``plot`` subcommand."""
    plot = commands.add_parser(
        "plot", parents=[output], help="draw the standard pictures from saved files",
        description="Draw the standard pictures of whatever saved files are given: records and "
                    "their beats (sentences), reconstructions, top words and map (vocabulary, "
                    "with sentences), training curves (vocabulary, pretrainer, history CSV).")
    plot.add_argument("--sentences", help="the sentences/ folder from 'heartlang-sk tokenize'")
    plot.add_argument("--vocabulary", help="vocabulary.safetensors")
    plot.add_argument("--pretrainer", help="pretrainer.safetensors")
    _add_trust_pickle(plot)
    plot.add_argument("--history", action="append", default=[],
                      help="a training history CSV (repeatable)")
    plot.add_argument("--records", type=_number_list(int), default=(0,),
                      help="records whose tokenization to draw (default 0)")
    plot.add_argument("--map", default="pca", choices=("pca", "tsne"),
                      help="2-D projection of the vocabulary map (default pca)")
    plot.set_defaults(run=_plot)


def _plot(args):
    import pandas as pd

    from ..plotting.training import plot_training_curves
    from ..report import Report

    if not (args.sentences or args.vocabulary or args.pretrainer or args.history):
        raise ValueError("nothing to plot: give --sentences, --vocabulary, --pretrainer and/or "
                         "--history")
    start = time.perf_counter()
    sentences = _load_sentences(args.sentences, args.trust_pickle) if args.sentences else None
    vocabulary = _load_vocabulary(args.vocabulary, args.trust_pickle) if args.vocabulary else None
    pretrainer = _load_pretrainer(args.pretrainer, args.trust_pickle) if args.pretrainer else None
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

