"""HeartLang linear probe on ptbxl-2k: pre-trained vs random-initialised encoder vs ablation vs baselines.

Usage::

    python benchmarks/heartlang_probe.py --data ../shared/data/ptbxl-2k [--size tiny]
        [--vocab-epochs 3] [--pretrain-epochs 30] [--tasks super,sub,form,rhythm] [--seeds 0,1,2]
        [--fractions 0.01,0.1,1.0] [--methods sklearn,torch] [--n-words 2048] [--pooling mean,lead]
        [--out benchmarks/results] [--cache /tmp/heartlang_probe_cache] [--quick]

(``--help`` lists the vocabulary and pre-training settings; the defaults are the recipe reported in
``benchmarks/results/heartlang_probe.md``.)

1. Tokenize every ptbxl-2k record (100 Hz) with :class:`~heartlang_sk.QRSTokenizer` and with the
   ablation's :class:`~heartlang_sk.preprocessing.window_tokenizer.FixedWindowTokenizer`.
2. Pre-training records: strat_fold 1-8 only. The validation patients of
   :func:`~heartlang_sk.evaluation.protocol_split` (15 % of the fold 1-8 patients, seed 0) are held
   out of pre-training and give the validation curves; fold 9 is never seen before the probe.
   For each tokenization an :class:`~heartlang_sk.ECGVocabulary` is fitted, then a
   :class:`~heartlang_sk.HeartLangPretrainer` predicts the masked beats' words.
3. Embeddings (:class:`~heartlang_sk.HeartLangEmbedder`, frozen encoder) of every record:
   ``heartlang`` (QRS tokens, pre-trained), ``random-init`` (the same encoder size,
   ``HeartLangPretrainer(max_epochs=0)``, QRS tokens), ``fixed-window`` (fixed 0.96-s windows, its own
   vocabulary and the same pre-training recipe). They go through
   :func:`~heartlang_sk.evaluation.evaluate_embedders`, and the hand-made ``features`` and ``raw``
   signal baselines through :func:`~heartlang_sk.evaluation.evaluate_baselines`, with the protocol
   of ``benchmarks/baselines.py``: train folds 1-8 with a patient-grouped validation split, test
   fold 9, regimes 1 / 10 / 100 %, probe selected on validation only, macro ROC-AUC.
4. References and diagnostics: random-init encoders with other initialisation seeds (the spread of
   that baseline), a bag-of-words of the vocabulary's words (the targets without an encoder), a
   per-layer probe, and the test-fold R² of RR-interval statistics regressed on each embedding
   (does it carry rhythm context?).

Fitted models and tokenized sentences are cached (joblib) under ``--cache``, keyed by their
settings, training records and the package source, so a re-run of the evaluation does not
retrain (and a model fitted by other code is never reused). Writes
``heartlang_probe.md`` (command, date, machine, versions, training times, curves, tables beside
:data:`~heartlang_sk.evaluation.PUBLISHED`), ``heartlang_probe.csv`` (one row per probe fit),
``heartlang_probe_pretraining.csv`` (per-epoch histories) and ``heartlang_probe_curves.png`` to
``--out``. Every number in the report is computed by this script; ``--tried`` adds the
"what we tried" table from a CSV of earlier runs' summaries (written by ``--log-tried``).

``--quick`` runs the whole pipeline on a handful of records per fold with tiny settings (for the
smoke test); its numbers mean nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (DEFAULT_CACHE, TASK_TITLES, cache_key, cached, comma_list,  # noqa: E402
                     load_records, published_cell, summary_cell, table)
from _pretraining import (SCOPE, add_model_arguments, add_recipe_arguments,  # noqa: E402
                          apply_quick, cache_keys, embed, fit_vocabulary, pretrainer_params,
                          tokenize, vocabulary_params)
from heartlang_sk import HeartLangPretrainer  # noqa: E402
from heartlang_sk._environment import cpu_name, package_version  # noqa: E402
from heartlang_sk.datasets import load_ptbxl2k  # noqa: E402
from heartlang_sk.evaluation import (PUBLISHED_FRACTIONS,  # noqa: E402
                                     evaluate_baselines, evaluate_embedders, protocol_split,
                                     regime_name, summarize)

HEARTLANG_MODELS = ("heartlang", "random-init", "fixed-window")
BASELINES = ("features", "raw")
MODEL_LABELS = {
    "heartlang": "HeartLang (QRS tokens, pre-trained)",
    "random-init": "random-init encoder (QRS tokens, no pre-training)",
    "fixed-window": "fixed-window tokens, pre-trained (ablation)",
    "bag-of-words": "bag of ECG words (the vocabulary's words per record, no encoder)",
    "features": "hand-made features",
    "raw": "raw signal",
}
FLOOR_POINTS = 5.0  # HeartLang must beat the random-init encoder by this much (macro AUC points)


# -- arguments ---------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder")
    add_model_arguments(parser)
    parser.add_argument("--tasks", type=comma_list(), default="super,sub,form,rhythm")
    parser.add_argument("--seeds", type=comma_list(int), default="0,1,2")
    parser.add_argument("--fractions", type=comma_list(float), default="0.01,0.1,1.0")
    parser.add_argument("--methods", type=comma_list(), default="sklearn,torch",
                        help="probes: sklearn for every embedding; torch (the paper's linear head) "
                             "too for the encoders with the first pooling, if listed")
    parser.add_argument("--pooling", type=comma_list(), default="mean,lead",
                        help="HeartLangEmbedder pooling(s), comma-separated: mean and/or lead; "
                             "the first one is the headline (floors)")
    parser.add_argument("--random-init-seeds", type=comma_list(int), default="0,1,2,3,4",
                        help="initialisation seeds of extra random-init encoders: the spread of the "
                             "no-pre-training baseline over its random weights (100%% regime)")
    add_recipe_arguments(parser)
    parser.add_argument("--no-window", action="store_true", help="skip the fixed-window ablation")
    parser.add_argument("--no-diagnostics", action="store_true",
                        help="skip the diagnostics (per-layer probe, rhythm-context regression)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--name", default="heartlang_probe", help="stem of the output files")
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--tried", default=None,
                        help="CSV of earlier configurations' summaries, shown as 'what we tried'")
    parser.add_argument("--log-tried", default=None,
                        help="append this run's configuration and 100%% results to that CSV")
    parser.add_argument("--label", default="", help="name of this configuration in --log-tried")
    parser.add_argument("--quick", action="store_true",
                        help="smoke-test mode: a few records per fold, tiny models, one epoch")
    parser.add_argument("--quick-records", type=int, default=12,
                        help="records per fold in --quick mode")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    unknown = [task for task in args.tasks if task not in TASK_TITLES]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; choose from {list(TASK_TITLES)}")
    args.poolings = args.pooling
    if not args.poolings or any(p not in ("mean", "lead") for p in args.poolings):
        parser.error("--pooling must be mean and/or lead")
    if "sklearn" not in args.methods:
        parser.error("--methods must include sklearn (the floors and diagnostics use it)")
    apply_quick(args)
    if args.quick:
        args.random_init_seeds = args.random_init_seeds[:2]
    return args


# -- models ----------------------------------------------------------------------------------------
def fit_models(args, X, meta):
    """Tokenize, fit the vocabularies and pretrainers (cached); returns everything the report needs."""
    torch.set_num_threads(args.threads)
    train_rows, held_rows, data_key, rows_key = cache_keys(args, meta)
    kinds = ["qrs"] if args.no_window else ["qrs", "window"]
    sentences, models = {}, {}
    for kind in kinds:
        S = sentences[kind] = tokenize(args, X, meta, kind)
        vocab = fit_vocabulary(args, meta, S, kind)
        vparams, pparams = vocabulary_params(args), pretrainer_params(args)
        pre = cached(args.cache, f"pretrainer-{kind}",
                     cache_key(data_key, rows_key, kind, vparams, pparams),
                     lambda: HeartLangPretrainer(vocab["value"], **pparams,
                                                 verbose=not args.quick).fit(
                         S[train_rows], validation_sentences=S[held_rows]))
        models[kind] = {"vocabulary": vocab, "pretrainer": pre}
    rparams = dict(size=args.size, depth=args.depth, max_epochs=0, random_state=args.random_state,
                   device="cpu")
    models["random"] = {"pretrainer": cached(
        args.cache, "pretrainer-random", cache_key(data_key, rows_key, rparams),
        lambda: HeartLangPretrainer(None, **rparams).fit(sentences["qrs"][train_rows]))}
    return sentences, models, train_rows, held_rows


def model_name(source, pooling):
    """``heartlang`` (mean pooling) or ``heartlang+lead`` (lead pooling)."""
    return source if pooling == "mean" else f"{source}+{pooling}"


def model_label(name):
    source, _, pooling = name.partition("+")
    label = MODEL_LABELS.get(source, source)
    return f"{label}, {pooling} pooling" if pooling else label


def embed_all(args, sentences, models, train_rows):
    """Frozen-encoder embedding of every record for each HeartLang model and pooling."""
    sources = {"heartlang": ("qrs", models["qrs"]["pretrainer"]["value"]),
               "random-init": ("qrs", models["random"]["pretrainer"]["value"])}
    if "window" in models:
        sources["fixed-window"] = ("window", models["window"]["pretrainer"]["value"])
    embeddings, seconds = {}, {}
    for pooling in args.poolings:
        for source, (kind, pretrainer) in sources.items():
            name = model_name(source, pooling)
            start = time.perf_counter()
            embeddings[name] = embed(pretrainer, pooling, sentences[kind], train_rows)
            seconds[name] = time.perf_counter() - start
            print(f"[embed] {name}: {embeddings[name].shape} in {seconds[name]:.1f} s",
                  file=sys.stderr)
    return embeddings, seconds


def random_init_spread(args, sentences, train_rows):
    """Embeddings of random-init encoders with other initialisation seeds (cheap: no training)."""
    embeddings = {}
    for seed in args.random_init_seeds:
        pretrainer = HeartLangPretrainer(None, size=args.size, depth=args.depth, max_epochs=0,
                                         random_state=seed, device="cpu").fit(
            sentences["qrs"][train_rows])
        for pooling in args.poolings:
            embeddings[f"{model_name('random-init', pooling)}@{seed}"] = embed(
                pretrainer, pooling, sentences["qrs"], train_rows)
    return embeddings


def bag_of_words(vocabulary, S):
    """Per record, the frequency of each ECG word (square-rooted): the targets without an encoder."""
    words = vocabulary.transform(S)
    n_words = len(vocabulary.codebook_)
    counts = np.stack([np.bincount(w[w >= 0], minlength=n_words) for w in words]).astype(float)
    return np.sqrt(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0))


@torch.no_grad()
def layer_embeddings(encoder, S, batch_size=128):
    """Mean-pooled state after the input embedding (layer 0) and after each transformer block,
    each through the encoder's final LayerNorm (the last one is what the embedder returns)."""
    from heartlang_sk.nn import masked_mean
    from heartlang_sk.nn.attention import key_padding_attention_mask

    encoder.eval()
    parts = [[] for _ in range(len(encoder.blocks) + 1)]
    for start in range(0, len(S), batch_size):
        batch = S[start:start + batch_size].to_dict()
        tokens, leads, times = (torch.from_numpy(batch[k]) for k in ("tokens", "leads", "times"))
        padding = leads == 0
        x = encoder.embed(tokens, leads, times)
        mask = key_padding_attention_mask(padding)
        states = [x]
        for block in encoder.blocks:
            x = block(x, mask)
            states.append(x)
        for layer, state in enumerate(states):
            parts[layer].append(masked_mean(encoder.norm(state), padding).numpy())
    return [np.concatenate(p) for p in parts]


