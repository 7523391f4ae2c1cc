"""``heartlang-sk demo``: the whole job -- tokenizer, vocabulary, pre-training and linear probes beside
the baselines -- on built-in synthetic ECG or a PTB-XL folder."""

from __future__ import annotations

import time

import numpy as np

from ._common import (MODEL_NAMES, _beats_per_record, _command_line, _device_name, _folder,
                      _pretraining_pictures, _setup_torch, _stage, _tokenization_pictures,
                      _tokenizer, _verbose, _vocabulary_pictures, _write_csv)
from ._demo_zeroshot import zero_shot_row
from ._options import _add_recipe, _protocol_options, _training_options
from .evaluate import (_embed_all, _embedder, _load_ptbxl_task, _probe_protocol, _ptbxl_kind,
                       _random_encoder, _report_protocol)
from .train import _new_pretrainer, _new_vocabulary, _pretrainer_summary, _vocabulary_summary


def add_parser(commands, output):
    """Add the ``demo`` subcommand."""
    demo = commands.add_parser(
        "demo", parents=[output, _training_options(epochs_default=8), _protocol_options()],
        help="the whole job on built-in synthetic ECG (or --ptbxl PATH)",
        description="The whole job: tokenizer -> vocabulary -> pre-training -> linear probes of "
                    "HeartLang embeddings beside a random-initialised encoder, hand-made ECG "
                    "features and the raw signal (on synthetic ECG also a zero-shot row: an "
                    "ECG-report aligner fitted on synthetic template reports, scored with class "
                    "descriptions); prints the results table and writes pictures, "
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
    _add_recipe(demo)
    demo.set_defaults(run=_demo)


FEW_LABELS = 5
"""Training labels per class in the demo's few-label regime."""

ZERO_SHOT_NAME = "MELP zero-shot (synthetic template reports)"
ZERO_SHOT_NOTE = ("Zero-shot row: an ECGReportAligner fitted on the {n_train} training records, each "
                  "paired with a synthetic template report of its class (written for the synthetic "
                  "classes, not recorded reports; heartlang_sk.cli._demo_zeroshot), then a "
                  "ZeroShotECGClassifier scores the held-out records by their similarity to class "
                  "descriptions worded unlike the reports; no labelled examples, but the reports "
                  "name the training classes.")


def _demo(args):
    from ..io.atomic import write_text_atomic
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
    write_text_atomic(out / "results.md",
                      f"# heartlang-sk demo\n\nCommand: `{_command_line(args)}`\n\n{text}\n")
    vocabulary.save_weights(out / "vocabulary.safetensors")
    pretrainer.save_weights(out / "pretrainer.safetensors")
    _write_csv(vocabulary.history_, out / "vocabulary_history.csv")
    _write_csv(pretrainer.history_, out / "pretraining_history.csv")
    report.section("Files", "vocabulary.safetensors and pretrainer.safetensors (the fitted models, "
                            "for `heartlang-sk embed` or `load_weights`; they load no code), "
                            "vocabulary_history.csv, "
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

    print(f"[3/{n_steps}] masked-sentence pre-training ({args.size}, {args.epochs} epochs, recipe "
          f"{args.recipe!r})", flush=True)
    pretrainer = _new_pretrainer(vocabulary, args, verbose, max_epochs=args.epochs,
                                 depth=args.depth).fit(fit_sentences)
    _stage(f"      {_pretrainer_summary(pretrainer)}", start)
    report.section("Masked-sentence pre-training", f"{args.epochs} epochs, recipe {args.recipe!r} "
                                                   f"(heartlang_sk.models.heartlang.PRETRAINING_RECIPES): "
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

    print("[4/5] linear probes on the held-out 30% (logistic regression) and zero-shot "
          "classification", flush=True)

    def probe():
        return LogisticRegression(max_iter=2000)

    # The random encoder has the pre-trained one's architecture (a rhythm embedding with the
    # 'rhythm' recipe), so that the comparison isolates what pre-training learned.
    random_encoder = HeartLangPretrainer(size=args.size, depth=args.depth, max_epochs=0, random_state=args.seed,
                                         device=args.device, temporal_encoding=pretrainer.temporal_encoding)
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
        MODEL_NAMES["raw"]: make_pipeline(RawSignal(sampling_rate=rate), StandardScaler(),
                                          probe()),
    }
    rows, scores = [], {}
    from sklearn.base import clone
    from tqdm.auto import tqdm

    # The few-label regime: FEW_LABELS training records of each class (a seeded draw), the
    # setting where a pre-trained representation should matter most.
    draw = np.random.default_rng(args.seed)
    few = np.concatenate([draw.permutation(np.flatnonzero(y_train == label))[:FEW_LABELS]
                          for label in np.unique(y_train)])
    for name, model in tqdm(candidates.items(), desc="probes", unit="model", disable=not verbose):
        few_model = clone(model).fit(X_train[few], y_train[few])
        few_proba = few_model.predict_proba(X_test)
        model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        scores[name] = proba
        rows.append({"model": name,
                     f"accuracy, {FEW_LABELS} labels/class": accuracy_score(
                         y_test, few_model.classes_[few_proba.argmax(1)]),
                     f"macro AUC, {FEW_LABELS} labels/class": roc_auc_score(
                         y_test, few_proba, multi_class="ovr", average="macro"),
                     "accuracy": accuracy_score(y_test, model.classes_[proba.argmax(1)]),
                     "macro AUC": roc_auc_score(y_test, proba, multi_class="ovr", average="macro")})
    _, _, zero_shot_accuracy, zero_shot_auc = zero_shot_row(
        S_train, y_train, S_test, y_test, size=args.size, depth=args.depth, epochs=args.epochs,
        device=args.device, random_state=args.seed, verbose=verbose)
    # No labelled examples, but the template reports name the training records' classes: the
    # row sits in the all-training-records columns, the few-label ones stay empty.
    rows.append({"model": ZERO_SHOT_NAME, "accuracy": zero_shot_accuracy,
                 "macro AUC": zero_shot_auc})
    table = pd.DataFrame(rows)
    _stage("[5/5] results (synthetic data: a smoke test of the whole job, not a benchmark)", start)
    print(ZERO_SHOT_NOTE.format(n_train=len(X_train)), flush=True)
    report.summary(f"Linear probes (standardized features, logistic regression) fitted on "
                   f"{FEW_LABELS} training records of each class ({len(few)} records), and on all "
                   f"{len(X_train)} training records, scored on the {len(X_test)} held-out records. "
                   f"{ZERO_SHOT_NOTE.format(n_train=len(X_train))} "
                   f"Synthetic data: a smoke test of the whole job, not a benchmark.", table)
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
    from ..evaluation import baseline_embedders

    models = {"heartlang": (_embedder(pretrainer, sentences, args), True),
              "random-init": (_embedder(_random_encoder(sentences, args, pretrainer), sentences,
                                        args), True)}
    for name, embed in baseline_embedders(sampling_rate=rate).items():
        models[name] = (embed, False)
    embeddings, _ = _embed_all(models, X, sentences, verbose)
    embeddings = {MODEL_NAMES[name]: Z for name, Z in embeddings.items()}
    results, table, y_test, scores, per_class, roc_info = _probe_protocol(
        embeddings, X, Y, meta, folds, args, verbose)
    _write_csv(results.drop(columns=["per_class_auc"]), report.folder / "results.csv")
    _stage(f"[5/5] results, task {args.task} (macro ROC-AUC %, mean ± std over seeds)", start)
    _report_protocol(report, table, per_class, y_test, scores, roc_info, args.task, results)
    return vocabulary, pretrainer, table

