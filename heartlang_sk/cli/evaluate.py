"""``heartlang-sk evaluate``: the PTB-XL linear-probe protocol on a PTB-XL or ptbxl-2k folder; the
loading of the protocol's folds and its report serve the ``demo`` too."""

from __future__ import annotations

import time
from pathlib import Path


from ._common import (BASELINES, MODEL_NAMES, _command_line, _device_name, _folder, _in_chunks,
                      _load_official, _load_pretrainer, _setup_torch, _stage, _tokenizer, _verbose,
                      _write_csv)
from ._options import _add_trust_pickle, _names, _protocol_options, _training_options


def add_parser(commands, output):
    """Add the ``evaluate`` subcommand."""
    evaluate = commands.add_parser(
        "evaluate", parents=[output, _training_options(epochs=False), _protocol_options()],
        help="the PTB-XL linear-probe protocol",
        description="Linear probes of frozen embeddings on a PTB-XL folder or a ptbxl-2k folder "
                    "(heartlang_sk.evaluation): macro ROC-AUC per regime, ROC curves per class, "
                    "report.md.")
    evaluate.add_argument("data", help="a PTB-XL folder (ptbxl_database.csv) or a ptbxl-2k folder "
                                       "(signals_100hz.npy, labels.csv)")
    evaluate.add_argument("--pretrainer", default=None,
                          help="pretrainer.safetensors to evaluate beside the baselines")
    evaluate.add_argument("--official-checkpoint", metavar="PATH", default=None,
                          help="the released HeartLang masked-pre-training .pth file, evaluated beside "
                               "the baselines (its sentences keep the official truncation)")
    evaluate.add_argument("--baselines", type=_names(BASELINES), default=BASELINES,
                          help="comma-separated, from random-init, features, raw; or none "
                               "(default all)")
    _add_trust_pickle(evaluate)
    evaluate.set_defaults(run=_evaluate)


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
    from ..evaluation import evaluate_embedders, regime_name, regime_table, regime_test_scores

    train, test = folds
    method = args.probe[0] if args.probe else "sklearn"
    protocol = dict(train_folds=train, test_folds=test, fractions=tuple(sorted(args.fractions)),
                    seeds=tuple(args.seeds), methods=tuple(args.probe) or ("sklearn",))
    if not protocol["fractions"] or not protocol["seeds"]:
        raise ValueError("--fractions and --seeds need at least one value each")
    results = evaluate_embedders(embeddings, X, Y, meta, verbose=verbose, **protocol)
    # rows in the caller's order, not summarize's alphabetical one
    table = regime_table(results, models=list(embeddings), methods=protocol["methods"],
                         fractions=protocol["fractions"])
    fraction, seed = protocol["fractions"][-1], protocol["seeds"][0]
    y_test, scores, per_class = regime_test_scores(embeddings, Y, meta, train_folds=train,
                                                   test_folds=test, fraction=fraction, seed=seed,
                                                   method=method)
    return results, table, y_test, scores, per_class, (regime_name(fraction), seed, method)


def _embed_all(models, X, sentences, verbose):
    """Embeddings of every record by each named model (an embedder of sentences, or of X)."""
    embeddings, seconds = {}, {}
    for name, (transform, on_sentences) in models.items():
        start = time.perf_counter()
        # on_sentences: True (the shared sentences), False (the signals) or the model's own sentences
        data = on_sentences if not isinstance(on_sentences, bool) else sentences if on_sentences else X
        embeddings[name] = _in_chunks(transform, data, name, verbose)
        seconds[name] = time.perf_counter() - start
    return embeddings, seconds


def _report_protocol(report, table, per_class, y_test, scores, roc_info, task, results):
    from ..evaluation import published_by_regime
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
    wide = published_by_regime(task)
    if len(wide):
        report.section("Published numbers, for context",
                       "Linear-probe macro ROC-AUC (%) on PTB-XL as published (HeartLang paper and "
                       "its workshop version): other pre-training corpora, model sizes and the "
                       "official test fold, so not directly comparable with the table above.")
        report.table(wide, float_format="{:.2f}")