RHYTHM_TARGETS = ("heart_rate", "rr_cv", "rmssd_ratio", "pnn50")


def rhythm_context(X, meta, embeddings):
    """Test-fold R² of a ridge regression (fit on folds 1-8) of RR statistics from each embedding:
    does the embedding carry rhythm context? Targets from ``ECGFeatures`` (lead I RR intervals)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from heartlang_sk.baselines.features import ECGFeatures

    features = ECGFeatures(sampling_rate=100)
    F = features.fit_transform(X)
    names = list(features.get_feature_names_out())
    fold = meta["strat_fold"].to_numpy()
    train, test = fold <= 8, fold == 9
    rows = {}
    for name, Z in embeddings.items():
        rows[name] = {}
        for target in RHYTHM_TARGETS:
            y = F[:, names.index(target)]
            ok = np.isfinite(y)
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
            model.fit(Z[train & ok], y[train & ok])
            rows[name][target] = model.score(Z[test & ok], y[test & ok])
    return pd.DataFrame(rows).T


def diagnostics(args, X, meta, sentences, models, embeddings, spread):
    """Per-layer probe of HeartLang and random-init, rhythm-context regression (cheap, cached
    models only)."""
    torch.set_num_threads(args.threads)
    ids = meta.index
    layers = {}
    for source, key in (("heartlang", "qrs"), ("random-init", "random")):
        for layer, Z in enumerate(layer_embeddings(models[key]["pretrainer"]["value"].encoder_,
                                                   sentences["qrs"])):
            layers[f"{source}@L{layer}"] = Z
    parts = []
    for task in args.tasks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            Xt, Y, mt = load_ptbxl2k(args.data, task=task)
            if args.quick:
                keep = ids.get_indexer(mt.index) >= 0
                Xt, Y, mt = Xt[keep], Y[keep], mt[keep]
            rows = ids.get_indexer(mt.index)
            parts.append(evaluate_embedders({k: Z[rows] for k, Z in layers.items()}, Xt, Y, mt,
                                            methods=("sklearn",), fractions=(1.0,),
                                            seeds=(args.seeds[0],)))
    layer_results = pd.concat(parts, ignore_index=True)
    regress = dict(embeddings)
    regress.update(spread or {})
    return {"layers": layer_results, "rhythm": rhythm_context(X, meta, regress)}


def evaluate(args, X_all, meta_all, embeddings, spread):
    """Every task through the probe protocol: HeartLang embeddings and the two baselines; the
    random-init spread (``spread``) at 100 % only, probe ``sklearn``."""
    parts, spread_parts, splits = [], [], {}
    ids = meta_all.index
    for task in args.tasks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unlabelled records dropped
            X, Y, meta = load_ptbxl2k(args.data, task=task)
        if args.quick:
            keep = ids.get_indexer(meta.index) >= 0
            X, Y, meta = X[keep], Y[keep], meta[keep]
        rows = ids.get_indexer(meta.index)
        pool, valid, test = protocol_split(meta)
        splits[task] = {"records": len(meta), "pool": len(pool), "valid": len(valid),
                        "test": len(test), "classes": Y.shape[1],
                        "test_classes": int((Y.iloc[test].nunique() == 2).sum()),
                        "pool_positives": Y.iloc[pool].sum().astype(int).to_dict(),
                        "test_positives": Y.iloc[test].sum().astype(int).to_dict()}
        protocol = dict(fractions=args.fractions, seeds=args.seeds)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parts.append(evaluate_baselines(X, Y, meta, methods=("sklearn",), **protocol))
            parts.append(evaluate_embedders({name: Z[rows] for name, Z in embeddings.items()},
                                            X, Y, meta, methods=("sklearn",), **protocol))
            # The torch head (slower) for the headline pooling's encoders only.
            torch_models = {name: Z[rows] for name, Z in embeddings.items()
                            if name in [model_name(src, args.poolings[0])
                                        for src in HEARTLANG_MODELS]}
            if "torch" in args.methods and torch_models:
                parts.append(evaluate_embedders(torch_models, X, Y, meta, methods=("torch",),
                                                **protocol))
            if spread:
                spread_parts.append(evaluate_embedders(
                    {name: Z[rows] for name, Z in spread.items()}, X, Y, meta,
                    methods=("sklearn",), fractions=(1.0,), seeds=(args.seeds[0],)))
        print(f"[probe] {task}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    spread_results = pd.concat(spread_parts, ignore_index=True) if spread_parts else None
    return pd.concat(parts, ignore_index=True), spread_results, splits


# -- report ------------------------------------------------------------------------------------------
def histories(models):
    """Per-epoch histories of every fitted vocabulary and pretrainer, one tidy frame."""
    frames = []
    for kind, fitted in models.items():
        for stage in ("vocabulary", "pretrainer"):
            if stage in fitted and len(fitted[stage]["value"].history_):
                frames.append(fitted[stage]["value"].history_.assign(tokens=kind, stage=stage))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plot_curves(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    colours = {"qrs": "C0", "window": "C1"}
    names = {"qrs": "QRS tokens", "window": "fixed windows"}
    for kind, part in history.groupby("tokens"):
        pre = part[part["stage"] == "pretrainer"]
        voc = part[part["stage"] == "vocabulary"]
        c = colours.get(kind, "k")
        axes[0].plot(pre["epoch"], pre["train_loss"], "-o", color=c, label=f"{names[kind]} train")
        if "valid_loss" in pre:
            axes[0].plot(pre["epoch"], pre["valid_loss"], "--s", color=c, label=f"{names[kind]} held-out")
        axes[1].plot(pre["epoch"], 100 * pre["train_masked_accuracy"], "-o", color=c,
                     label=f"{names[kind]} train")
        if "valid_masked_accuracy" in pre:
            axes[1].plot(pre["epoch"], 100 * pre["valid_masked_accuracy"], "--s", color=c,
                         label=f"{names[kind]} held-out")
        if len(voc):
            axes[2].plot(voc["epoch"], voc["train_r2"], "-o", color=c, label=f"{names[kind]} train")
            if "valid_r2" in voc:
                axes[2].plot(voc["epoch"], voc["valid_r2"], "--s", color=c,
                             label=f"{names[kind]} held-out")
    axes[0].set(title="masked pre-training: loss (cross-entropy)", xlabel="epoch")
    axes[1].set(title="masked pre-training: masked-word accuracy (%)", xlabel="epoch")
    axes[2].set(title="vocabulary (VQ-HBR): reconstruction R²", xlabel="epoch")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


COMMON_MIN = 10  # training positives for a class to count as "common" in the diagnostics


def common_auc(results, splits, model, task, method="sklearn", fraction=1.0):
    """Mean test AUC (%) over the classes with >= COMMON_MIN training-pool positives (seed mean)."""
    rows = results[(results["model"] == model) & (results["task"] == task)
                   & (results["method"] == method) & np.isclose(results["fraction"], fraction)]
    if not len(rows) or task not in splits:
        return None
    common = [c for c, n in splits[task]["pool_positives"].items() if n >= COMMON_MIN]
    values = [np.mean([r[c] for c in common if c in r]) for r in rows["per_class_auc"]]
    return 100 * float(np.mean(values))


def per_class_table(results, splits, task, models, method="sklearn"):
    """Test AUC (%) per class at 100 % (seed 0) with the training-pool and test positives."""
    classes = list(splits[task]["pool_positives"])
    header = ["model"] + classes
    rows = [["training-pool positives"] + [splits[task]["pool_positives"][c] for c in classes],
            ["test positives"] + [splits[task]["test_positives"][c] for c in classes]]
    for model in models:
        sel = results[(results["model"] == model) & (results["task"] == task)
                      & (results["method"] == method) & np.isclose(results["fraction"], 1.0)]
        if not len(sel):
            continue
        auc = sel.iloc[0]["per_class_auc"]
        rows.append([model_label(model)] + [f"{100 * auc[c]:.1f}" if c in auc else "–"
                                             for c in classes])
    return table(header, rows)


def spread_stats(spread, task, pooling):
    """Random-init encoders over their initialisation seeds: (mean, std, min, max) AUC in %."""
    if spread is None:
        return None
    name = model_name("random-init", pooling)
    values = 100 * spread[(spread["task"] == task)
                          & (spread["model"].str.partition("@")[0] == name)]["test_auc"]
    if not len(values):
        return None
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, \
        float(values.min()), float(values.max()), len(values)


def floor_checks(summary, spread, poolings, method="sklearn"):
    """The floors of the brief at 100 %, as rows (check, measured, needed, met)."""
    rows = []
    for pooling in poolings:
        hl_name, rnd_name = model_name("heartlang", pooling), model_name("random-init", pooling)
        suffix = "" if pooling == "mean" else f" ({pooling} pooling)"
        for task in ("super", "rhythm"):
            hl = summary_cell(summary, hl_name, task, method, 1.0, "test_auc_mean")
            rnd = summary_cell(summary, rnd_name, task, method, 1.0, "test_auc_mean")
            raw = summary_cell(summary, "raw", task, "sklearn", 1.0, "test_auc_mean")
            if hl is None or rnd is None or raw is None:
                continue
            gap = 100 * (hl - rnd)
            rows.append([f"{TASK_TITLES[task]} 100%{suffix}: HeartLang − random-init",
                         f"{gap:+.2f}", f"≥ +{FLOOR_POINTS:g}",
                         "yes" if gap >= FLOOR_POINTS else "**no**"])
            spread_row = spread_stats(spread, task, pooling)
            if spread_row is not None:
                mean, std, _, _, n = spread_row
                gap = 100 * hl - mean
                rows.append([f"{TASK_TITLES[task]} 100%{suffix}: HeartLang − mean of {n} "
                             "random-init seeds", f"{gap:+.2f} (random-init std {std:.2f})",
                             f"≥ +{FLOOR_POINTS:g}", "yes" if gap >= FLOOR_POINTS else "**no**"])
            rows.append([f"{TASK_TITLES[task]} 100%{suffix}: HeartLang − raw signal",
                         f"{100 * (hl - raw):+.2f}", "> 0", "yes" if hl > raw else "**no**"])
    return rows


def model_stats(models):
    """Vocabulary and pre-training facts (times, use of the codebook, final accuracy) per model."""
    stats = {}
    for kind, fitted in models.items():
        pre = fitted["pretrainer"]
        h = pre["value"].history_
        entry = {"pretrain_wall": pre["wall_seconds"], "pretrain_cpu": pre["cpu_seconds"],
                 "pretrain_epochs": len(h),
                 "pretrain_epoch_mean": float(h["dur"].mean()) if len(h) else 0.0}
        if len(h):
            last = h.iloc[-1]
            entry.update(train_acc=last.get("train_masked_accuracy"),
                         valid_acc=last.get("valid_masked_accuracy"),
                         train_loss=last.get("train_loss"), valid_loss=last.get("valid_loss"))
        if "vocabulary" in fitted:
            voc = fitted["vocabulary"]
            v, vh = voc["value"], voc["value"].history_
            entry.update(vocab_wall=voc["wall_seconds"], vocab_cpu=voc["cpu_seconds"],
                         vocab_epochs=len(vh), vocab_epoch_mean=float(vh["dur"].mean()),
                         active_words=v.n_active_words_, n_words=len(v.codebook_),
                         perplexity=v.perplexity_, vocab_train_r2=vh["train_r2"].iloc[-1],
                         vocab_valid_r2=vh["valid_r2"].iloc[-1] if "valid_r2" in vh else None)
        stats[kind] = entry
    return stats


def _fmt(value, spec=".3f"):
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def report(args, results, spread, splits, models, stats, embed_seconds, n_train, n_held, wall,
           n_records, tried, diag=None):
    summary = summarize(results)
    model_order = [m for m in [model_name(src, p) for p in args.poolings for src in HEARTLANG_MODELS]
                   + ["bag-of-words", *BASELINES] if m in set(results["model"])]
    regimes = [regime_name(f) for f in args.fractions]
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/heartlang_probe.py",
                                                            *args.argv])
    vparams, pparams = vocabulary_params(args), pretrainer_params(args)
    lines = [
        "# HeartLang linear probe on ptbxl-2k: pre-trained vs random-init vs fixed windows vs baselines",
        "",
        f"**{SCOPE}.**" + (" **`--quick` smoke run: the numbers mean nothing.**" if args.quick else ""),
        "",
        f"- Command: `{command}`",
        f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.platform()}, {cpu_name()}, {os.cpu_count()} cores visible, torch threads "
        f"{args.threads}, BLAS threads {os.environ.get('OMP_NUM_THREADS')}; shared with other jobs "
        "(times are wall-clock under that contention)",
        f"- Versions: python {platform.python_version()}, heartlang-sk {package_version('heartlang-sk')}, "
        f"torch {package_version('torch')}, skorch {package_version('skorch')}, numpy {package_version('numpy')}, "
        f"scikit-learn {package_version('scikit-learn')}, pandas {package_version('pandas')}",
        f"- Wall time of this run: {wall:.0f} s (models loaded from the cache count only as loading; "
        "their training times are below)",
        "",
        "## Pre-training",
        "",
        f"Records: {n_records} ptbxl-2k records (12 leads, 100 Hz). Pre-training uses strat_fold 1–8 "
        f"only: {n_train} records; the {n_held} records of the probe protocol's validation patients "
        "(15 % of the fold 1–8 patients, `protocol_split`, seed 0) are held out of pre-training and "
        "give the held-out curves. Fold 9 is never seen before the probe.",
        "",
        f"- `ECGVocabulary({', '.join(f'{k}={v!r}' for k, v in vparams.items())})`, other "
        "parameters at their defaults (β 1, k-means init, dead-word restart every 20 updates).",
        f"- `HeartLangPretrainer(vocabulary, {', '.join(f'{k}={v!r}' for k, v in pparams.items())})`"
        ", other parameters at their defaults (AdamW β (0.9, 0.98), weight decay 0.05, cosine to "
        "1e-5, gradient clip 3).",
        f"- random-init: `HeartLangPretrainer(None, size={args.size!r}, depth={args.depth!r}, "
        f"max_epochs=0, random_state={args.random_state})`.",
        "- Embeddings: `HeartLangEmbedder(pretrainer, pooling=...)`, frozen encoder; pooling "
        + " and ".join(f"`{p!r}`" for p in args.poolings) + (" (mean over the sentence's beats; "
        "lead: mean per lead, concatenated)" if "lead" in args.poolings else "") + ".",
        "",
    ]
    header = ["tokens", "vocabulary: epochs", "wall s (per epoch)", "CPU s", "active words",
              "perplexity", "R² train / held-out", "pre-training: epochs", "wall s (per epoch)",
              "CPU s", "masked acc. train / held-out", "loss train / held-out"]
    rows = []
    for kind in ("qrs", "window"):
        if kind not in stats:
            continue
        s = stats[kind]
        rows.append([{"qrs": "QRS", "window": "fixed window"}[kind], s["vocab_epochs"],
                     f"{s['vocab_wall']:.0f} ({s['vocab_epoch_mean']:.0f})", f"{s['vocab_cpu']:.0f}",
                     f"{s['active_words']} / {s['n_words']}", f"{s['perplexity']:.1f}",
                     f"{_fmt(s['vocab_train_r2'])} / {_fmt(s['vocab_valid_r2'])}",
                     s["pretrain_epochs"],
                     f"{s['pretrain_wall']:.0f} ({s['pretrain_epoch_mean']:.0f})",
                     f"{s['pretrain_cpu']:.0f}",
                     f"{_fmt(100 * s['train_acc'], '.1f')} / {_fmt(100 * s['valid_acc'], '.1f')}",
                     f"{_fmt(s['train_loss'])} / {_fmt(s['valid_loss'])}"])
    lines += table(header, rows)
    lines += ["", "Active words and perplexity: the vocabulary's words over the pre-training "
              "records' beats (final model). CPU s: process CPU time (both threads) of the fit.", "",
              f"![pre-training curves]({args.name}_curves.png)", "",
              f"Per-epoch numbers: `{args.name}_pretraining.csv`.", ""]
    lines += ["## Protocol", "",
              "As `benchmarks/baselines.py`: train on strat_fold 1–8, report on fold 9 (ptbxl-2k has "
              "no fold 10). Validation: 15 % of the training patients (`GroupShuffleSplit` on "
              "`patient_id`, seed 0), the same for every regime and seed. Regimes: that fraction of "
              "the remaining training records (`few_shot_indices`, every class represented where "
              "possible), one draw per seed. Probe `sklearn`: standardize, one-vs-rest logistic "
              "regression, C ∈ {0.001, 0.01, 0.1, 1} chosen by validation macro AUC; probe `torch`: "
              "the paper's linear head (AdamW lr 5e-3, best validation epoch of 100). Metric: macro "
              "ROC-AUC (%) on fold 9 over the classes with both labels present. Cells: mean ± std "
              f"over seeds {', '.join(map(str, args.seeds))} (100 % is one draw: ± 0.00 for "
              "`sklearn`).", ""]
    lines += table(["task", "records", "train pool", "validation", "test (fold 9)", "classes",
                     "classes scored on test"],
                    [[TASK_TITLES[t], s["records"], s["pool"], s["valid"], s["test"],
                      s["classes"], s["test_classes"]] for t, s in splits.items()])
    for method in args.methods + (["sklearn"] if "sklearn" not in args.methods else []):
        present = [m for m in model_order if ((results["model"] == m)
                                              & (results["method"] == method)).any()]
        if not present:
            continue
        lines += ["", f"## Measured: macro AUC (%) on ptbxl-2k fold 9, probe `{method}` — {SCOPE}",
                  ""]
        header = ["model"] + [f"{TASK_TITLES[t]} {r}" for t in args.tasks for r in regimes]
        rows = [[model_label(m)] + [summary_cell(summary, m, t, method, f) or "–" for t in args.tasks
                                     for f in args.fractions] for m in present]
        lines += table(header, rows)
    lines += ["", "## Floors (probe `sklearn`, 100 % regime)", ""]
    lines += table(["check", "measured (AUC points)", "needed", "met"],
                    floor_checks(summary, spread, args.poolings))
    lines += findings(args, summary, spread, diag, results, splits)
    if spread is not None:
        lines += ["", "## The random-init baseline depends on its random weights", "",
                  "The same random-init encoder with other initialisation seeds "
                  f"({', '.join(map(str, args.random_init_seeds))}), same protocol, 100 %, probe "
                  f"`sklearn`, validation/draw seed {args.seeds[0]}: macro AUC (%) mean ± std "
                  "[min – max] over the initialisation seeds, beside HeartLang (one pre-training "
                  "run).", ""]
        header = ["task"] + [f"{model_label(model_name('random-init', p))}: over seeds"
                             for p in args.poolings] + [
            model_label(model_name("heartlang", p)) for p in args.poolings]
        rows = []
        for task in args.tasks:
            row = [TASK_TITLES[task]]
            for p in args.poolings:
                st = spread_stats(spread, task, p)
                row.append("–" if st is None else
                           f"{st[0]:.2f} ± {st[1]:.2f} [{st[2]:.2f} – {st[3]:.2f}]")
            row += [summary_cell(summary, model_name("heartlang", p), task, "sklearn", 1.0) or "–"
                    for p in args.poolings]
            rows.append(row)
        lines += table(header, rows)
    lines += ["", "## Per-class test AUC (%), probe `sklearn`, 100 % regime", "",
              "Macro AUC averages every class scored on fold 9, including classes with one or two "
              "training records (rhythm SVTAC, PSVT, AFLT, PACE, BIGU), whose AUC swings by tens of "
              "points between encoders and moves the macro AUC by several points. The last "
              f"table of this section averages the classes with ≥ {COMMON_MIN} training-pool "
              "positives only.", ""]
    models_present = [m for m in model_order if m in set(results["model"])]
    common_rows = []
    for task in args.tasks:
        lines += [f"**{TASK_TITLES[task]}**", ""]
        lines += per_class_table(results, splits, task, models_present)
        lines += [""]
        common_rows.append([TASK_TITLES[task]] + [_fmt(common_auc(results, splits, m, task), ".2f")
                                                  for m in models_present])
    lines += [f"Mean test AUC (%) over classes with ≥ {COMMON_MIN} training-pool positives, "
              "100 %, probe `sklearn`, seed mean:", ""]
    lines += table(["task"] + [model_label(m) for m in models_present], common_rows)
    if diag is not None:
        lines += diagnostics_section(args, diag)
    lines += ["", "## Beside the published numbers (not measured here; SPEC §5)", "",
              "HeartLang: ICLR 2025 paper, pre-trained on MIMIC-IV-ECG (800k records), full PTB-XL "
              "test fold 10. Workshop rows: pre-trained on PTB-XL only, Small model, 100 % only. "
              f"Measured rows: {SCOPE}; compare orders of magnitude, not decimals.", ""]
    header = ["model"] + [f"{TASK_TITLES[t]} {regime_name(f)}" for t in args.tasks
                          for f in PUBLISHED_FRACTIONS]
    rows = [[f"{model} (published)"] + [published_cell(model, t, f) for t in args.tasks
                                        for f in PUBLISHED_FRACTIONS]
            for model in ("HeartLang", "HeartLang Small (workshop, PTB-XL pre-training)",
                          "random-init Small (workshop)")]
    for m in [model_name(src, p) for p in args.poolings for src in ("heartlang", "random-init")]:
        rows.append([f"{model_label(m)} (measured, sklearn)"] + [
            summary_cell(summary, m, t, "sklearn", f) or "–" for t in args.tasks
            for f in PUBLISHED_FRACTIONS])
    lines += table(header, rows)
    if tried is not None and len(tried):
        lines += ["", "## What we tried (each row one full vocabulary + pre-training run; probe "
                  "`sklearn`, 100 %, macro AUC % on fold 9)", "",
                  "Rows are logged by this script (`--log-tried`) from each run's own results. "
                  "Cells: HeartLang / random-init (seed 0) [/ random-init mean ± std over init "
                  "seeds, where that run computed it]; common classes: the rhythm classes with "
                  f"≥ {COMMON_MIN} training-pool positives.", ""]
        lines += table(list(tried.columns), tried.astype(str).values.tolist())
    lines += ["", "## Embedding times", "",
              "; ".join(f"{name} {seconds:.1f} s" for name, seconds in embed_seconds.items()),
              "", "## Files", "",
              f"- `{args.name}.csv`: one row per probe fit (model, task, regime, seed, method, test "
              "and validation AUC, chosen hyper-parameter, sizes); `part` tells the main protocol "
              "from the random-init seed spread (`random-init@<seed>`).",
              f"- `{args.name}_pretraining.csv`: per-epoch vocabulary and pre-training histories.",
              f"- `{args.name}_curves.png`: the curves above.", ""]
    return "\n".join(lines)


def findings(args, summary, spread, diag, results, splits):
    """Bullet points computed from this run's numbers: what the floors show and why."""
    def auc(model, task, fraction=1.0):
        value = summary_cell(summary, model, task, "sklearn", fraction, "test_auc_mean")
        return None if value is None else 100 * value

    out = []
    head = args.poolings[0]
    hl, rnd = model_name("heartlang", head), model_name("random-init", head)
    for task in ("super", "rhythm"):
        a, b, raw = auc(hl, task), auc(rnd, task), auc("raw", task)
        if None in (a, b, raw):
            continue
        st = spread_stats(spread, task, head)
        text = (f"{TASK_TITLES[task]}, 100 %: HeartLang {a:.2f} vs random-init {b:.2f} "
                f"({a - b:+.2f} points; floor +{FLOOR_POINTS:g}: "
                f"{'met' if a - b >= FLOOR_POINTS else 'not met'}); raw signal {raw:.2f} "
                f"({'beaten' if a > raw else 'not beaten'}).")
        if st is not None:
            text += (f" The random-init encoder alone, over {st[4]} initialisation seeds, scores "
                     f"{st[0]:.2f} ± {st[1]:.2f} (range {st[2]:.2f}–{st[3]:.2f}): HeartLang is "
                     f"{(a - st[0]) / st[1]:+.1f} standard deviations from its mean."
                     if st[1] > 0 else "")
        out.append(text)
    features = {t: auc("features", t) for t in ("super", "rhythm")}
    if features["super"] is not None and auc(rnd, "super") is not None:
        best = max(v for v in (auc(model_name(src, p), "super") for src in HEARTLANG_MODELS
                               for p in args.poolings) if v is not None)
        needed = auc(rnd, "super") + FLOOR_POINTS
        out.append(f"PTBXL-Super: the hand-made features reach {features['super']:.2f} and the "
                   f"best encoder embedding here {best:.2f}; HeartLang would need {needed:.2f} "
                   "to clear the floor against the random-init encoder"
                   + (", above every representation measured on this subset."
                      if max(best, features["super"]) < needed else "."))
    if diag is not None:
        layers = summarize(diag["layers"])
        gaps = []
        for task in args.tasks:
            vals = [summary_cell(layers, f"random-init@L{k}", task, "sklearn", 1.0, "test_auc_mean")
                    for k in range(len(models_depth(diag)))]
            vals = [v for v in vals if v is not None]
            if len(vals) > 1:
                gaps.append(100 * (max(vals) - min(vals)))
        if gaps:
            close = max(gaps) < 1.0
            r_super = auc(rnd, "super")
            text = (f"Per-layer probe of the random-init encoder: it varies by at most "
                    f"{max(gaps):.2f} points from L0 (beat stem + lead/time embedding) to the "
                    "last block")
            if close:
                text += (", i.e. the random transformer (residual branches initialised small) is "
                         "close to the identity and the random-init baseline is a bag of random "
                         "convolutional features of R-peak-aligned, z-scored beats, a strong "
                         "morphology descriptor")
                if features["super"] is not None and r_super is not None:
                    text += (f" (PTBXL-Super {r_super:.2f}, hand-made features "
                             f"{features['super']:.2f})")
            out.append(text + ".")
        rhythm = diag["rhythm"]
        irregular = [t for t in RHYTHM_TARGETS if t != "heart_rate"]
        if hl in rhythm.index and rnd in rhythm.index:
            best = rhythm.loc[[n for n in rhythm.index], irregular].max().max()
            gain = (rhythm.loc[hl, irregular] - rhythm.loc[rnd, irregular]).max()
            out.append(f"Rhythm context: R² of the RR-irregularity statistics ({', '.join(irregular)}) "
                       f"from the HeartLang embedding is "
                       f"{', '.join(f'{rhythm.loc[hl, t]:.2f}' for t in irregular)} vs "
                       f"{', '.join(f'{rhythm.loc[rnd, t]:.2f}' for t in irregular)} for "
                       f"random-init; no encoder embedding exceeds {best:.2f}. Heart rate: "
                       f"{rhythm.loc[hl, 'heart_rate']:.2f} vs {rhythm.loc[rnd, 'heart_rate']:.2f}. "
                       + ("Masked-word pre-training on this data does not put beat-to-beat timing "
                          "into the representation." if gain < 0.1 and best < 0.3 else
                          "Pre-training adds some beat-to-beat timing information."))
    bow = auc("bag-of-words", "super"), auc("bag-of-words", "rhythm")
    if None not in bow and auc(hl, "super") is not None:
        h = auc(hl, "super"), auc(hl, "rhythm")
        out.append(f"The vocabulary's words alone (bag of words, no encoder): super {bow[0]:.2f}, "
                   f"rhythm {bow[1]:.2f}, vs HeartLang {h[0]:.2f} and {h[1]:.2f}"
                   + (": the encoder adds little to the targets it learns to predict."
                      if max(h[0] - bow[0], h[1] - bow[1]) < 2.0 else "."))
    if "rhythm" in splits:
        rare = [c for c, n in splits["rhythm"]["pool_positives"].items()
                if 0 < n < COMMON_MIN and splits["rhythm"]["test_positives"].get(c, 0) > 0]
        hc, rc = (common_auc(results, splits, m, "rhythm") for m in (hl, rnd))
        if rare and hc is not None and rc is not None:
            out.append(f"PTBXL-Rhythm macro AUC includes {len(rare)} scored classes with fewer "
                       f"than {COMMON_MIN} training-pool positives ({', '.join(rare)}); over the "
                       f"common classes HeartLang scores {hc:.2f} and random-init {rc:.2f}.")
    return ["", "## Findings (computed from this run)", ""] + [f"- {line}" for line in out]


