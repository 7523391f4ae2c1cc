"""MIT-BIH Arrhythmia Database records with their reference beat annotations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["MITBIHRecord", "load_mitdb"]

# Annotation symbols that mark a heartbeat (PhysioNet's beat annotation codes); everything else in
# an .atr file (rhythm changes, noise, comments) is not a beat and is not scored.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


@dataclass(frozen=True)
class MITBIHRecord:
    """One MIT-BIH record: a single-channel signal and its reference beats.

    Attributes
    ----------
    name : str
        Record name, e.g. ``"100"``.
    signal : ndarray of shape (n_samples,)
        The first channel (MLII on the shared records), in mV, float64.
    sampling_rate : float
        Sampling rate in Hz (360 for MIT-BIH).
    beats : ndarray of int
        Sample indices of the reference beats.
    symbols : ndarray of str
        Beat annotation symbol of each reference beat (``"N"``, ``"V"``, ...).
    """

    name: str
    signal: np.ndarray
    sampling_rate: float
    beats: np.ndarray
    symbols: np.ndarray


def load_mitdb(path, records=None, channel=0):
    """Read MIT-BIH records (``.hea``/``.dat``) and their ``.atr`` reference beats.

    Parameters
    ----------
    path : str or path-like
        Folder holding the WFDB files.
    records : list of str, optional
        Record names to read. Default: every record in the folder that has a header and an ``.atr``.
    channel : int, default=0
        Signal channel to return (channel 0 is MLII on the standard records).

    Returns
    -------
    list of MITBIHRecord

    Raises
    ------
    FileNotFoundError
        If the folder, or a requested record's header, signal or annotation file, is missing.
    """
    import wfdb

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"MIT-BIH folder not found: {folder}")
    if records is None:
        records = sorted(p.stem for p in folder.glob("*.hea") if p.with_suffix(".atr").exists())
        if not records:
            raise FileNotFoundError(f"no MIT-BIH record (.hea with .atr) in {folder}")
    loaded = []
    for name in records:
        for suffix in (".hea", ".dat", ".atr"):
            if not (folder / f"{name}{suffix}").exists():
                raise FileNotFoundError(f"MIT-BIH record {name!r}: missing {folder / (name + suffix)}")
        record = wfdb.rdrecord(str(folder / name), channels=[channel])
        annotation = wfdb.rdann(str(folder / name), "atr")
        symbols = np.asarray(annotation.symbol)
        is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
        loaded.append(
            MITBIHRecord(
                name=name,
                signal=np.asarray(record.p_signal[:, 0], dtype=np.float64),
                sampling_rate=float(record.fs),
                beats=np.asarray(annotation.sample, dtype=np.int64)[is_beat],
                symbols=symbols[is_beat],
            )
        )
    return loaded
