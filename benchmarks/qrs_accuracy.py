"""QRS detector accuracy on MIT-BIH and speed / agreement on PTB-XL, ours beside wfdb and neurokit2.

Usage::

    python benchmarks/qrs_accuracy.py --data ../shared/data/mitdb [--out benchmarks/results]
        [--ptbxl ../shared/data/ptbxl-2k] [--plots]

Measures, in one run on the same machine:

- **Accuracy** on the MIT-BIH records in ``--data``: sensitivity (Se), positive predictivity (+P)
  and F1 per record and overall, against the ``.atr`` reference beats with a 150 ms tolerance and
  one-to-one matching (:func:`heartlang_sk.evaluation.metrics.qrs_detection_scores`), at the native 360 Hz and
  after resampling to 100 Hz (``scipy.signal.resample_poly(x, 5, 18)``; reference samples * 100/360).
- **Spikes**: F1 on 10 s MIT-BIH records with and without spikes of 3-33 mV
  (:func:`heartlang_sk.datasets.artefacts.add_spikes`), the saturation / electrode-pop artefacts
  of real recordings.
- **Speed** (records/s, one core) on the 10 s, 100 Hz lead-I records of ptbxl-2k: our batch call,
  our per-record call, and per-record loops of the other detectors.
- **Agreement** with neurokit2 on all ptbxl-2k lead-I records (F1 of ours against neurokit2's
  detections, 100 ms tolerance), over the whole record and leaving out the first and last 0.5 s
  (where a beat cut by the record edge is counted by one detector and not the other), and the
  heart-rate plausibility of each detector's output.

Detectors: ours (:func:`heartlang_sk.detect_qrs`); wfdb ``xqrs_detect(sig, fs, verbose=False)``
(as the official HeartLang code calls it) and neurokit2 ``ecg_peaks(sig, sampling_rate=fs)`` with
their defaults, each only when installed. Writes ``qrs_accuracy.md`` and ``qrs_accuracy.json``
(and with ``--plots`` ``qrs_disagreements.png``) to ``--out``. Every number is measured here.
"""

from __future__ import annotations

import os

# one core: set before numpy/scipy load their thread pools
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from heartlang_sk import detect_qrs, detect_qrs_batch  # noqa: E402
from heartlang_sk.datasets.artefacts import add_spikes  # noqa: E402
from heartlang_sk.datasets.mitdb import load_mitdb  # noqa: E402
from heartlang_sk.evaluation.metrics import qrs_detection_scores  # noqa: E402

TOLERANCE = 0.15  # s, MIT-BIH scoring
AGREEMENT_TOLERANCE = 0.10  # s, ours vs neurokit2 on PTB-XL
EDGE = 0.5  # s left out at each end of a PTB-XL record for the interior agreement


# --- detectors -----------------------------------------------------------------------------------


def _ours(signal, fs):
    return detect_qrs(signal, fs)