def models_depth(diag):
    """Layer indices present in the per-layer probe."""
    names = diag["layers"]["model"]
    return sorted({int(n.partition("@L")[2]) for n in names if "@L" in n})


def diagnostics_section(args, diag):
    """Report lines: per-layer probe and rhythm-context regression."""
    layers = summarize(diag["layers"])
    lines = ["", "## Diagnostics: where is the information?", "",
             "**Per-layer linear probe** (mean pooling of the state after the input embedding, L0 = "
             "beat stem + lead/time embedding, and after each transformer block, each through the "
             f"final LayerNorm; 100 %, probe `sklearn`, seed {args.seeds[0]}; macro AUC %). If "
             "L0 ≈ the last layer, the transformer adds nothing a linear probe can use.", ""]
    sources = [src for src in ("heartlang", "random-init")
               if layers["model"].str.startswith(src + "@").any()]
    n_layers = layers["model"].str.partition("@L")[2].astype(int).max() + 1
    header = ["task / encoder"] + [f"L{k}" for k in range(n_layers)]
    rows = []
    for task in args.tasks:
        for src in sources:
            rows.append([f"{TASK_TITLES[task]} {MODEL_LABELS[src].split(' (')[0]}"] + [
                summary_cell(layers, f"{src}@L{k}", task, "sklearn", 1.0) or "–"
                for k in range(n_layers)])
    lines += table(header, rows)
    rhythm = diag["rhythm"]
    lines += ["", "**Rhythm context**: test-fold (fold 9) R² of a ridge regression (fit on folds "
              "1–8, α by leave-one-out) of lead-I RR statistics from `ECGFeatures` — heart rate, "
              "RR coefficient of variation, RMSSD / mean RR, pNN50 — on each embedding. An encoder "
              "that carries rhythm context should explain the RR irregularity (the last three), "
              "which AFIB, SARRH, SVARR and the ectopic rhythms need.", ""]
    order = [n for n in rhythm.index if "@" not in n]
    seeds = {}
    for name in rhythm.index:
        if "@" in name:
            seeds.setdefault(name.partition("@")[0], []).append(name)
    rows = [[model_label(n)] + [f"{rhythm.loc[n, t]:.3f}" for t in RHYTHM_TARGETS] for n in order]
    for base, names in seeds.items():
        block = rhythm.loc[names]
        rows.append([f"{model_label(base)}, {len(names)} init seeds: mean ± std"] + [
            f"{block[t].mean():.3f} ± {block[t].std(ddof=1):.3f}" if len(names) > 1 else
            f"{block[t].mean():.3f}" for t in RHYTHM_TARGETS])
    lines += table(["embedding", *RHYTHM_TARGETS], rows)
    return lines