def _evaluate(args):
    from ..evaluation import baseline_embedders
    from ..io.atomic import write_text_atomic
    from ..report import Report, markdown_table, run_details

    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    if args.pretrainer is None and args.official_checkpoint is None and not args.baselines:
        raise ValueError("nothing to evaluate: give --pretrainer, --official-checkpoint and/or --baselines")
    pretrainer = _load_pretrainer(args.pretrainer, args.trust_pickle, args.device) if args.pretrainer else None
    official = _load_official(args.official_checkpoint, args.device) if args.official_checkpoint else None
    _folder(args.out, create=False)
    X, Y, meta, folds, bandpass = _load_ptbxl_task(args.data, args, verbose)
    out = _folder(args.out)
    rate = float(meta.attrs.get("sampling_rate", 100))
    models = {}
    sentences = None
    if pretrainer is not None or "random-init" in args.baselines:
        tokenizer = _tokenizer(rate, args, verbose, bandpass)
        trained_with = getattr(pretrainer, "preprocessing_", None)
        if trained_with is not None and args.bandpass == "auto" and getattr(args, "normalize", None) is None:
            # The pre-trained encoder reads sentences made as its training sentences were.
            from ..preprocessing.settings import tokenizer_for

            tokenizer = tokenizer_for(trained_with, rate).set_params(verbose=verbose)
            print(f"tokenizing with the pretrainer's settings: bandpass={tokenizer.bandpass}, "
                  f"normalize={tokenizer.normalize}, truncation={tokenizer.truncation!r}")
        sentences = tokenizer.fit_transform(X)
    if pretrainer is not None:
        models["heartlang"] = (_embedder(pretrainer, sentences, args), True)
    if official is not None:
        # The released model read sentences cut with the official truncation (first 256 tokens).
        official_sentences = _tokenizer(rate, args, verbose, bandpass).set_params(
            truncation="official").fit_transform(X)
        models["heartlang-official"] = (_embedder(official, official_sentences, args), official_sentences)
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
    _write_csv(results.drop(columns=["per_class_auc"]), out / "results.csv")
    _write_csv(table, out / "results_table.csv")
    write_text_atomic(out / "results.md", markdown_table(table) + "\n")
    report = Report(out, f"heartlang-sk evaluate: PTB-XL task {args.task}",
                    run_details(_command_line(args), _device_name(args.device)))
    report.details["data"] = (f"{args.data} ({len(X)} records, training folds {list(folds[0])}, "
                              f"test folds {list(folds[1])})")
    if args.pretrainer:
        report.details["pretrainer"] = args.pretrainer
    if args.official_checkpoint:
        report.details["official checkpoint"] = args.official_checkpoint
    _report_protocol(report, table, per_class, y_test, scores, roc_info, args.task, results)
    report.section("Files", "results.csv (one row per fit), results_table.csv and results.md (the "
                            "table above), roc_curves.png.")
    report.details["embedding time"] = ", ".join(f"{MODEL_NAMES[k]} {v:.1f} s"
                                                 for k, v in seconds.items())
    report.details["wall time"] = f"{time.perf_counter() - start:.0f} s"
    report.write()
    _stage(f"wrote report.md, results.csv, results.md and roc_curves.png to {out}/", start)
    return 0


def _embedder(pretrainer, sentences, args):
    from ..models.heartlang.embedder import HeartLangEmbedder

    return HeartLangEmbedder(pretrainer, pooling=args.pooling, device=args.device).fit(
        sentences).transform


def _random_encoder(sentences, args, like=None):
    """The no-pre-training baseline with the command's --size, --seed and --device."""
    from ..evaluation import random_init_encoder

    return random_init_encoder(sentences, like=like, size=args.size, random_state=args.seed,
                               device=args.device)
