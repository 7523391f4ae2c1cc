"""Why does masked pre-training barely beat the random-initialised encoder? One factor at a time.

Usage::

    python benchmarks/pretraining_ablation.py --data ../shared/data/ptbxl-2k [--jobs 2]
        [--pretrain-epochs 10] [--seeds 0,1,2] [--random-init-seeds 0,1,2,3,4]
        [--out benchmarks/results] [--cache /tmp/heartlang_probe_cache]

Same records, split and probe as ``benchmarks/heartlang_probe.py``: pre-training on ptbxl-2k
strat_fold 1-8 minus the probe's validation patients (they give the held-out masked accuracy),
probe trained on folds 1-8 (patient-grouped validation split), tested on fold 9, 100 % regime,
``sklearn`` probe (standardize + one-vs-rest logistic regression, C chosen on validation), macro
AUC on PTBXL-Super and PTBXL-Rhythm, mean and lead pooling.

The reference run (``base``) is the tiny encoder pre-trained for ``--pretrain-epochs`` on the
words of a 2,048-word vocabulary trained for 15 epochs, masking 50 % of the beats (the paper),
repeated over the pre-training seeds ``--seeds``. Every other run changes one thing:

- ``vocab-3-epochs``: a coarser vocabulary (3 epochs, the recipe of ``heartlang_probe.md``);
- ``mask-0.85``, ``mask-0.95``: a higher mask ratio (MAE-style: less context to copy from);
- ``lead-mask-0.5``, ``lead-mask-0.75``: whole leads masked instead of single beats, so that a
  limb-lead beat cannot be read off the unmasked leads of the same instant (Einthoven).

Beyond the paper (issue 13: make pre-training earn its keep), each direction alone and together:

- ``rhythm-input``: the encoder also embeds each beat's R-peak time and RR intervals
  (``temporal_encoding="rhythm"``);
- ``rhythm-beat``, ``rhythm-record``: that, plus a rhythm target beside the masked word (each masked
  beat's RR intervals, or the record's RR statistics from the mean token state);
- ``waveform``: each masked beat's samples as a target beside its word (``waveform_weight=1``, a
  masked-autoencoder term: the target keeps the amplitude a word index loses);
- ``rhythm-beat-waveform``: rhythm input with both the beat RR and the waveform targets;
- ``all-records``: pre-training on every ptbxl-2k record outside fold 9 (the probe's validation
  patients included: no labels are used; their "held-out" accuracy is then a training accuracy);
- ``together``: rhythm input + record target + every record outside fold 9;
- ``together-waveform``: rhythm input + beat RR and waveform targets + every record outside fold 9.

A run with ``temporal_encoding="rhythm"`` is compared with random-init encoders of the same
architecture (``random-init-rhythm``). ``--poolings`` may add the embedder's joined poolings
(``mean+std``, ``mean+std+lead``: every pooling is cut from one ``mean+std+lead`` pass);
``--fractions 0.1,1.0 --probe-seeds 0,1,2`` adds the 10 % regime (one draw per probe seed);
``--features`` adds the hand-made features (``ECGFeatures(sampling_rate=100)``) and, for the runs of
``--union`` (variants, ``random-init`` or ``random-init-rhythm``), the concatenation
``FeatureUnion([HeartLangEmbedder(pre), ECGFeatures()])`` computes. ``--seeded-variants`` (default
``base``) are repeated over ``--seeds``, ``--all-seeds`` repeats every variant; ``--vocabulary`` gives
every run the same vocabulary; ``--pretrain-only`` fits (and caches) the models and stops.

Each is compared with random-initialised encoders (``max_epochs=0``) of several initialisation
seeds. Vocabularies, pretrainers, tokenized sentences, embeddings, features and probes are cached
under ``--cache`` (keys of ``_pretraining.py``, as in ``heartlang_probe.py``); ``--jobs`` pre-trainings run in parallel processes, one torch thread
each. Writes ``pretraining_ablation.md`` and ``.csv`` to ``--out``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
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
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (DEFAULT_CACHE, cache_key, cached, comma_list, load_records,  # noqa: E402
                     table)
import _pretraining as recipe  # noqa: E402
from heartlang_sk import HeartLangPretrainer  # noqa: E402
from heartlang_sk._environment import cpu_name, package_version  # noqa: E402
from heartlang_sk.datasets import load_ptbxl2k  # noqa: E402
from heartlang_sk.evaluation import evaluate_embedders  # noqa: E402

TASKS = ("super", "rhythm")
POOLINGS = ("mean", "lead")
ONE_PASS = "mean+std+lead"  # the one embedding pass every pooling of --poolings is cut from
POOLING_PARTS = tuple(ONE_PASS.split("+"))
ROWS = "rows"  # a variant's pre-training records: "protocol" (folds 1-8 minus validation) or "all"
RHYTHM = {"temporal_encoding": "rhythm"}
VOCABULARIES = {"15 epochs": 15, "3 epochs": 3}
RANDOM_INIT = {"random-init": "second", "random-init-rhythm": "rhythm"}  # name: temporal_encoding
VARIANTS = {  # name: (vocabulary, pretrainer changes, what it tests)
    "base": ("15 epochs", {}, "reference: 50 % of the beats masked (the paper)"),
    "vocab-3-epochs": ("3 epochs", {}, "coarser target words"),
    "mask-0.85": ("15 epochs", {"mask_ratio": 0.85}, "less context to copy from"),
    "mask-0.95": ("15 epochs", {"mask_ratio": 0.95}, "almost no context"),
    "lead-mask-0.5": ("15 epochs", {"mask_unit": "lead"}, "whole leads masked"),
    "lead-mask-0.75": ("15 epochs", {"mask_unit": "lead", "mask_ratio": 0.75},
                       "whole leads masked, 3 of 4"),
    "rhythm-input": ("15 epochs", RHYTHM, "R-peak time and RR intervals embedded"),
    "rhythm-beat": ("15 epochs", {**RHYTHM, "rhythm_target": "beat"},
                    "rhythm input + masked beats' RR as a target"),
    "rhythm-record": ("15 epochs", {**RHYTHM, "rhythm_target": "record"},
                      "rhythm input + the record's RR statistics as a target"),
    "waveform": ("15 epochs", {"waveform_weight": 1.0}, "masked beats' samples as a target beside the word"),
    "rhythm-beat-waveform": ("15 epochs", {**RHYTHM, "rhythm_target": "beat", "waveform_weight": 1.0},
                             "rhythm input + masked beats' RR and samples as targets"),
    "all-records": ("15 epochs", {ROWS: "all"}, "pre-training on every record outside fold 9"),
    "together": ("15 epochs", {**RHYTHM, "rhythm_target": "record", ROWS: "all"},
                 "rhythm input + record target + every record outside fold 9"),
    "together-waveform": ("15 epochs", {**RHYTHM, "rhythm_target": "beat", "waveform_weight": 1.0, ROWS: "all"},
                          "rhythm input + beat RR and waveform targets + every record outside fold 9"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--pretrain-lr", type=float, default=2e-3)
    parser.add_argument("--seeds", type=comma_list(int), default="0,1,2", help="pre-training seeds of the base run")
    parser.add_argument("--random-init-seeds", type=comma_list(int), default="0,1,2,3,4")
    parser.add_argument("--variants", type=comma_list(), default=",".join(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="parallel pre-trainings")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--name", default="pretraining_ablation")
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--vocabulary", choices=list(VOCABULARIES), default=None,
                        help="one vocabulary for every run (default: each variant's own)")
    parser.add_argument("--all-seeds", action="store_true", help="every variant over --seeds, not only base")
    parser.add_argument("--seeded-variants", type=comma_list(), default="base",
                        help="the variants repeated over --seeds (the others use its first seed)")
    parser.add_argument("--poolings", type=comma_list(), default="mean,lead")
    parser.add_argument("--fractions", type=comma_list(float), default="1.0")
    parser.add_argument("--probe-seeds", type=comma_list(int), default="0",
                        help="regime draws below 100 %% (100 %% is one draw)")
    parser.add_argument("--features", action="store_true",
                        help="add the hand-made features and their union with the --union runs")
    parser.add_argument("--union", type=comma_list(), default="",
                        help="variants (or random-init, random-init-rhythm) joined with the features (needs --features)")
    parser.add_argument("--union-pooling", default="mean+std")
    parser.add_argument("--pretrain-only", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke-test mode (heartlang_probe.py --quick): a few records per fold, "
                             "one-block models, one epoch; its numbers mean nothing")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    if args.union and not args.features:
        parser.error("--union needs --features (it joins runs with the hand-made features)")
    unknown = sorted(set(args.union) - set(args.variants) - set(RANDOM_INIT))
    if unknown:
        parser.error(f"--union {unknown}: not among --variants or {list(RANDOM_INIT)}")
    if args.union and args.union_pooling not in args.poolings:
        parser.error(f"--union-pooling {args.union_pooling} must be one of --poolings")
    if args.poolings[:2] != list(POOLINGS):
        parser.error("--poolings must start with mean,lead (the reference table uses them)")
    cut = [p for p in args.poolings if not set(p.split("+")) <= set(POOLING_PARTS)]
    if cut:
        parser.error(f"--poolings {cut}: each must join parts of {ONE_PASS} "
                     "(they are cut from one such pass)")
    return args


def vocabulary_label(args, variant):
    return args.vocabulary or VARIANTS[variant][0]


def variant_seeds(args, variant):
    return list(args.seeds) if variant in args.seeded_variants or args.all_seeds else [args.seeds[0]]


def pretraining_rows_of(meta, rows, protocol_rows):
    """``"protocol"``: the protocol's pre-training rows; ``"all"``: every record outside fold 9."""
    if rows == "all":
        return np.flatnonzero(meta["strat_fold"].to_numpy() != 9)
    return protocol_rows


