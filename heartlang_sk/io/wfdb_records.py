"""A folder of WFDB records read lazily, chunk by chunk, for streaming tokenization.

Contract: :class:`WFDBRecords` lists a folder's records (one sampling rate, one lead set) and reads
signals only when a selection of records is turned into an array, so a corpus larger than memory
(MIMIC-IV-ECG) streams through :func:`~heartlang_sk.io.store.tokenize_to_store`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["WFDBRecords"]


class WFDBRecords:
    """Records of a WFDB folder (e.g. MIMIC-IV-ECG), read lazily, for :func:`tokenize_to_store`.

    Indexing with a slice or an index array gives another lazy reader of those records; reading
    happens in ``np.asarray(reader)`` (a ``(n_records, n_leads, n_samples)`` float32 array), so a
    parallel :func:`tokenize_to_store` reads each chunk in the worker that tokenizes it. An integer
    index reads one record, ``(n_leads, n_samples)``.

    Parameters
    ----------
    root : str or path-like
        Folder of the records.
    records : sequence of str, optional
        Record names relative to ``root``, without extension (e.g. MIMIC-IV-ECG's
        ``record_list.csv`` ``path`` column: ``files/p1000/p10000032/s40689238/40689238``).
        Default: every ``.hea`` file below ``root``, sorted.
    channels : sequence of int, optional
        Leads to read, in this order. Default: all.
    nan_value : float or None, default=0.0
        Replaces NaN samples (missing leads in MIMIC-IV-ECG): the tokenizer then treats such a lead
        as flat. ``None`` keeps NaN, which the tokenizer rejects.

    Signals are read in their physical units, µV converted to mV (as
    :func:`heartlang_sk.io.read_records`, which reads a whole folder into memory at once).

    Attributes
    ----------
    sampling_rate : float
        Of the first record. All records must share it: reading one at another rate raises
        ``ValueError`` (a folder holding PTB-XL's ``records100/`` and ``records500/``, say).
    shape : tuple
        ``(n_records, n_leads, n_samples)`` from the first record's header.

    Examples
    --------
    >>> import tempfile, wfdb
    >>> from heartlang_sk.datasets import make_ecg
    >>> folder = tempfile.mkdtemp()
    >>> X, _ = make_ecg(3, n_leads=3, sampling_rate=500, random_state=0)
    >>> for i, record in enumerate(X):
    ...     wfdb.wrsamp(f"r{i}", fs=500, units=["mV"] * 3, sig_name=["I", "II", "III"],
    ...                 p_signal=record.T.astype(np.float64), fmt=["16"] * 3, write_dir=folder)
    >>> reader = WFDBRecords(folder)
    >>> len(reader), reader.shape, reader.sampling_rate
    (3, (3, 3, 5000), 500.0)
    >>> np.asarray(reader[1:]).shape
    (2, 3, 5000)
    """

    def __init__(self, root, records=None, *, channels=None, nan_value=0.0):
        self.root = Path(root)
        if records is None:
            records = sorted(str(p.relative_to(self.root).with_suffix(""))
                             for p in self.root.rglob("*.hea"))
        self.records = list(records)
        self.channels = None if channels is None else list(channels)
        self.nan_value = nan_value

    def __len__(self):
        return len(self.records)

    def _subset(self, records):
        return WFDBRecords(self.root, records, channels=self.channels, nan_value=self.nan_value)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._read(self.records[key], self.sampling_rate)
        if isinstance(key, slice):
            return self._subset(self.records[key])
        return self._subset([self.records[i] for i in np.arange(len(self))[key]])

    def _header(self):
        import wfdb

        if not self.records:
            raise ValueError(f"no WFDB records in {self.root}")
        return wfdb.rdheader(str(self.root / self.records[0]))

    @property
    def sampling_rate(self):
        return float(self._header().fs)

    @property
    def shape(self):
        header = self._header()
        n_leads = header.n_sig if self.channels is None else len(self.channels)
        return (len(self), n_leads, header.sig_len)

    def _read(self, name, sampling_rate=None):
        import wfdb

        signal, fields = wfdb.rdsamp(str(self.root / name), channels=self.channels)
        if sampling_rate is not None and float(fields["fs"]) != sampling_rate:
            raise ValueError(f"{self.root / name}: {float(fields['fs']):g} Hz, but the first record "
                             f"is at {sampling_rate:g} Hz; every record must share one sampling "
                             f"rate (e.g. PTB-XL's records100/ or records500/, not both)")
        record = np.ascontiguousarray(signal.T, dtype=np.float32)
        for lead, unit in enumerate(fields.get("units") or []):
            if str(unit).strip().lower() in ("uv", "µv", "μv"):
                record[lead] *= 1e-3
        if self.nan_value is not None:
            np.nan_to_num(record, copy=False, nan=self.nan_value)
        return record

    def __array__(self, dtype=None, copy=None):
        rate = self.sampling_rate if self.records else None
        records = [self._read(name, rate) for name in self.records]
        lengths = {r.shape for r in records}
        if len(lengths) > 1:
            raise ValueError(f"WFDB records of different shapes {sorted(lengths)}: read records of "
                             f"one length (e.g. cut or pad them) before tokenizing")
        stacked = np.stack(records) if records else np.zeros((0, 0, 0), dtype=np.float32)
        return stacked if dtype is None else stacked.astype(dtype, copy=False)

    def __repr__(self):
        return f"WFDBRecords(root={str(self.root)!r}, n_records={len(self)})"
