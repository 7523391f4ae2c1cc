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

Each is compared with random-initialised encoders (``max_epochs=0``) of several initialisation
seeds. Vocabularies, pretrainers and tokenized sentences are cached under ``--cache`` (keys as in
``heartlang_probe.py``); ``--jobs`` pre-trainings run in parallel processes, one torch thread
each. Writes ``pretraining_ablation.md`` and ``.csv`` to ``--out``.
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
VOCABULARIES = {"15 epochs": 15, "3 epochs": 3}
VARIANTS = {  # name: (vocabulary, pretrainer changes, what it tests)
    "base": ("15 epochs", {}, "reference: 50 % of the beats masked (the paper)"),
    "vocab-3-epochs": ("3 epochs", {}, "coarser target words"),
    "mask-0.85": ("15 epochs", {"mask_ratio": 0.85}, "less context to copy from"),
    "mask-0.95": ("15 epochs", {"mask_ratio": 0.95}, "almost no context"),
    "lead-mask-0.5": ("15 epochs", {"mask_unit": "lead"}, "whole leads masked"),
    "lead-mask-0.75": ("15 epochs", {"mask_unit": "lead", "mask_ratio": 0.75},
                       "whole leads masked, 3 of 4"),
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
    parser.add_argument("--quick", action="store_true",
                        help="smoke-test mode (heartlang_probe.py --quick): a few records per fold, "
                             "one-block models, one epoch; its numbers mean nothing")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    return args


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
    params = dict(recipe.pretrainer_params(pargs), random_state=seed, **changes)
    key = cache_key(data_key, rows_key, "qrs", recipe.vocabulary_params(pargs), params)
    return cached(args.cache, "pretrainer-ablation", key, lambda: HeartLangPretrainer(
        vocabulary, **params).fit(S[train_rows], validation_sentences=S[held_rows]))


def embeddings(pretrainer, S, train_rows):
    return {pooling: recipe.embed(pretrainer, pooling, S, train_rows) for pooling in POOLINGS}


def probe_auc(args, meta_all, runs):
    """Macro AUC (%) of every run's embeddings on each task, 100 %, probe sklearn, seed 0."""
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
            result = evaluate_embedders(named, X, Y, meta, methods=("sklearn",), fractions=(1.0,),
                                        seeds=(0,))
        for _, r in result.iterrows():
            run, pooling = r.model.split("|")
            rows.append({"run": run, "task": task, "pooling": pooling,
                         "test_auc": 100 * r.test_auc, "C": r.params["C"]})
    return pd.DataFrame(rows)


def _fmt_spread(values, spec=".2f"):
    """``mean ± std`` of several values (sample std), the value alone for one."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(values.mean(), spec)} ± {format(values.std(ddof=1), spec)}"


def report(args, frame, info, wall):
    auc = frame.pivot_table(index="run", columns=["task", "pooling"], values="test_auc")
    random_runs = [f"random-init@{s}" for s in args.random_init_seeds]
    base_runs = [f"base@{s}" for s in args.seeds]
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
        runs = base_runs if variant == "base" else [f"{variant}@{args.seeds[0]}"]
        label, _, what = VARIANTS[variant]
        seeds = f" (pre-training seeds {', '.join(map(str, args.seeds))})" if len(runs) > 1 else ""
        rows.append([f"{variant}{seeds}", what, f"{label} ({info['vocab ' + label]:.3f})",
                     _fmt_spread([100 * info[r]['held_acc'] for r in runs]),
                     f"{np.mean([info[r]['cpu'] for r in runs]):.0f}", *cells(runs)])
    lines += table(["run", "what it tests", "vocabulary (held-out R²)", "held-out masked acc. (%)",
                    "pre-training CPU s", *columns], rows)
    lines += ["", "Cells: mean ± std over seeds where a run has several; one run otherwise.", "",
              "## HeartLang − random-init, AUC points: against the mean / the median of its seeds",
              ""]
    rows = []
    for variant in args.variants:
        runs = base_runs if variant == "base" else [f"{variant}@{args.seeds[0]}"]
        gain, gain_median = auc.loc[runs].mean() - ref, auc.loc[runs].mean() - ref_median
        rows.append([variant] + [f"{gain[(t, p)]:+.2f} / {gain_median[(t, p)]:+.2f}"
                                 for t in TASKS for p in POOLINGS])
    lines += table(["run", *columns], rows)
    spread = auc.loc[random_runs].std(ddof=1)
    best = (auc.drop(index=random_runs) - ref_median)
    chosen = frame.set_index(["run", "task", "pooling"])["C"]
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


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    pargs = probe_args(args, 15)
    X, meta = load_records(pargs.data, pargs.quick, pargs.quick_records)
    S = recipe.tokenize(pargs, X, meta, "qrs")
    train_rows, held_rows, _, _ = recipe.cache_keys(pargs, meta)
    labels = sorted({VARIANTS[v][0] for v in args.variants})
    vocabularies = dict(zip(labels, Parallel(n_jobs=min(args.jobs, len(labels)))(
        delayed(fit_vocabulary)(args, label, meta, S) for label in labels)))
    jobs = [(f"base@{seed}", "15 epochs", {}, seed) for seed in args.seeds if "base" in args.variants]
    jobs += [(f"{v}@{args.seeds[0]}", VARIANTS[v][0], VARIANTS[v][1], args.seeds[0])
             for v in args.variants if v != "base"]
    fitted = Parallel(n_jobs=args.jobs)(delayed(fit_pretrainer)(args, label, changes, seed, meta, S)
                                        for _, label, changes, seed in jobs)
    info = {f"vocab {label}": float(v["value"].history_["valid_r2"].iloc[-1])
            for label, v in vocabularies.items()}
    runs = {}
    for (name, _, _, _), result in zip(jobs, fitted):
        pre = result["value"]
        info[name] = {"cpu": result["cpu_seconds"],
                      "held_acc": float(pre.history_["valid_masked_accuracy"].iloc[-1])}
        runs[name] = embeddings(pre, S, train_rows)
    for seed in args.random_init_seeds:
        pre = HeartLangPretrainer(None, size="tiny", depth=pargs.depth, max_epochs=0,
                                  random_state=seed, device="cpu").fit(S[train_rows])
        runs[f"random-init@{seed}"] = embeddings(pre, S, train_rows)
    frame = probe_auc(args, meta, runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = frame.assign(
        held_out_masked_accuracy=frame["run"].map(lambda r: info.get(r, {}).get("held_acc")),
        pretraining_cpu_seconds=frame["run"].map(lambda r: info.get(r, {}).get("cpu", 0.0)))
    frame.to_csv(out / f"{args.name}.csv", index=False)
    text = report(args, frame, info, time.perf_counter() - start)
    (out / f"{args.name}.md").write_text(text)
    print(text)
    return frame


if __name__ == "__main__":
    main()