def probe_args(args, vocab_epochs):
    """heartlang_probe's settings for one vocabulary (its caching keys and parameters)."""
    return recipe.recipe_args(["--data", args.data, "--cache", args.cache, "--vocab-epochs",
                             str(vocab_epochs), "--vocab-decay", "0.9" if vocab_epochs <= 3
                             else "0.99", "--pretrain-epochs", str(args.pretrain_epochs),
                             "--pretrain-lr", str(args.pretrain_lr), "--threads", "1"]
                            + (["--quick", "--quick-records", "8"] if args.quick else []))


def fit_vocabulary(args, label, meta, S):
    return recipe.fit_vocabulary(probe_args(args, VOCABULARIES[label]), meta, S, "qrs")


def fit_pretrainer(args, label, changes, seed, meta, S):
    """One pre-training (cached); runs in a worker process with one torch thread."""
    torch.set_num_threads(1)
    pargs = probe_args(args, VOCABULARIES[label])
    train_rows, held_rows, data_key, rows_key = recipe.cache_keys(pargs, meta)
    vocabulary = fit_vocabulary(args, label, meta, S)["value"]
    changes = dict(changes)
    rows = changes.pop(ROWS, "protocol")
    if rows != "protocol":
        train_rows = pretraining_rows_of(meta, rows, train_rows)
        rows_key = rows_key + [rows, len(train_rows), int(train_rows.sum())]
    params = dict(recipe.pretrainer_params(pargs), random_state=seed, **changes)
    key = cache_key(data_key, rows_key, "qrs", recipe.vocabulary_params(pargs), params)
    return cached(args.cache, "pretrainer-ablation", key, lambda: HeartLangPretrainer(
        vocabulary, **params).fit(S[train_rows], validation_sentences=S[held_rows]))


