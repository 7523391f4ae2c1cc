"""``heartlang-sk align`` and ``heartlang-sk zeroshot``: MELP's ECG–report pre-training and zero-shot
classification from the command line.

Contract: :func:`add_commands` registers both subcommands on the main parser's subparsers; each
reads a PTB-XL folder (``ptbxl_database.csv`` + ``records100/``) or a ``ptbxl-2k`` folder
(``signals_100hz.npy``, ``labels.csv``, ``reports.csv``), writes its outputs under ``--out`` and
prints one line per stage. User errors are ``ValueError``/``FileNotFoundError``, turned into a
one-line message by :func:`heartlang_sk.cli.app.main`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ._options import _add_trust_pickle

__all__ = ["add_commands"]

_LOSSES = ("global", "local", "caption")


def _folds(text):
    from ._options import _folds as parse

    return parse(text)


def _losses(text):
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in _LOSSES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose one or more of {', '.join(_LOSSES)} (comma-separated)")
    return names


def add_commands(commands, output, training):
    """Add ``align`` and ``zeroshot`` to ``commands`` (an argparse subparsers object)."""
    align = commands.add_parser(
        "align", parents=[output, training], help="ECG-report pre-training (MELP)",
        description="Fit an ECGReportAligner on the records of a PTB-XL or ptbxl-2k folder that "
                    "have a free-text report; save it (aligner.safetensors, a model file that loads "
                    "no code) with its history.")
    align.add_argument("data", help="PTB-XL folder or ptbxl-2k folder (with reports.csv)")
    align.add_argument("--folds", type=_folds, default=tuple(range(1, 9)),
                       help="strat_fold values to train on (default 1-8)")
    align.add_argument("--losses", type=_losses, default=_LOSSES,
                       help="comma-separated subset of global,local,caption (default all three)")
    align.add_argument("--text-encoder", default="builtin",
                       help="builtin (default) or a Hugging Face model folder on disk")
    align.add_argument("--init-from", default=None,
                       help="pretrainer.safetensors from 'heartlang-sk pretrain': start the ECG tower from it")
    align.add_argument("--depth", type=int, default=None, help="ECG transformer blocks")
    align.add_argument("--temporal-encoding", default=None, choices=("rhythm", "second"),
                       help="what the ECG tower reads of each beat's time: 'rhythm' (R-peak time and RR "
                            "intervals; the default, measured in benchmarks/results/melp_final.md) or "
                            "'second' (the whole second only, as HeartLang); default: --init-from's "
                            "setting when given, else 'rhythm'")
    align.add_argument("--batch-size", type=int, default=64)
    align.add_argument("--lr", type=float, default=1e-3)
    _add_trust_pickle(align)
    align.set_defaults(run=_align)

    zeroshot = commands.add_parser(
        "zeroshot", parents=[output], help="zero-shot scores of records against class descriptions",
        description="Score each record of a PTB-XL or ptbxl-2k folder against class descriptions "
                    "with a fitted aligner (cosine similarity per class) and write them to a CSV; "
                    "prints the macro AUC where the folder has labels.")
    zeroshot.add_argument("data", help="PTB-XL folder or ptbxl-2k folder")
    zeroshot.add_argument("--aligner", required=True, help="aligner.safetensors from 'heartlang-sk align'")
    zeroshot.add_argument("--task", default="super", choices=("super", "rhythm"),
                          help="PTB-XL label set whose shipped prompts to use (default super)")
    zeroshot.add_argument("--prompts", default=None,
                          help="JSON file {class: [description, ...]} instead of the shipped table")
    zeroshot.add_argument("--folds", type=_folds, default=(9,), help="strat_fold values to score (default 9)")
    _add_trust_pickle(zeroshot)
    zeroshot.set_defaults(run=_zeroshot)


def _read(path, task, folds, verbose):
    """Records, labels and metadata (with ``report``), and the tokenizer's band-pass filter."""
    from ..datasets import load_ptbxl, load_ptbxl2k
    from .evaluate import _ptbxl_kind

    kind = _ptbxl_kind(path)
    if kind == "ptbxl":
        X, Y, meta = load_ptbxl(path, task=task, folds=folds, drop_unlabelled=False, verbose=verbose)
        return X, Y, meta, (0.5, None), meta.attrs["sampling_rate"]
    X, Y, meta = load_ptbxl2k(path, task=task, folds=folds, drop_unlabelled=False)
    return X, Y, meta, None, 100


