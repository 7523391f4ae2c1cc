"""What the subcommands share: torch set-up, the output folder, loading saved models and
sentences, progress and timing lines, and the standard pictures written into a report."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import numpy as np

BASELINES = ("random-init", "features", "raw")
MODEL_NAMES = {
    "heartlang": "HeartLang (pre-trained encoder)",
    "heartlang-official": "HeartLang (released checkpoint)",
    "random-init": "random-initialised encoder",
    "features": "hand-made ECG features",
    "raw": "raw downsampled signal",
}
_EMBED_CHUNK = 256  # records per embedding / feature step (one progress-bar tick)
_PICTURE_SECONDS = 10.0  # longer records are drawn over their first 10 s only


def _verbose(args):
    return sys.stderr.isatty() if args.verbose is None else bool(args.verbose)


def _setup_torch(args):
    """Apply --threads and check --device before anything is trained."""
    import torch

    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = getattr(args, "device", "auto")
    if device == "auto":
        return
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch {torch.__version__} sees no CUDA "
                         f"GPU here; use --device cpu or auto")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for, but MPS is not available here")


def _command_line(args):
    return "heartlang-sk " + " ".join(shlex.quote(a) for a in (args.argv or []))


def _folder(path, create=True):
    """The --out folder; ``create=False`` only checks it early (it exists as a folder or can be
    made, and files can be written there), before any long work."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} exists and is not a folder")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    else:
        _check_writable(folder, "--out")
    return folder


def _check_writable(folder, option):
    """Raise a one-line error unless a file can be created in ``folder`` (or, if it does not exist
    yet, in its nearest existing parent, where it will be made). Probes with a real temporary file:
    permission bits say nothing for root, read-only mounts or full quotas."""
    import tempfile

    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{option} {folder}: {existing} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".heartlang-sk-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"{option} {folder}: cannot write in {existing} ({reason}); choose another "
                         f"output folder before the run, not after it") from None


def _write_csv(frame, path):
    """``frame.to_csv(path, index=False)``, atomically."""
    from ..io.atomic import atomic_path

    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False)


PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _refuse_pickle(path, trust_pickle):
    """A pickle runs whatever code it names when loaded: only behind ``--trust-pickle``."""
    if Path(path).suffix.lower() in PICKLE_SUFFIXES and not trust_pickle:
        raise ValueError(f"{path} is a pickle, and loading a pickle runs any code inside it; pass "
                         f"--trust-pickle if you made this file yourself (heartlang-sk now writes "
                         f"models as .safetensors files and sentences as a sentences/ folder, which "
                         f"load no code)")


def _load_sentences(path, trust_pickle=False):
    """A sentence store folder (what ``tokenize`` writes), or a trusted sentences.joblib."""
    from ..io.artifacts import load_artifact
    from ..sentences import ECGSentences

    if Path(path).is_dir():  # a sentence store from 'tokenize', opened memory-mapped
        from ..io.store import load_sentences

        return load_sentences(path)
    if Path(path).suffix.lower() not in PICKLE_SUFFIXES:
        raise ValueError(f"{path}: expected the sentences/ folder from 'heartlang-sk tokenize'")
    _refuse_pickle(path, trust_pickle)
    return load_artifact(path, ECGSentences, "ECG sentences (the sentences/ folder from "
                                             "'heartlang-sk tokenize')")


def _load_model(path, cls, what, trust_pickle=False, device="auto"):
    """A fitted model from a .safetensors model file, or from a trusted joblib pickle."""
    from ..io.artifacts import load_artifact

    if Path(path).suffix.lower() in PICKLE_SUFFIXES:
        _refuse_pickle(path, trust_pickle)
        return load_artifact(path, cls, what)
    return cls.load_weights(path, device=device)


def _load_vocabulary(path, trust_pickle=False, device="auto"):
    from ..models.heartlang.vocabulary import ECGVocabulary

    return _load_model(path, ECGVocabulary, "a fitted ECGVocabulary (vocabulary.safetensors)", trust_pickle,
                       device)


def _load_official(path, device):
    """A fitted pretrainer from a released HeartLang checkpoint (read with weights_only=True)."""
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    return HeartLangPretrainer.from_official(path, device=device)


def _load_pretrainer(path, trust_pickle=False, device="auto"):
    from ..models._base import is_fitted
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    pretrainer = _load_model(path, HeartLangPretrainer, "a fitted HeartLangPretrainer (pretrainer.safetensors)",
                             trust_pickle, device)
    if not is_fitted(pretrainer):
        raise ValueError(f"{path} holds an unfitted HeartLangPretrainer")
    return pretrainer


def _record_names(sentences_path, n):
    """Record names saved beside the sentences by ``tokenize`` (records.csv), else 0..n-1."""
    import pandas as pd

    table = Path(sentences_path).with_name("records.csv")
    if table.exists():
        names = pd.read_csv(table, usecols=["record"], dtype=str)["record"]
        if len(names) == n:
            return names.tolist()
    return [str(i) for i in range(n)]


def _in_chunks(transform, X, desc, verbose):
    """``transform(X)`` a chunk of records at a time, with a progress bar."""
    from tqdm.auto import tqdm

    starts = range(0, len(X), _EMBED_CHUNK)
    parts = [np.asarray(transform(X[start:start + _EMBED_CHUNK]))
             for start in tqdm(starts, desc=desc, unit="chunk", disable=not verbose)]
    return np.concatenate(parts)


