"""Tokenizer speed on real PTB-XL records, beside per-record neurokit2 and xqrs detection loops.

Usage::

    python benchmarks/tokenizer_speed.py --data ../shared/data/ptbxl-2k [--out benchmarks/results]

Measures, in one run on the same machine:

- ``QRSTokenizer.transform`` end to end (validation, QRS detection, beat cutting, sentence store)
  on all ptbxl-2k records, single job and ``n_jobs=2``; and materialising every token array;
- a per-record loop of neurokit2 ``ecg_peaks`` (lead I, 100 Hz) and of wfdb ``xqrs_detect`` — the
  detection step alone, which is what those tools offer;
- the same tokenization at PTB-XL scale (ptbxl-2k tiled to 21,837 records) in a child process,
  with its peak resident memory.

Speed figures are ratios measured side by side: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

PTBXL_RECORDS = 21_837


def best_rate(fn, n_records, repeats=3):
    """Records per second of the fastest of ``repeats`` runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_records / best


def per_record_rate(detect, signals, budget_s=20.0):
    """Records/s of a per-record detection loop, on as many records as fit the time budget."""
    start = time.perf_counter()
    done = 0
    for record in signals:
        detect(record)
        done += 1
        if time.perf_counter() - start > budget_s:
            break
    return done / (time.perf_counter() - start), done


def paired_ratios(X, lead_i, rounds=7, peer_records=300):
    """Alternate our transform (all records) and neurokit2 (a slice) in rounds; per-round ratios.

    On a shared machine the load changes from second to second; timing both side by side in each
    round and taking the median ratio keeps the comparison fair.
    """
    import neurokit2 as nk

    from heartlang_sk import QRSTokenizer

    tokenizer = QRSTokenizer(sampling_rate=100).fit(X[:1])
    ratios = []
    for _ in range(rounds):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            tokenizer.transform(X)
        ours = len(X) / (time.perf_counter() - start)
        start = time.perf_counter()
        for record in lead_i[:peer_records]:
            nk.ecg_peaks(record, sampling_rate=100)
        theirs = peer_records / (time.perf_counter() - start)
        ratios.append(ours / theirs)
    return np.array(ratios)


def scale_run(data, n_records, n_jobs):
    """Child-process body: tokenize ptbxl-2k tiled to n_records, print JSON with rate and peak RSS."""
    from heartlang_sk import QRSTokenizer

    base = np.load(Path(data) / "signals_100hz.npy")
    X = np.concatenate([base] * (n_records // len(base) + 1))[:n_records]
    input_mb = X.nbytes / 2**20
    tokenizer = QRSTokenizer(sampling_rate=100, n_jobs=n_jobs).fit(X[:1])
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(2):  # the first run also page-faults the fresh sentence store in
            start = time.perf_counter()
            sentences = tokenizer.transform(X)
            runs.append(time.perf_counter() - start)
    elapsed = runs[0]
    store_mb = sum(getattr(sentences, name).nbytes for name in (
        "signals", "r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped")) / 2**20
    print(json.dumps({
        "n_records": n_records, "seconds": elapsed, "records_per_s": n_records / elapsed,
        "second_run_records_per_s": n_records / runs[1], "store_dtype": str(sentences.signals.dtype),
        "input_mb": input_mb, "sentence_store_mb": store_mb,
        "float32_tokens_mb": n_records * 256 * 96 * 4 / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/ptbxl-2k")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--scale", type=int, default=PTBXL_RECORDS)
    parser.add_argument("--scale-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        scale_run(args.data, args.scale, args.n_jobs)
        return

    from heartlang_sk import QRSTokenizer, __version__

    X = np.load(Path(args.data) / "signals_100hz.npy")
    n = len(X)
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for n_jobs in (1, 2):
            tokenizer = QRSTokenizer(sampling_rate=100, n_jobs=n_jobs).fit(X[:1])
            rows[f"QRSTokenizer.transform, n_jobs={n_jobs}"] = best_rate(
                lambda: tokenizer.transform(X), n)
        sentences = QRSTokenizer(sampling_rate=100).fit_transform(X)
    rows["ECGSentences.tokens (materialise all float32 tokens)"] = best_rate(
        lambda: sentences.tokens, n)
    lead_i = np.ascontiguousarray(X[:, 0], dtype=np.float64)
    peers = {}
    try:
        import neurokit2 as nk

        rate, done = per_record_rate(lambda r: nk.ecg_peaks(r, sampling_rate=100), lead_i)
        peers["neurokit2 ecg_peaks, per-record loop (detection only)"] = (rate, done)
    except ImportError:
        print("neurokit2 not installed: skipped")
    try:
        import wfdb.processing

        rate, done = per_record_rate(
            lambda r: wfdb.processing.xqrs_detect(r, fs=100, verbose=False), lead_i)
        peers["wfdb xqrs_detect, per-record loop (detection only)"] = (rate, done)
    except ImportError:
        print("wfdb not installed: skipped")

    paired = None
    if "neurokit2 ecg_peaks, per-record loop (detection only)" in peers:
        paired = paired_ratios(X, lead_i)

    child = subprocess.run(
        [sys.executable, __file__, "--data", args.data, "--scale", str(args.scale), "--scale-child"],
        capture_output=True, text=True, check=True)
    scale = json.loads(child.stdout.strip().splitlines()[-1])

    reference = peers.get("neurokit2 ecg_peaks, per-record loop (detection only)", (None,))[0]
    command = "python benchmarks/tokenizer_speed.py " + " ".join(argv or sys.argv[1:])
    lines = [
        "# Tokenizer speed on ptbxl-2k",
        "",
        f"Command: `{command.strip()}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; heartlang-sk {__version__}; "
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}",
        "",
        f"Data: {n} real PTB-XL records, 12 leads x 1000 samples at 100 Hz (float16 on disk).",
        "",
        "| what | records/s | x neurokit2 per-record detection |",
        "|---|---:|---:|",
    ]
    for name, rate in rows.items():
        ratio = f"{rate / reference:.1f}x" if reference else "n/a"
        lines.append(f"| {name} | {rate:,.0f} | {ratio} |")
    for name, (rate, done) in peers.items():
        ratio = f"{rate / reference:.2f}x" if reference else "n/a"
        lines.append(f"| {name} ({done} records) | {rate:,.0f} | {ratio} |")
    if paired is not None:
        lines += [
            "",
            f"Side by side, {len(paired)} alternating rounds (transform of all {n} records with "
            f"n_jobs=1, then neurokit2 on 300 records): per-round ratio median "
            f"**{np.median(paired):.1f}x** (min {paired.min():.1f}x, max {paired.max():.1f}x).",
        ]
    lines += [
        "",
        f"## PTB-XL scale: {scale['n_records']:,} records (ptbxl-2k tiled), child process, n_jobs=1",
        "",
        f"- transform, first run in the process: {scale['seconds']:.1f} s, "
        f"{scale['records_per_s']:,.0f} records/s (includes page-faulting the fresh sentence store "
        f"into memory); second run: {scale['second_run_records_per_s']:,.0f} records/s",
        f"- input array (float16): {scale['input_mb']:,.0f} MB; sentence store ({scale['store_dtype']}"
        f" signals + beat table): {scale['sentence_store_mb']:,.0f} MB; the same tokens materialised as "
        f"float32 would take {scale['float32_tokens_mb']:,.0f} MB",
        f"- peak resident memory of the process: {scale['peak_rss_mb']:,.0f} MB",
        "",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer_speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