def _sentences(X, sampling_rate, bandpass, verbose):
    from ..preprocessing.tokenizer import QRSTokenizer

    return QRSTokenizer(sampling_rate=sampling_rate, bandpass=bandpass).fit_transform(X)


def _align(args):
    from ..models.melp.aligner import ECGReportAligner
    from ..models.melp.text import report_words
    from ._common import _folder, _load_pretrainer, _setup_torch, _stage, _verbose, _write_csv

    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    out = _folder(args.out, create=False)
    init_from = _load_pretrainer(args.init_from, args.trust_pickle, args.device) if args.init_from else None
    X, _, meta, bandpass, rate = _read(args.data, "super", args.folds, verbose)
    if "report" not in meta:
        raise ValueError(f"{args.data} has no reports (ptbxl-2k needs reports.csv beside the arrays)")
    usable = meta["report"].map(lambda r: isinstance(r, str) and bool(report_words(r))).to_numpy()
    if not usable.any():
        raise ValueError(f"none of the {len(meta)} records of folds {list(args.folds)} has a report")
    print(f"{args.data}: {int(usable.sum())} of {len(meta)} records in folds {list(args.folds)} have a "
          f"report ({int((~usable).sum())} without one are left out)")
    sentences = _sentences(X[usable], rate, bandpass, verbose)
    encoding = args.temporal_encoding or (
        "rhythm" if init_from is None else getattr(init_from, "temporal_encoding", "second"))
    aligner = ECGReportAligner(size=args.size, text_encoder=args.text_encoder, losses=args.losses,
                               depth=args.depth, init_from=init_from, temporal_encoding=encoding,
                               batch_size=args.batch_size, lr=args.lr,
                               device=args.device, random_state=args.seed, verbose=verbose,
                               **({} if args.epochs is None else {"max_epochs": args.epochs}))
    aligner.fit(sentences, meta["report"].to_numpy()[usable])
    out = _folder(args.out)
    aligner.save_weights(out / "aligner.safetensors")
    _write_csv(aligner.history_, out / "align_history.csv")
    last = aligner.history_.iloc[-1] if len(aligner.history_) else {}
    terms = ", ".join(f"{name} {last[f'train_{name}_loss']:.3f}" for name in args.losses
                      if f"train_{name}_loss" in last)
    if terms:
        print(f"last epoch: {terms}")
    _stage(f"wrote aligner.safetensors and align_history.csv to {out}/", start)
    return 0


def _zeroshot(args):
    import pandas as pd

    from ..models.melp.aligner import ECGReportAligner
    from ..models.melp.prompts import PTBXL_PROMPTS
    from ..models.melp.zeroshot import ZeroShotECGClassifier, check_prompts
    from ._common import _load_model, _stage, _verbose, _write_csv

    start = time.perf_counter()
    verbose = _verbose(args)
    if args.prompts:
        path = Path(args.prompts)
        if not path.is_file():
            raise FileNotFoundError(f"no such prompts file: {path}")
        try:
            prompts = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON: {error}") from None
        prompts = check_prompts(prompts)
    else:
        prompts = PTBXL_PROMPTS[args.task]
    aligner = _load_model(args.aligner, ECGReportAligner, "a fitted ECGReportAligner (aligner.safetensors)",
                          args.trust_pickle)
    X, Y, meta, bandpass, rate = _read(args.data, args.task, args.folds, verbose)
    sentences = _sentences(X, rate, bandpass, verbose)
    clf = ZeroShotECGClassifier(aligner, prompts).fit(sentences)
    scores = clf.decision_function(sentences)
    table = pd.DataFrame(scores, index=meta.index, columns=list(clf.classes_))
    out = Path(args.out)
    if out.suffix != ".csv":
        out.mkdir(parents=True, exist_ok=True)
        out = out / f"zeroshot_{args.task}.csv"
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    _write_csv(table.reset_index(), out)
    if not args.prompts and "labelled" in meta:
        from sklearn.metrics import roc_auc_score

        labelled = meta["labelled"].to_numpy()
        truth = Y.to_numpy()[labelled]
        present = [j for j in range(truth.shape[1]) if 0 < truth[:, j].sum() < len(truth)]
        if present:
            auc = roc_auc_score(truth[:, present], scores[labelled][:, present], average="macro")
            print(f"zero-shot macro AUC on {int(labelled.sum())} labelled records, {len(present)} classes "
                  f"present: {100 * auc:.1f}")
    _stage(f"wrote {len(table)} records x {table.shape[1]} classes to {out}", start)
    return 0
