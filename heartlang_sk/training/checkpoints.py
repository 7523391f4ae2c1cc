"""Resumable training that never resumes the wrong run.

A ``checkpoint_dir`` holds the net's parameters, optimiser and history after every epoch (skorch's
:class:`~skorch.callbacks.Checkpoint`) and ``run.json``: a fingerprint of the run — the estimator's
class and parameters that change what is learned, and the training data's shape and a content hash.
A later fit resumes from the folder only when its fingerprint is the same; a different run raises a
one-line error naming the folder, what differs, and how to start afresh (``resume=False``), instead of
silently returning the old model.

``max_epochs``, ``verbose``, ``device`` and the checkpoint settings are not part of the fingerprint:
raising ``max_epochs`` and fitting again is how a user continues a run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic

__all__ = ["RUN_FILE", "check_resumable", "data_fingerprint", "run_fingerprint", "write_run_file"]

RUN_FILE = "run.json"
#: Parameters that do not change what a fit learns.
_NOT_FINGERPRINTED = {"max_epochs", "verbose", "device", "checkpoint_dir", "resume", "accelerator"}
_CHECKPOINT_FILES = ("params.pt", "optimizer.pt", "criterion.pt", "history.json", RUN_FILE)


def data_fingerprint(sentences):
    """Shape and a cheap content hash of training sentences: every record's beat table and a strided
    sample of the signal values (at most ~1M of them), so two data sets of the same shape differ."""
    digest = hashlib.sha256()
    for array in (sentences.leads, sentences.r_peaks, sentences.n_beats):
        digest.update(np.ascontiguousarray(array).tobytes())
    signals = sentences.signals
    step = max(1, signals.shape[0] * signals.shape[1] * signals.shape[2] // 1_000_000)
    flat = np.asarray(signals).reshape(-1)[::step]
    digest.update(np.ascontiguousarray(flat, dtype=np.float32).tobytes())
    return {"records": int(len(sentences)), "leads": int(signals.shape[1]), "samples": int(signals.shape[2]),
            "tokens": int(sentences.leads.shape[1]), "content": digest.hexdigest()[:16]}


def _describe(value):
    """A JSON-able description of a parameter value; fitted estimators by class and fitted state."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    if hasattr(value, "get_params"):
        description = {"class": type(value).__name__,
                       "params": {k: _describe(v) for k, v in value.get_params(deep=False).items()
                                  if k not in _NOT_FINGERPRINTED}}
        state = getattr(getattr(value, "net_", None), "module_", None)
        if state is not None:  # a fitted model: what it learned, hashed
            digest = hashlib.sha256()
            for key, tensor in sorted(state.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().float().numpy().tobytes())
            description["fitted"] = digest.hexdigest()[:16]
        return description
    return repr(value)


def run_fingerprint(estimator, sentences, targets=None):
    """What identifies a training run of ``estimator`` on ``sentences`` (and ``targets``, e.g.
    labels, when the run has them): a JSON-able dict."""
    params = {k: _describe(v) for k, v in estimator.get_params(deep=False).items() if k not in _NOT_FINGERPRINTED}
    data = data_fingerprint(sentences)
    if targets is not None:
        data["targets"] = hashlib.sha256(np.ascontiguousarray(targets).tobytes()).hexdigest()[:16]
    return {"estimator": type(estimator).__name__, "params": params, "data": data}


def _differences(saved, current, prefix=""):
    if isinstance(saved, dict) and isinstance(current, dict):
        names = []
        for key in sorted(set(saved) | set(current)):
            names += _differences(saved.get(key), current.get(key), f"{prefix}{key}.")
        return names
    return [] if saved == current else [prefix.rstrip(".")]


def check_resumable(checkpoint_dir, fingerprint, resume):
    """Whether a fit should resume from ``checkpoint_dir``; clears a folder it should not resume.

    Returns True when the folder holds a checkpoint of the same run and ``resume`` is true. With
    ``resume=False`` an earlier checkpoint is removed so the new run cannot be confused with it.

    Raises
    ------
    ValueError
        The folder holds a checkpoint of a different run (or one without a fingerprint) and
        ``resume`` is true.
    """
    folder = Path(checkpoint_dir)
    has_checkpoint = (folder / "history.json").exists()
    if has_checkpoint and resume:
        run_file = folder / RUN_FILE
        saved = json.loads(run_file.read_text()) if run_file.exists() else None
        current = json.loads(json.dumps(fingerprint))
        if saved == current:
            return True
        what = "it has no run.json fingerprint" if saved is None else (
            "these differ: " + ", ".join(_differences(saved, current)[:5]))
        raise ValueError(f"checkpoint_dir {str(folder)!r} holds a checkpoint of another run ({what}); "
                         f"pass resume=False to start afresh there, or use another folder")
    if has_checkpoint or (folder / RUN_FILE).exists():
        for name in _CHECKPOINT_FILES:
            (folder / name).unlink(missing_ok=True)
    return False


def write_run_file(checkpoint_dir, fingerprint):
    """Write ``run.json`` into ``checkpoint_dir`` (atomically: a half-written file never stays)."""
    folder = Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / RUN_FILE, json.dumps(fingerprint, indent=1, sort_keys=True))
