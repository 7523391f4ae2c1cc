"""Non-learned baselines through HeartLang's linear-probe protocol on ptbxl-2k, beside the paper.

Usage::

    python benchmarks/baselines.py --data ../shared/data/ptbxl-2k [--tasks super,sub,form,rhythm]
        [--seeds 0,1,2] [--fractions 0.01,0.1,1.0] [--methods sklearn] [--out benchmarks/results]
        [--no-resplit-check]

Runs the ``"features"`` (:class:`heartlang_sk.baselines.features.ECGFeatures`, hand-made rhythm, amplitude and
spectrum features) and ``"raw"`` (:class:`heartlang_sk.baselines.features.RawSignal`, the signal averaged to
10 Hz) baselines through :func:`heartlang_sk.evaluation.evaluate_embeddings`: strat_fold 1-8 for
training with a patient-grouped validation split (15 % of the patients, seed 0), regimes 1 % /
10 % / 100 % drawn from the rest with each seed, the probe selected on validation only, macro
ROC-AUC on fold 9. With the resplit check (on by default) the 100 % regime is run again with a new
validation split per seed, which shows how much the choice of validation patients moves the score.

Writes ``baselines.md`` (tables, with the command, date, machine and package versions),
``baselines.csv`` (one row per fit) and ``baselines_per_class.csv`` (test AUC per class) to
``--out``. Every number is measured by this script, except the published ones, which come from
:data:`heartlang_sk.evaluation.PUBLISHED` (SPEC section 5).
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: the probes are small, and the machine is shared.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (TASK_TITLES, comma_list, load_records, published_cell,  # noqa: E402
                     summary_cell, table)
from heartlang_sk._environment import cpu_name, package_version  # noqa: E402
from heartlang_sk.datasets import load_ptbxl2k  # noqa: E402
from heartlang_sk.evaluation import (  # noqa: E402
    PUBLISHED,
    PUBLISHED_FRACTIONS,
    evaluate_embeddings,
    evaluate_embedders,
    linear_probe,
    protocol_split,
    regime_name,
    summarize,
)
from heartlang_sk.baselines.features import SPECTRUM_EDGES, ECGFeatures, RawSignal  # noqa: E402

BASELINES = ("features", "raw")
DOWNSAMPLE = 10  # RawSignal window at 100 Hz


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder")
    parser.add_argument("--tasks", type=comma_list(), default="super,sub,form,rhythm")
    parser.add_argument("--seeds", type=comma_list(int), default="0,1,2")
    parser.add_argument("--fractions", type=comma_list(float), default="0.01,0.1,1.0")
    parser.add_argument("--methods", type=comma_list(), default="sklearn", help="sklearn and/or torch")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--no-resplit-check", action="store_true",
                        help="skip the 100%% regime with a new validation split per seed")
    args = parser.parse_args(argv)
    unknown = [task for task in args.tasks if task not in TASK_TITLES]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; choose from {list(TASK_TITLES)}")
    return args


def embed_all(data):
    """Both baselines' embeddings of every record of the folder, once; with their timings."""
    X, meta = load_records(data)
    embeddings, seconds = {}, {}
    for name, transformer in (("features", ECGFeatures(sampling_rate=100)),
                              ("raw", RawSignal(sampling_rate=100, target_rate=100 / DOWNSAMPLE))):
        start = time.perf_counter()
        embeddings[name] = transformer.fit_transform(X)
        seconds[name] = time.perf_counter() - start
    return meta.index, embeddings, seconds, X.shape