def embeddings(pretrainer, S, train_rows, poolings=POOLINGS, cache=None, key=None):
    """Each pooling of ``poolings``, cut from one ``mean+std+lead`` pass of the encoder (cached by ``key``)."""
    if cache is not None:
        full = cached(cache, "ablation-embedding", cache_key(key), lambda: recipe.embed(
            pretrainer, ONE_PASS, S, train_rows))["value"]
    else:
        full = recipe.embed(pretrainer, ONE_PASS, S, train_rows)
    dim = pretrainer.embed_dim_
    parts = {"mean": full[:, :dim], "std": full[:, dim:2 * dim], "lead": full[:, 2 * dim:]}
    return {pooling: np.hstack([parts[part] for part in pooling.split("+")]) for pooling in poolings}


def probe_auc(args, meta_all, runs):
    """Macro AUC (%) of every run's embeddings on each task and regime, probe sklearn."""
    rows = []
    for task in TASKS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            X, Y, meta = load_ptbxl2k(args.data, task=task)
            index = meta_all.index.get_indexer(meta.index)
            keep = index >= 0  # --quick: only the records that were embedded
            X, Y, meta, index = X[keep], Y[keep], meta[keep], index[keep]
            named = {f"{run}|{pooling}": Z[index] for run, by_pooling in runs.items()
                     for pooling, Z in by_pooling.items()}
            # One cached probe per embedding (keyed by its values), so that a re-run with more runs
            # probes only the new ones.
            result = pd.concat([cached(args.cache, "ablation-probe", cache_key(
                name, hashlib.sha1(np.ascontiguousarray(Z).tobytes()).hexdigest(), task,
                list(args.fractions), list(args.probe_seeds)), lambda name=name, Z=Z: evaluate_embedders(
                    {name: Z}, X, Y, meta, methods=("sklearn",), fractions=tuple(args.fractions),
                    seeds=tuple(args.probe_seeds)))["value"] for name, Z in named.items()], ignore_index=True)
        for _, r in result.iterrows():
            run, pooling = r.model.split("|")
            rows.append({"run": run, "task": task, "pooling": pooling, "regime": r.regime,
                         "probe_seed": r.seed, "test_auc": 100 * r.test_auc, "C": r.params["C"]})
    return pd.DataFrame(rows)