def tried_row(args, results, spread, splits, summary, stats):
    """One line of the 'what we tried' table for this run (probe sklearn, 100 %)."""
    def auc(model, task):
        value = summary_cell(summary, model, task, "sklearn", 1.0, "test_auc_mean")
        return "–" if value is None else f"{100 * value:.2f}"

    s = stats.get("qrs", {})
    row = {"configuration": args.label or "-", "n_words": args.n_words,
           "vocab epochs / batch / decay": f"{args.vocab_epochs} / {args.vocab_batch_size} / "
                                           f"{args.vocab_decay:g}",
           "active words / perplexity": f"{s.get('active_words', '–')} / "
                                        f"{s.get('perplexity', float('nan')):.0f}",
           "pre-train epochs / lr / mask": f"{args.pretrain_epochs} / {args.pretrain_lr:g} / "
                                           f"{args.mask_ratio:g}",
           "masked acc. held-out %": f"{100 * (s.get('valid_acc') or float('nan')):.1f}",
           "pre-train CPU s": f"{s.get('pretrain_cpu', float('nan')):.0f}"}
    for task in args.tasks:
        for pooling in args.poolings:
            hl, rnd = (model_name(src, pooling) for src in ("heartlang", "random-init"))
            st = spread_stats(spread, task, pooling)
            seeds = "" if st is None else f" / {st[0]:.1f} ± {st[1]:.1f}"
            row[f"{task} {pooling}: HL / random / random seeds"] = (
                f"{auc(hl, task)} / {auc(rnd, task)}{seeds}")
        if task == "rhythm":
            hl, rnd = (model_name(src, args.poolings[0]) for src in ("heartlang", "random-init"))
            hc, rc = (common_auc(results, splits, m, task) for m in (hl, rnd))
            row[f"rhythm {args.poolings[0]} common classes: HL / random"] = (
                f"{_fmt(hc, '.1f')} / {_fmt(rc, '.1f')}")
    return row


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    X, meta = load_records(args.data, args.quick, args.quick_records)
    sentences, models, train_rows, held_rows = fit_models(args, X, meta)
    embeddings, embed_seconds = embed_all(args, sentences, models, train_rows)
    embeddings["bag-of-words"] = bag_of_words(models["qrs"]["vocabulary"]["value"],
                                              sentences["qrs"])
    spread = random_init_spread(args, sentences, train_rows)
    results, spread_results, splits = evaluate(args, X, meta, embeddings, spread)
    diag = None if args.no_diagnostics else diagnostics(
        args, X, meta, sentences, models,
        {k: v for k, v in embeddings.items() if k != "bag-of-words"}, spread)
    wall = time.perf_counter() - start
    stats = model_stats(models)
    summary = summarize(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tried = None
    if args.log_tried:
        path = Path(args.log_tried)
        frame = pd.read_csv(path) if path.exists() else pd.DataFrame()
        row = tried_row(args, results, spread_results, splits, summary, stats)
        frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    if args.tried and Path(args.tried).exists():
        tried = pd.read_csv(args.tried)
    rows = pd.concat([results.assign(part="main")] + ([] if spread_results is None else [
        spread_results.assign(part="random-init seed spread")]), ignore_index=True)
    rows = rows.drop(columns=["per_class_auc"]).assign(params=rows["params"].map(str))
    rows.to_csv(out / f"{args.name}.csv", index=False)
    history = histories(models)
    history.to_csv(out / f"{args.name}_pretraining.csv", index=False)
    if len(history):
        plot_curves(history, out / f"{args.name}_curves.png")
    text = report(args, results, spread_results, splits, models, stats, embed_seconds,
                  len(train_rows), len(held_rows), wall, len(meta), tried, diag)
    if diag is not None:
        diag["layers"].drop(columns=["per_class_auc"]).assign(
            params=diag["layers"]["params"].map(str)).to_csv(out / f"{args.name}_layers.csv",
                                                              index=False)
        diag["rhythm"].to_csv(out / f"{args.name}_rhythm_context.csv")
    (out / f"{args.name}.md").write_text(text)
    print(text)
    return results, summary


if __name__ == "__main__":
    main()