def run(args):
    ecg_ids, embeddings, embed_seconds, shape = embed_all(args.data)
    dims = {name: Z.shape[1] for name, Z in embeddings.items()}
    protocol = dict(fractions=args.fractions, seeds=args.seeds, methods=args.methods)
    parts, resplit_parts, splits = [], [], {}
    for task in args.tasks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # records without a label are dropped
            X, Y, meta = load_ptbxl2k(args.data, task=task)
        rows = ecg_ids.get_indexer(meta.index)
        embedders = {name: Z[rows] for name, Z in embeddings.items()}  # precomputed, aligned
        pool, valid, test = protocol_split(meta)
        splits[task] = {"records": len(meta), "pool": len(pool), "valid": len(valid),
                        "test": len(test), "classes": Y.shape[1],
                        "test_classes": int((Y.iloc[test].nunique() == 2).sum()),
                        "pool_classes": int((Y.iloc[pool].max() > 0).sum())}
        start = time.perf_counter()
        parts.append(evaluate_embedders(embedders, X, Y, meta, **protocol))
        print(f"{task}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if not args.no_resplit_check:
            resplit_parts.append(evaluate_embedders(
                embedders, X, Y, meta, fractions=(1.0,), seeds=args.seeds,
                methods=args.methods, resplit_valid=True))
    results = pd.concat(parts, ignore_index=True)
    resplit = pd.concat(resplit_parts, ignore_index=True) if resplit_parts else None
    return results, resplit, splits, embed_seconds, dims, shape


# -- report ------------------------------------------------------------------------------------------
def report(args, results, resplit, splits, embed_seconds, dims, shape, wall_seconds):
    summary = summarize(results)
    Cs = ", ".join(f"{C:g}" for C in _default(linear_probe, "Cs"))
    valid_fraction = _default(evaluate_embeddings, "valid_fraction")
    valid_seed = _default(evaluate_embeddings, "valid_random_state")
    regimes = [regime_name(f) for f in args.fractions]
    command = "python " + " ".join(shlex.quote(a) for a in [
        "benchmarks/baselines.py", *sys.argv[1:]])
    lines = [
        "# Baselines through the HeartLang linear-probe protocol (ptbxl-2k)",
        "",
        f"- Command: `{command}`",
        f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.platform()}, {cpu_name()}, {os.cpu_count()} cores visible, "
        f"BLAS threads {os.environ.get('OMP_NUM_THREADS')}; shared with other jobs",
        f"- Versions: python {platform.python_version()}, heartlang-sk {package_version('heartlang-sk')}, "
        f"numpy {package_version('numpy')}, scipy {package_version('scipy')}, scikit-learn "
        f"{package_version('scikit-learn')}, pandas {package_version('pandas')}, torch {package_version('torch')}",
        f"- Wall time: {wall_seconds:.0f} s (embedding all {shape[0]} records: features "
        f"{embed_seconds['features']:.1f} s, raw {embed_seconds['raw']:.1f} s)",
        "",
        "## Protocol",
        "",
        f"Data: `{args.data}`, {shape[0]} PTB-XL records, 12 leads, 100 Hz, band-passed and "
        "z-scored per lead. Train on strat_fold 1–8, report on fold 9 (the folder has no fold 10). "
        f"Validation: {100 * valid_fraction:g} % of the training patients (`GroupShuffleSplit` on "
        f"`patient_id`, seed {valid_seed}; "
        "a record without patient id is its own group), the same for every regime and seed. "
        "Regimes: that fraction of the remaining training records, drawn per seed with every "
        "class that has a positive represented where the budget allows "
        "(`few_shot_indices`). "
        f"Probe: `{', '.join(args.methods)}` — standardize, one-vs-rest logistic regression, "
        f"C ∈ {{{Cs}}} chosen by validation macro AUC. Metric: macro ROC-AUC (%) "
        "over the test classes with both labels present. Seeds: "
        f"{', '.join(map(str, args.seeds))}; cells are mean ± standard deviation over seeds "
        "(the 100 % regime is the same draw for every seed, hence ± 0.00).",
        "",
        f"Baselines: **features** = `ECGFeatures` ({dims['features']} hand-made features: RR "
        "intervals and heart-rate variability from lead I, per-lead amplitude statistics, "
        f"per-lead log power in {len(SPECTRUM_EDGES) - 1} bands up to {SPECTRUM_EDGES[-1]:g} Hz); "
        f"**raw** = `RawSignal` ({dims['raw']} values: each lead averaged over {DOWNSAMPLE / 100:g}-s "
        "windows).",
        "",
    ]
    lines += table(["task", "records", "train pool", "validation", "test (fold 9)", "classes",
                     "classes in pool", "classes scored on test"],
                    [[TASK_TITLES[t], s["records"], s["pool"], s["valid"], s["test"], s["classes"],
                      s["pool_classes"], s["test_classes"]] for t, s in splits.items()])
    for method in args.methods:
        lines += ["", f"## Measured here: macro AUC (%) on ptbxl-2k fold 9, probe `{method}`", ""]
        header = ["task"] + [f"{m} {r}" for m in BASELINES for r in regimes]
        rows = [[TASK_TITLES[task]] + [summary_cell(summary, model, task, method, fraction,
                                                    missing="–")
                                       for model in BASELINES for fraction in args.fractions]
                for task in args.tasks]
        lines += table(header, rows)
    lines += [
        "",
        "## Published (not measured here): linear-probe macro AUC (%), SPEC §5",
        "",
        "HeartLang, MERL, MELP: ICLR 2025 HeartLang paper, pre-trained on MIMIC-IV-ECG, evaluated "
        "on the full PTB-XL (train folds 1–8, validation 9, test 10). Workshop rows: pre-trained "
        "on PTB-XL only, Small model, 100 % only. Different data and test fold from the "
        "measurements above: compare orders of magnitude, not decimals.",
        "",
    ]
    header = ["model"] + [f"{TASK_TITLES[t]} {regime_name(f)}" for t in args.tasks
                          for f in PUBLISHED_FRACTIONS]
    lines += table(header, [[model] + [published_cell(model, t, f) for t in args.tasks
                                        for f in PUBLISHED_FRACTIONS] for model in PUBLISHED])
    lines += ["", "## Side by side: features baseline (measured, ptbxl-2k) vs HeartLang "
              "(published, full PTB-XL)", ""]
    method = args.methods[0]
    header = ["task"] + [f"{label} {regime_name(f)}" for f in PUBLISHED_FRACTIONS
                         for label in ("features (measured)", "HeartLang (published)")]
    rows = [[TASK_TITLES[task]] + [value for f in PUBLISHED_FRACTIONS for value in (
        summary_cell(summary, "features", task, method, f, missing="–"),
        published_cell("HeartLang", task, f))]
        for task in args.tasks]
    lines += table(header, rows)
    if resplit is not None:
        rs = summarize(resplit)
        lines += [
            "",
            "## Sensitivity: 100 % regime with a new validation split per seed (measured)",
            "",
            "Same protocol, but seed s also draws the validation patients (`resplit_valid=True`). "
            "Classes with one or two training records (e.g. rhythm AFLT, PACE, PSVT, SVTAC) are "
            "learnable only when those records stay out of validation, so on this small subset the "
            "choice of validation patients moves the score by several points.",
            "",
        ]
        header = ["task"] + [f"{m} 100% ({meth})" for meth in args.methods for m in BASELINES]
        rows = [[TASK_TITLES[task]] + [summary_cell(rs, model, task, meth, 1.0, missing="–")
                                       for meth in args.methods for model in BASELINES]
                for task in args.tasks]
        lines += table(header, rows)
        per_seed = resplit[resplit["model"] == "features"].pivot_table(
            index="task", columns="seed", values="test_auc", aggfunc="first")
        lines += ["", "features, 100 %, test AUC (%) per validation seed: " + "; ".join(
            f"{TASK_TITLES[task]} " + ", ".join(f"{100 * v:.2f}" for v in per_seed.loc[task])
            for task in args.tasks if task in per_seed.index)]
    lines += [
        "",
        "## Files",
        "",
        "- `baselines.csv`: one row per fit (model, task, regime, seed, method, test and "
        "validation AUC, chosen C, sizes, fit time); resplit-check rows have `valid_split == "
        "\"per seed\"`.",
        "- `baselines_per_class.csv`: test AUC of every scored class per fit.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    results, resplit, splits, embed_seconds, dims, shape = run(args)
    wall = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = [results.assign(valid_split="fixed")]
    if resplit is not None:
        frames.append(resplit.assign(valid_split="per seed"))
    rows = pd.concat(frames, ignore_index=True)
    per_class = [{"model": r.model, "task": r.task, "regime": r.regime, "seed": r.seed,
                  "method": r.method, "valid_split": r.valid_split, "class": name, "test_auc": auc}
                 for r in rows.itertuples() for name, auc in r.per_class_auc.items()]
    pd.DataFrame(per_class).to_csv(out / "baselines_per_class.csv", index=False)
    rows = rows.drop(columns=["per_class_auc"]).assign(params=rows["params"].map(str))
    rows.to_csv(out / "baselines.csv", index=False)
    text = report(args, results, resplit, splits, embed_seconds, dims, shape, wall)
    (out / "baselines.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