def _make_xqrs():
    try:
        import wfdb.processing
    except ImportError:
        return None

    def xqrs(signal, fs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                peaks = wfdb.processing.xqrs_detect(np.asarray(signal, dtype=np.float64), fs, verbose=False)
                return np.asarray(peaks, dtype=np.int64)
            except Exception:  # xqrs raises on some short or flat inputs: count as no detection
                return np.zeros(0, dtype=np.int64)

    return xqrs


def _make_neurokit():
    try:
        import neurokit2 as nk
    except ImportError:
        return None

    def neurokit(signal, fs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _, info = nk.ecg_peaks(np.asarray(signal, dtype=np.float64), sampling_rate=fs)
                return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
            except Exception:
                return np.zeros(0, dtype=np.int64)

    return neurokit


def available_detectors():
    detectors = {"ours": _ours}
    for name, factory in (("wfdb xqrs", _make_xqrs), ("neurokit2", _make_neurokit)):
        detector = factory()
        if detector is not None:
            detectors[name] = detector
    return detectors


# --- measurements --------------------------------------------------------------------------------


def _rates(tp, fp, fn):
    return {
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "sensitivity": tp / (tp + fn) if tp + fn else 1.0,
        "ppv": tp / (tp + fp) if tp + fp else 1.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 1.0,
    }


def mitdb_accuracy(records, detectors):
    """{detector: {rate: {"records": {name: scores}, "overall": scores}}} at 360 Hz and 100 Hz."""
    results = {}
    for name, detect in detectors.items():
        results[name] = {}
        for rate in (360, 100):
            per_record, totals = {}, np.zeros(3)
            for record in records:
                if rate == 360:
                    signal, reference, fs = record.signal, record.beats, record.sampling_rate
                else:
                    signal = resample_poly(record.signal, 5, 18)
                    reference = np.round(record.beats * 100 / record.sampling_rate).astype(np.int64)
                    fs = 100
                scores = qrs_detection_scores(reference, detect(signal, fs), fs, tolerance=TOLERANCE)
                per_record[record.name] = scores
                totals += [scores["tp"], scores["fp"], scores["fn"]]
            results[name][rate] = {"records": per_record, "overall": _rates(*totals)}
            print(f"  {name:10s} {rate:3d} Hz  F1 {results[name][rate]['overall']['f1']:.5f}", flush=True)
    return results


SPIKE_MINUTES = 5  # minutes of each MIT-BIH record cut into 10 s records for the spike case
SPIKES_PER_SECOND = 0.2


def mitdb_spikes(records, detectors):
    """F1 on 10 s MIT-BIH records, clean and with spikes of 3-33 mV (0.2 per second), per detector and rate."""
    results = {}
    for name, detect in detectors.items():
        results[name] = {}
        for rate in (360, 100):
            window = 10 * rate
            totals = {"clean": np.zeros(3), "spikes": np.zeros(3)}
            n_spikes = 0
            for number, record in enumerate(records):
                end = int(SPIKE_MINUTES * 60 * record.sampling_rate)
                signal, beats = record.signal[:end], record.beats[record.beats < end]
                if rate == 100:
                    signal = resample_poly(signal, 5, 18)
                    beats = np.round(beats * 100 / record.sampling_rate).astype(np.int64)
                clean = signal[: signal.size // window * window].reshape(-1, window)
                spiky, count = add_spikes(clean, rate, per_second=SPIKES_PER_SECOND, seed=number)
                n_spikes += count
                for case, batch in (("clean", clean), ("spikes", spiky)):
                    detected = np.concatenate([detect(r, rate) + i * window for i, r in enumerate(batch)])
                    scores = qrs_detection_scores(beats[beats < clean.size], detected, rate, tolerance=TOLERANCE)
                    totals[case] += [scores["tp"], scores["fp"], scores["fn"]]
            results[name][rate] = {case: _rates(*t) for case, t in totals.items()} | {"n_spikes": n_spikes}
            print(
                f"  {name:10s} {rate:3d} Hz  F1 clean {results[name][rate]['clean']['f1']:.4f} "
                f"spikes {results[name][rate]['spikes']['f1']:.4f}",
                flush=True,
            )
    return results


def _loop_seconds(detect, signals, fs):
    start = time.perf_counter()
    for signal in signals:
        detect(signal, fs)
    return time.perf_counter() - start


def _batch_seconds(signals, fs, repeats=3):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        detect_qrs_batch(signals, fs)
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_speed(detectors, lead_i, fs, rounds=5, slow_records=200):
    """Records/s of each way of detecting, measured in alternating rounds on the same records.

    The machine is shared: measuring everything in each round and taking medians over rounds keeps
    the comparison fair when the load changes during the run. A round times our batch call (best of
    3) on float32 and on float16 input, then a per-record loop of each detector over all records
    (``slow_records`` records for detectors slower than 1,000 records/s).
    """
    lead_i32 = lead_i.astype(np.float32)
    n_records = lead_i.shape[0]
    detect_qrs_batch(lead_i32[:16], fs)
    loop_records = {}
    for name, detect in detectors.items():  # warm-up, and a first rate to size the loops
        seconds = _loop_seconds(detect, lead_i32[:20], fs)
        loop_records[name] = n_records if 20 / seconds > 1000 else min(slow_records, n_records)
    batch32, batch16 = "ours, detect_qrs_batch (float32)", "ours, detect_qrs_batch (float16)"
    loop_label = {name: "ours, detect_qrs per record" if name == "ours" else f"{name} per record" for name in detectors}
    records_timed = {batch32: n_records, batch16: n_records}
    records_timed |= {loop_label[name]: loop_records[name] for name in detectors}
    rates = {label: [] for label in records_timed}
    ratios = []
    for r in range(rounds):
        rates[batch32].append(n_records / _batch_seconds(lead_i32, fs))
        rates[batch16].append(n_records / _batch_seconds(lead_i, fs))
        for name, detect in detectors.items():
            n = loop_records[name]
            start = (r * n) % (n_records - n + 1)  # a different slice each round for the slow ones
            rates[loop_label[name]].append(n / _loop_seconds(detect, lead_i32[start : start + n], fs))
        if "neurokit2" in detectors:
            ratios.append(rates[batch32][-1] / rates[loop_label["neurokit2"]][-1])
    speed = {}
    for label, values in rates.items():
        speed[label] = {"records_per_s": float(np.median(values)), "rounds": values, "n": int(records_timed[label])}
        print(f"  {label:34s} {speed[label]['records_per_s']:10.0f} records/s  (median of {rounds})", flush=True)
    return speed, (float(np.median(ratios)) if ratios else None)


def _split(peaks, indptr):
    return [peaks[indptr[i] : indptr[i + 1]] for i in range(indptr.size - 1)]


def heart_rate_summary(peaks_per_record, duration):
    counts = np.array([p.size for p in peaks_per_record])
    heart_rate = 60.0 * counts / duration
    rr_cv = np.array([np.std(np.diff(p)) / np.mean(np.diff(p)) if p.size > 3 else np.nan for p in peaks_per_record])
    return {
        "median_hr_bpm": float(np.median(heart_rate)),
        "records_hr_below_30_or_above_200": int(np.sum((heart_rate < 30) | (heart_rate > 200))),
        "records_with_fewer_than_3_beats": int(np.sum(counts < 3)),
        "records_rr_cv_above_0.3": int(np.sum(~(rr_cv <= 0.3))),
    }


def ptbxl_speed_and_agreement(path, detectors):
    signals = np.load(Path(path) / "signals_100hz.npy", mmap_mode="r")
    lead_i = np.ascontiguousarray(signals[:, 0])  # float16, (n_records, 1000)
    lead_i32 = lead_i.astype(np.float32)
    fs, n_records, n_samples = 100, lead_i.shape[0], lead_i.shape[1]
    out = {"n_records": int(n_records), "speed": {}, "agreement": {}, "heart_rate": {}}
    out["speed"], out["batch_over_neurokit2"] = interleaved_speed(detectors, lead_i, fs)

    ours = _split(*detect_qrs_batch(lead_i, fs))
    out["heart_rate"]["ours"] = heart_rate_summary(ours, n_samples / fs)
    disagreements = None
    if "neurokit2" in detectors:
        theirs = [detectors["neurokit2"](s, fs) for s in lead_i32]
        out["heart_rate"]["neurokit2"] = heart_rate_summary(theirs, n_samples / fs)
        whole, differing_whole = _agreement_whole(ours, theirs, fs)
        interior, differing = _agreement_interior(ours, theirs, fs, int(EDGE * fs), n_samples)
        out["agreement"]["whole record"] = whole | {"records_identical": int(n_records - len(differing_whole))}
        out["agreement"]["interior"] = interior | {"records_identical": int(n_records - len(differing))}
        disagreements = (lead_i32, ours, theirs, differing)
    return out, disagreements


def _agreement_whole(ours, theirs, fs):
    totals, differing = np.zeros(3), []
    for i, (a, b) in enumerate(zip(ours, theirs)):
        scores = qrs_detection_scores(b, a, fs, tolerance=AGREEMENT_TOLERANCE)
        totals += [scores["tp"], scores["fp"], scores["fn"]]
        if scores["fp"] or scores["fn"]:
            differing.append(i)
    return _rates(*totals), differing


def _agreement_interior(ours, theirs, fs, edge, n_samples):
    def interior(peaks):
        return peaks[(peaks >= edge) & (peaks < n_samples - edge)]

    return _agreement_whole([interior(a) for a in ours], [interior(b) for b in theirs], fs)


def plot_disagreements(disagreements, path, n=8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signals, ours, theirs, differing = disagreements
    chosen = differing[:: max(1, len(differing) // n)][:n]
    fig, axes = plt.subplots(len(chosen), 1, figsize=(13, 1.9 * len(chosen)), squeeze=False)
    for ax, i in zip(axes[:, 0], chosen):
        x = signals[i]
        ax.plot(x, color="k", lw=0.7)
        ax.plot(ours[i], x[ours[i]], "rx", ms=7, label="ours")
        ax.plot(theirs[i], x[theirs[i]] + 0.4, "bv", ms=4, label="neurokit2")
        ax.set_xlim(0, x.size)
        ax.set_ylabel(f"#{i}", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    axes[0, 0].set_title(
        "ptbxl-2k lead I (100 Hz, z-score): records where ours and neurokit2 differ (interior)", fontsize=9
    )
    axes[-1, 0].set_xlabel("sample (100 Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# --- report --------------------------------------------------------------------------------------


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _fmt(scores):
    return f"{100 * scores['sensitivity']:.2f} | {100 * scores['ppv']:.2f} | {scores['f1']:.4f}"


def write_markdown(report, path):
    acc = report["mitdb"]
    names = list(acc)
    lines = [
        "# QRS detection: accuracy on MIT-BIH, speed and agreement on PTB-XL",
        "",
        f"- Command: `{report['command']}`",
        f"- Date (UTC): {report['date']}",
        f"- Machine: {report['machine']['platform']}, {report['machine']['processor'] or 'unknown CPU'}, "
        f"{report['machine']['cpu_count']} cores visible (shared with other work); timings single-threaded "
        "(`OMP_NUM_THREADS=1`, one Python process)",
        f"- Load average (1, 5, 15 min) when the run started: {report['machine']['load_average_at_start']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "## Accuracy on MIT-BIH",
        "",
        f"Reference: `.atr` beat annotations; tolerance {int(TOLERANCE * 1000)} ms, each reference beat matched "
        "to at most one detection. Se = sensitivity (%), +P = positive predictivity (%). 100 Hz: signal resampled with "
        "`resample_poly(x, 5, 18)`, reference samples mapped by ×100/360.",
        "",
    ]
    for rate in (100, 360):
        lines += [f"### {rate} Hz", ""]
        header = "| record | " + " | ".join(f"{n} Se | {n} +P | {n} F1" for n in names) + " |"
        lines += [header, "|" + "---|" * (1 + 3 * len(names))]
        for record in acc[names[0]][str(rate)]["records"]:
            cells = [_fmt(acc[n][str(rate)]["records"][record]) for n in names]
            lines.append(f"| {record} | " + " | ".join(cells) + " |")
        cells = [_fmt(acc[n][str(rate)]["overall"]) for n in names]
        lines.append("| **overall** | " + " | ".join(cells) + " |")
        overall = {n: acc[n][str(rate)]["overall"] for n in names}
        n_reference = overall[names[0]]["tp"] + overall[names[0]]["fn"]
        errors = ", ".join(f"{n} {overall[n]['fp']} / {overall[n]['fn']}" for n in names)
        lines += ["", f"Errors (FP / FN) overall: {errors} (of {n_reference} reference beats)", ""]

    spikes = report.get("mitdb_spikes")
    if spikes:
        any_rate = next(iter(spikes.values()))
        lines += [
            "## MIT-BIH with spikes (saturation, electrode pops)",
            "",
            f"The first {SPIKE_MINUTES} minutes of each record cut into 10 s records; spikes 1-6 ms wide, 3-33 mV, "
            f"either sign, {SPIKES_PER_SECOND} per second on average "
            f"(`heartlang_sk.datasets.artefacts.add_spikes`, seed = record number; "
            f"{any_rate['100']['n_spikes']} spikes at 100 Hz, {any_rate['360']['n_spikes']} at 360 Hz). "
            "Same scoring as above.",
            "",
            "| detector | 100 Hz F1 clean | 100 Hz F1 spikes | 360 Hz F1 clean | 360 Hz F1 spikes |",
            "|---|---|---|---|---|",
        ]
        for name, by_rate in spikes.items():
            cells = [f"{by_rate[r][c]['f1']:.4f}" for r in ("100", "360") for c in ("clean", "spikes")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")

    ptb = report.get("ptbxl")
    if ptb:
        lines += [
            "## Speed on ptbxl-2k (10 s, 100 Hz, lead I)",
            "",
            "Records per second, single-threaded (`time.perf_counter`), measured in 5 alternating rounds (each "
            "round times every detector; the table gives the median and the range over rounds). Batch: "
            "one `detect_qrs_batch` call on all records, best of 3 per round. Per-record loops: all records, or "
            "200 for detectors slower than 1,000 records/s.",
            "",
            "| detector | records/s (median) | range over rounds | records per round |",
            "|---|---|---|---|",
        ]
        for label, s in ptb["speed"].items():
            spread = f"{min(s['rounds']):,.0f} – {max(s['rounds']):,.0f}"
            lines.append(f"| {label} | {s['records_per_s']:,.0f} | {spread} | {s['n']} |")
        if ptb.get("batch_over_neurokit2"):
            lines += [
                "",
                f"Ours (batch, float32) over the neurokit2 per-record loop, median of the per-round ratios: "
                f"**{ptb['batch_over_neurokit2']:.1f}×**.",
            ]
        if ptb["agreement"]:
            lines += [
                "",
                f"## Agreement with neurokit2 on ptbxl-2k lead I ({ptb['n_records']} records)",
                "",
                f"Neurokit2's detections taken as reference, tolerance {int(AGREEMENT_TOLERANCE * 1000)} ms. "
                f"Interior: beats in the first and last {EDGE} s left out.",
                "",
                "| span | F1 | ours-only beats | neurokit2-only beats | records identical |",
                "|---|---|---|---|---|",
            ]
            for span, s in ptb["agreement"].items():
                identical = f"{s['records_identical']} / {ptb['n_records']}"
                lines.append(f"| {span} | {s['f1']:.4f} | {s['fp']} | {s['fn']} | {identical} |")
        lines += [
            "",
            "Heart-rate plausibility (beats counted over 10 s; RR CV: coefficient of variation of the RR intervals):",
            "",
            "| detector | median HR (bpm) | HR < 30 or > 200 | < 3 beats | RR CV > 0.3 |",
            "|---|---|---|---|---|",
        ]
        for name, h in ptb["heart_rate"].items():
            lines.append(
                f"| {name} | {h['median_hr_bpm']:.0f} | {h['records_hr_below_30_or_above_200']} | "
                f"{h['records_with_fewer_than_3_beats']} | {h['records_rr_cv_above_0.3']} |"
            )
        if report.get("plot"):
            lines += ["", f"Some interior disagreements: `{report['plot']}`."]
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with the MIT-BIH .hea/.dat/.atr files")
    parser.add_argument("--out", default="benchmarks/results", help="output folder (default: benchmarks/results)")
    parser.add_argument(
        "--ptbxl", default=None, help="ptbxl-2k folder (default: <data>/../ptbxl-2k, skipped if absent)"
    )
    parser.add_argument("--plots", action="store_true", help="also save qrs_disagreements.png (needs matplotlib)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    detectors = available_detectors()
    print("detectors:", ", ".join(detectors), flush=True)
    if argv is None:
        command = "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    else:
        command = f"main({argv!r})"
    report = {
        "command": command,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "versions": {
            "python": platform.python_version(),
            **{p: _version(p) for p in ("heartlang-sk", "numpy", "scipy", "wfdb", "neurokit2")},
        },
    }

    print("MIT-BIH accuracy", flush=True)
    records = load_mitdb(args.data)
    accuracy = mitdb_accuracy(records, detectors)
    report["mitdb"] = {n: {str(r): v for r, v in by_rate.items()} for n, by_rate in accuracy.items()}
    print("MIT-BIH with spikes", flush=True)
    spikes = mitdb_spikes(records, detectors)
    report["mitdb_spikes"] = {n: {str(r): v for r, v in by_rate.items()} for n, by_rate in spikes.items()}

    ptbxl = Path(args.ptbxl) if args.ptbxl else Path(args.data).resolve().parent / "ptbxl-2k"
    if (ptbxl / "signals_100hz.npy").exists():
        print("ptbxl-2k speed and agreement", flush=True)
        report["ptbxl"], disagreements = ptbxl_speed_and_agreement(ptbxl, detectors)
        if args.plots and disagreements is not None and disagreements[3]:
            plot_path = out / "qrs_disagreements.png"
            plot_disagreements(disagreements, plot_path)
            report["plot"] = plot_path.name
    else:
        print(f"no ptbxl-2k at {ptbxl}: speed and agreement skipped", flush=True)

    (out / "qrs_accuracy.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "qrs_accuracy.md")
    print(f"wrote {out / 'qrs_accuracy.md'}", flush=True)


if __name__ == "__main__":
    main()