def _fmt_spread(values, spec=".2f"):
    """``mean ± std`` of several values (sample std), the value alone for one."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(values.mean(), spec)} ± {format(values.std(ddof=1), spec)}"


def reference_name(variant):
    """The random-init encoder of the same architecture as ``variant``."""
    changes = VARIANTS[variant][1] if variant in VARIANTS else {}
    return "random-init-rhythm" if changes.get("temporal_encoding") == "rhythm" else "random-init"


def report(args, frame, info, wall):
    full = frame[(frame["regime"] == "100%") & frame["pooling"].isin(POOLINGS)]
    full = full[full["probe_seed"] == full["probe_seed"].min()]
    auc = full.pivot_table(index="run", columns=["task", "pooling"], values="test_auc")
    random_runs = [f"random-init@{s}" for s in args.random_init_seeds]
    ref = auc.loc[random_runs].mean()
    ref_median = auc.loc[random_runs].median()
    lines = [
        "# Masked pre-training ablation on ptbxl-2k: what moves HeartLang above the random-init "
        "encoder?", "",
        f"**{recipe.SCOPE}.**", "",
        f"- Command: `python benchmarks/pretraining_ablation.py {shlex.join(args.argv)}`",
        f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.platform()}, {cpu_name()}, {os.cpu_count()} cores visible, "
        f"{args.jobs} pre-trainings in parallel with one torch thread each",
        f"- Versions: torch {package_version('torch')}, skorch {package_version('skorch')}, "
        f"scikit-learn {package_version('scikit-learn')}",
        f"- Wall time of this run: {wall:.0f} s (cached models count only as loading)", "",
        "Setup: `HeartLangPretrainer(size='tiny', max_epochs="
        f"{args.pretrain_epochs}, lr={args.pretrain_lr}, batch_size=64)` on the words of an "
        "`ECGVocabulary(size='tiny', n_words=2048, batch_size=32)` (15 epochs, EMA decay 0.99; or "
        "3 epochs, decay 0.9 as in `heartlang_probe.md`), both fitted on the pre-training records. "
        "Probe: 100 % regime, `sklearn`, seed 0, fold 9; macro AUC (%). Random-init: "
        f"`max_epochs=0`, initialisation seeds {', '.join(map(str, args.random_init_seeds))}.", "",
    ]
    columns = [f"{title} {pooling}" for title in ("Super", "Rhythm") for pooling in POOLINGS]

    def cells(runs):
        return [_fmt_spread(auc.loc[runs, (task, pooling)]) if len(runs) > 1
                else f"{auc.loc[runs[0], (task, pooling)]:.2f}"
                for task in TASKS for pooling in POOLINGS]

    rows = [["random-init (no pre-training)", "the baseline", "–", "–", "0", *cells(random_runs)],
            ["random-init: median [min – max]", "", "", "", ""] + [
                f"{ref_median[(t, p)]:.2f} [{auc.loc[random_runs, (t, p)].min():.2f} – "
                f"{auc.loc[random_runs, (t, p)].max():.2f}]" for t in TASKS for p in POOLINGS]]
    for variant in args.variants:
        runs = [f"{variant}@{seed}" for seed in variant_seeds(args, variant)]
        label, what = vocabulary_label(args, variant), VARIANTS[variant][2]
        seeds = (f" (pre-training seeds {', '.join(map(str, variant_seeds(args, variant)))})"
                 if len(runs) > 1 else "")
        rows.append([f"{variant}{seeds}", what, f"{label} ({info['vocab ' + label]:.3f})",
                     _fmt_spread([100 * info[r]["held_acc"] for r in runs]),
                     f"{np.mean([info[r]['cpu'] for r in runs]):.0f}", *cells(runs)])
    lines += table(["run", "what it tests", "vocabulary (held-out R²)", "held-out masked acc. (%)",
                    "pre-training CPU s", *columns], rows)
    lines += ["", "Cells: mean ± std over seeds where a run has several; one run otherwise.", "",
              "## HeartLang − random-init, AUC points: against the mean / the median of its seeds",
              ""]
    rows = []
    for variant in args.variants:
        runs = [f"{variant}@{seed}" for seed in variant_seeds(args, variant)]
        gain, gain_median = auc.loc[runs].mean() - ref, auc.loc[runs].mean() - ref_median
        rows.append([variant] + [f"{gain[(t, p)]:+.2f} / {gain_median[(t, p)]:+.2f}"
                                 for t in TASKS for p in POOLINGS])
    lines += table(["run", *columns], rows)
    spread = auc.loc[random_runs].std(ddof=1)
    best = (auc.drop(index=[r for r in auc.index if r.startswith("random-init") or r == "features"
                            or r.endswith("+features")]) - ref_median)
    chosen = full.set_index(["run", "task", "pooling"])["C"]
    worst = {(t, p): auc.loc[random_runs, (t, p)].idxmin() for t in TASKS for p in POOLINGS}
    outliers = [f"{run} on {t} with {p} pooling scores {auc.loc[run, (t, p)]:.2f} (probe C = "
                f"{chosen[(run, t, p)]:g} chosen on validation), {ref_median[(t, p)] - auc.loc[run, (t, p)]:.1f} "
                f"below the median" for (t, p), run in worst.items()
                if ref_median[(t, p)] - auc.loc[run, (t, p)] > 3 * max(spread[(t, "mean")], 0.5)]
    lines += ["", "## Findings (computed from this run)", "",
              f"- Random-init spread over its initialisation seeds (std): Super "
              f"{spread[('super', 'mean')]:.2f} (mean pooling), Rhythm {spread[('rhythm', 'mean')]:.2f}.",
              f"- Largest gain of any pre-trained run over the random-init median: Super "
              f"{best[('super', 'mean')].max():+.2f} (mean pooling, {best[('super', 'mean')].idxmax()}),"
              f" {best[('super', 'lead')].max():+.2f} (lead pooling); Rhythm "
              f"{best[('rhythm', 'mean')].max():+.2f} (mean, {best[('rhythm', 'mean')].idxmax()}), "
              f"{best[('rhythm', 'lead')].max():+.2f} (lead). The floor of issue 5 is +5.",
              "- Smallest: Super "
              f"{best[('super', 'mean')].min():+.2f} (mean), Rhythm {best[('rhythm', 'mean')].min():+.2f}"
              " (mean).", ""]
    if outliers:
        lines.insert(-1, "- Random-init outliers (they pull its mean down; the median is the fairer "
                         "reference): " + "; ".join(outliers) + ".")
    return "\n".join(lines)


def _groups(frame):
    """Run name -> group: ``base@1`` -> ``base``; ``features`` and ``x@0+features`` -> ``x+features``."""
    return frame["run"].str.replace(r"@\d+", "", regex=True)


def directions_report(args, frame):
    """Each direction alone and together at every regime, against its matched random-init."""
    frame = frame.assign(group=_groups(frame))
    # evaluate_embedders repeats the 100 % row for every probe seed (one fit): count it once, so that
    # a random-init std is over its initialisation seeds only.
    frame = frame[(frame["regime"] != "100%") | (frame["probe_seed"] == frame["probe_seed"].min())]
    regimes = [r for r in ("1%", "10%", "100%") if r in set(frame["regime"])]
    order = (["random-init", "random-init-rhythm"] + list(args.variants) + ["features"]
             + [f"{u}+features" for u in args.union])
    groups = [g for g in order if g in set(frame["group"])]
    columns = [(task, regime) for task in TASKS for regime in regimes]
    lines = ["## Each direction alone and together (issue 13)", "",
             "Macro AUC (%), fold 9, probe `sklearn`. Cells: mean ± std over every pre-training seed × "
             f"regime draw (probe seeds {', '.join(map(str, args.probe_seeds))}; 100 % is one draw per model); "
             "random-init rows over their initialisation seeds. `random-init-rhythm` is the random encoder "
             "with the rhythm embedding, the fair reference for the rhythm runs. `+features`: the embedding "
             "(pooling `" + args.union_pooling + "`) concatenated with `ECGFeatures(sampling_rate=100)` "
             "(what `FeatureUnion([HeartLangEmbedder(pre), ECGFeatures()])` computes).", ""]
    summary = frame.groupby(["group", "pooling", "task", "regime"])["test_auc"].agg(["mean", "std", "count"])

    def cell(group, pooling, task, regime):
        if (group, pooling, task, regime) not in summary.index:
            return "–"
        row = summary.loc[(group, pooling, task, regime)]
        return f"{row['mean']:.2f}" + (f" ± {row['std']:.2f}" if row["count"] > 1 else "")

    titles = [f"{t.capitalize()} {r}" for t, r in columns]
    for pooling in args.poolings:
        rows = []
        for group in groups:
            pool = pooling
            if group.endswith("features"):  # the features and the unions: one row, in the first table
                if pooling != args.poolings[0]:
                    continue
                pool = "-"
            n = frame[frame["group"] == group]["run"].nunique()
            rows.append([group, n, *(cell(group, pool, t, r) for t, r in columns)])
        lines += [f"### Pooling `{pooling}`", "", *table(["run", "n", *titles], rows), ""]
    rows, floors = [], []
    for variant in args.variants:
        ref = reference_name(variant)
        cells = []
        for task, regime in columns:
            run, reference = (variant, "mean", task, regime), (ref, "mean", task, regime)
            if run not in summary.index or reference not in summary.index:
                cells.append("–")
                continue
            gain = summary.loc[run, "mean"] - summary.loc[reference, "mean"]
            spread = summary.loc[reference, "std"]
            cells.append(f"{gain:+.2f} ({spread:.2f})")
            if regime in ("10%", "100%"):
                floors.append((variant, task, regime, gain, spread))
        rows.append([variant, *cells])
    lines += ["### Gain over the matched random-init (AUC points, mean pooling; random-init std in brackets)", "",
              *table(["run", *titles], rows)]
    rows = []
    for variant, task, regime, gain, spread in floors:
        met = gain >= 3 and gain > 2 * spread
        rows.append([f"{variant} − {reference_name(variant)}, {task} {regime}, mean pooling",
                     f"{gain:+.2f} (random-init std {spread:.2f})", "≥ +3 and > 2 std",
                     "yes" if met else "**no**"])
    for union in args.union:
        for task in TASKS:
            for regime in ("1%", "10%"):
                key, ref = (f"{union}+features", "-", task, regime), ("features", "-", task, regime)
                if key in summary.index and ref in summary.index:
                    gain = summary.loc[key, "mean"] - summary.loc[ref, "mean"]
                    rows.append([f"{union} + features − features, {task} {regime}", f"{gain:+.2f}", "≥ +1",
                                 "yes" if gain >= 1 else "**no**"])
    lines += ["", "### Floors of issue 13", "", *table(["check", "measured", "needed", "met"], rows)]
    return "\n".join(lines + [""])


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    pargs = probe_args(args, 15)
    X, meta = load_records(pargs.data, pargs.quick, pargs.quick_records)
    S = recipe.tokenize(pargs, X, meta, "qrs")
    train_rows, held_rows, _, _ = recipe.cache_keys(pargs, meta)
    labels = sorted({vocabulary_label(args, v) for v in args.variants})
    vocabularies = dict(zip(labels, Parallel(n_jobs=min(args.jobs, len(labels)))(
        delayed(fit_vocabulary)(args, label, meta, S) for label in labels)))
    jobs = [(f"{v}@{seed}", vocabulary_label(args, v), VARIANTS[v][1], seed)
            for v in args.variants for seed in variant_seeds(args, v)]
    fitted = Parallel(n_jobs=args.jobs)(delayed(fit_pretrainer)(args, label, changes, seed, meta, S)
                                        for _, label, changes, seed in jobs)
    if args.pretrain_only:
        return None
    info = {f"vocab {label}": float(v["value"].history_["valid_r2"].iloc[-1])
            for label, v in vocabularies.items()}
    runs = {}
    for (name, label, changes, _), result in zip(jobs, fitted):
        pre = result["value"]
        info[name] = {"cpu": result["cpu_seconds"],
                      "held_acc": float(pre.history_["valid_masked_accuracy"].iloc[-1])}
        runs[name] = embeddings(pre, S, train_rows, args.poolings, args.cache,
                                [name, label, changes, args.pretrain_epochs, args.pretrain_lr, len(S)])
    encodings = {name: encoding for name, encoding in RANDOM_INIT.items()
                 if name == "random-init" or name in args.union
                 or any(reference_name(v) == name for v in args.variants)}
    for name, encoding in encodings.items():
        for seed in args.random_init_seeds:
            pre = HeartLangPretrainer(None, size="tiny", depth=pargs.depth, max_epochs=0, random_state=seed,
                                      device="cpu", temporal_encoding=encoding).fit(S[train_rows])
            runs[f"{name}@{seed}"] = embeddings(pre, S, train_rows, args.poolings, args.cache,
                                                [name, seed, encoding, len(S), int(train_rows.sum())])
    if args.features:
        from heartlang_sk.baselines.features import ECGFeatures

        features = cached(args.cache, "ablation-features", cache_key(len(X), "ECGFeatures(100)"),
                                lambda: ECGFeatures(sampling_rate=100).fit_transform(X))["value"]
        for name in [n for n in list(runs) if n.split("@")[0] in args.union]:
            runs[f"{name}+features"] = {"-": np.hstack([runs[name][args.union_pooling], features])}
        runs["features"] = {"-": features}
    frame = probe_auc(args, meta, runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = frame.assign(
        held_out_masked_accuracy=frame["run"].map(lambda r: info.get(r, {}).get("held_acc")),
        pretraining_cpu_seconds=frame["run"].map(lambda r: info.get(r, {}).get("cpu", 0.0)))
    frame.to_csv(out / f"{args.name}.csv", index=False)
    text = report(args, frame, info, time.perf_counter() - start)
    if (len(args.poolings) > 2 or args.fractions != [1.0] or args.features
            or any(v in args.variants for v in ("rhythm-input", "rhythm-beat", "rhythm-record", "all-records",
                                                "together", "waveform", "rhythm-beat-waveform",
                                                "together-waveform"))):
        text += "\n" + directions_report(args, frame)
    (out / f"{args.name}.md").write_text(text)
    print(text)
    return frame


if __name__ == "__main__":
    main()