def _tokenizer(sampling_rate, args, verbose, bandpass=None):
    from ..preprocessing.tokenizer import QRSTokenizer

    return QRSTokenizer(sampling_rate=sampling_rate, bandpass=bandpass,
                        normalize=getattr(args, "normalize", None), verbose=verbose)


def _check_finite(X, names):
    """Name the records with missing (NaN) or infinite samples before tokenizing."""
    bad = []
    for start in range(0, len(X), _EMBED_CHUNK):
        chunk = np.asarray(X[start:start + _EMBED_CHUNK])
        finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
        bad.extend(start + np.flatnonzero(~finite))
    if bad:
        examples = ", ".join(str(names[i]) for i in bad[:3])
        raise ValueError(f"{len(bad)} of {len(X)} records contain NaN (missing) or infinite "
                         f"samples (e.g. record {examples}): clean or interpolate them first")


def _read_windows(path, args, verbose, shown=10):
    """``--window``: read records of any length as windows, and say how many each record gave."""
    from ..io.records import read_windows

    def duration(seconds):
        return f"{seconds / 60:.3g} min" if seconds >= 120 else f"{seconds:.3g} s"

    windows = read_windows(path, args.window, sampling_rate=args.sampling_rate,
                           max_records=args.max_records, verbose=verbose)
    summary = windows.summary()
    print(f"read {len(summary)} records of {duration(summary['seconds'].min())} to "
          f"{duration(summary['seconds'].max())} at {windows.sampling_rate:g} Hz in {path} -> "
          f"{len(windows)} windows of {args.window:g} s")
    for row in summary.head(shown).itertuples():
        print(f"  {row.record}: {row.windows} window{'s' if row.windows != 1 else ''} "
              f"({duration(row.seconds)})")
    if len(summary) > shown:
        low, median, high = np.percentile(summary["windows"], [0, 50, 100])
        print(f"  ... and {len(summary) - shown} more records (windows per record: min {low:g}, "
              f"median {median:g}, max {high:g})")
    return windows


def _window_names(sentences):
    """``record@start`` for each sentence cut from a window, e.g. ``rec01@20s``."""
    return [f"{record}@{start:g}s" for record, start in zip(sentences.record_ids,
                                                            sentences.window_starts)]


def _apply_params(estimator, params):
    if params:
        estimator.set_params(**dict(params))
    return estimator


def _stage(message, start):
    print(f"{message} ({time.perf_counter() - start:.0f} s)", flush=True)


def _device_name(device):
    from ..training.net import resolve_device

    return resolve_device(device)


def _beats_per_record(sentences):
    low, median, high = np.percentile(sentences.n_beats, [5, 50, 95])
    return f"beats per record {low:.4g} / {median:.4g} / {high:.4g} (5th / 50th / 95th percentile)"


def _tokenization_pictures(report, sentences, records, names=None):
    """Tokenization and sentence PNGs of ``records``; the report shows the first sentence only."""
    from ..plotting.tokenization import plot_sentence, plot_tokenization

    seconds = sentences.signals.shape[2] / sentences.sampling_rate
    window = (0.0, _PICTURE_SECONDS) if seconds > _PICTURE_SECONDS else None
    shown = f"the first {_PICTURE_SECONDS:g} s of " if window else ""
    leads = "leads I, II and V1" if sentences.signals.shape[1] == 12 else "its first leads"
    for k, i in enumerate(records):
        if not 0 <= i < len(sentences):
            raise ValueError(f"record {i} out of range: the sentences hold {len(sentences)} records")
        label = i if names is None else names[i]
        report.figure(plot_tokenization(sentences, i, window=window), f"tokenization_{label}.png",
                      f"Record {label}: detected R peaks (red) and the beats cut from them "
                      f"(shaded), {shown}{leads}.")
        report.figure(plot_sentence(sentences, i), f"sentence_{label}.png",
                      f"Record {label} as an ECG sentence: tokens in order with their lead and "
                      f"second.", show=k == 0)


def _vocabulary_pictures(report, vocabulary, sentences, held_out=None, map_method="pca"):
    from ..plotting.vocabulary import plot_reconstructions, plot_top_words, plot_vocabulary_map

    if not vocabulary.history_.empty:
        _curves_picture(report, vocabulary.history_, "vocabulary_curves.png",
                        "ECG vocabulary training: loss terms, reconstruction R² and codebook use "
                        "per epoch.")
    shown = held_out if held_out is not None else sentences
    report.figure(plot_reconstructions(vocabulary, shown, n_beats=8), "reconstructions.png",
                  f"Beats ({'held-out' if held_out is not None else 'training'} records) and their "
                  f"reconstruction from their ECG word (paper Fig. 4).")
    report.figure(plot_top_words(vocabulary, sentences, n_words=16), "top_words.png",
                  "The most frequent ECG words: mean ± std of the beats each stands for "
                  "(paper Fig. 3).")
    report.figure(plot_vocabulary_map(vocabulary, method=map_method), "vocabulary_map.png",
                  f"The vocabulary in 2-D ({map_method.upper()} of the word vectors), coloured by "
                  f"use on the training records (paper Fig. 6).")


def _curves_picture(report, history, filename, caption):
    from ..plotting.training import plot_training_curves

    report.figure(plot_training_curves(history), filename, caption)


def _pretraining_pictures(report, pretrainer):
    if not pretrainer.history_.empty:
        _curves_picture(report, pretrainer.history_, "pretraining_curves.png",
                        "Masked-sentence pre-training: masked-word cross-entropy and accuracy per "
                        "epoch.")

