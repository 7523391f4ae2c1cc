"""Sentence stores on disk: ECG sentences of corpora that do not fit in memory.

A sentence store is a folder holding the arrays of an :class:`~heartlang_sk.ECGSentences` as ``.npy``
files (``signals.npy``, ``r_peaks.npy``, ...; ``record_ids.npy`` and ``window_starts.npy`` too for
windows of long records) and a small ``header.json`` (format, number of records, ``t``, sampling
rate, the tokenizer settings that made the sentences (``preprocessing``; absent from stores written
before they were recorded, which load with ``preprocessing=None``), dtypes and shapes, which lists
the arrays present). :func:`tokenize_to_store` streams records from disk through
a tokenizer chunk by chunk, in parallel through joblib, and appends each chunk's sentences to the
store, so neither the records nor the sentences are ever held in memory at once.
:meth:`ECGSentences.load(path, mmap_mode="r") <heartlang_sk.ECGSentences.load>` opens the store
memory-mapped: indexing reads only the selected records, and the estimators build their tokens one
batch at a time (:class:`~heartlang_sk.training.SentenceDataset`).

A memory map keeps every page it has read resident in the process (they count in its RSS) until
the kernel needs the memory back. The training and inference batches therefore hand the pages of a
memory-mapped store back after each batch (:func:`release_mapped_pages`): the data stays in the
operating system's file cache, and the process's own memory stays bounded by a batch.

Examples
--------
>>> import tempfile
>>> from heartlang_sk import ECGSentences, QRSTokenizer
>>> from heartlang_sk.datasets import make_ecg
>>> from heartlang_sk.io.store import tokenize_to_store
>>> X, _ = make_ecg(10, random_state=0)
>>> folder = tempfile.mkdtemp()
>>> S = tokenize_to_store(QRSTokenizer(sampling_rate=100), X, folder + "/store", chunk_size=4)
>>> S.shape, type(S.signals).__name__
((10, 256, 96), 'memmap')
>>> S2 = ECGSentences.load(folder + "/store")
>>> bool((S2[3:5].tokens == QRSTokenizer(sampling_rate=100).fit_transform(X[3:5]).tokens).all())
True
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import threading
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone

from ..preprocessing.settings import normalise_settings
from ..sentences import ECGSentences
from .atomic import temporary_path, write_error

__all__ = ["STORE_FORMAT", "load_sentences", "release_mapped_pages", "save_sentences",
           "tokenize_to_store"]

STORE_FORMAT = "heartlang-sk/ecg-sentences"
"""``format`` field of a sentence store's ``header.json``."""

STORE_VERSION = 1
HEADER_FILE = "header.json"
ARRAY_NAMES = ("signals", "r_peaks", "starts", "stops", "leads", "n_beats", "n_dropped",
               "detection_leads")
"""The per-record arrays of :class:`~heartlang_sk.ECGSentences`, one ``<name>.npy`` file each."""
OPTIONAL_ARRAY_NAMES = ECGSentences.WINDOW_ARRAYS
"""Per-record arrays a store holds only when the sentences have them (windows of long records)."""


# -- writing --------------------------------------------------------------------------------------
def _append_array(array, file):
    """Write ``array``'s bytes at ``file``'s position (the one place a store's data is written)."""
    array.tofile(file)


class _StoreWriter:
    """Append sentence chunks to the ``.npy`` files of a store; ``close`` puts the store in place.

    Chunks are appended with ordinary file writes, not through a memory map, so the written data
    never counts in the process's resident memory. Each ``.npy`` header is written first for zero
    records and rewritten in place with the final count (numpy reserves room for that).

    Nothing of a store already in the folder is touched until every new file is written: the
    arrays go to temporary files next to their final names (:mod:`heartlang_sk.io.atomic`), and
    ``close`` moves them in place with ``os.replace`` and writes ``header.json`` last. A failed
    write (disk full) or an interrupt removes the temporary files and leaves the previous store as
    it was; the error names the file.
    """

    def __init__(self, path, overwrite=False, metadata=None):
        self.path = Path(path)
        self.metadata = dict(metadata or {})
        if self.path.exists() and not overwrite and any(p.exists() for p in self._store_files()):
            raise FileExistsError(f"{self.path} already holds a sentence store; pass "
                                  f"overwrite=True to replace it")
        self.path.mkdir(parents=True, exist_ok=True)
        self.files, self.temporaries = None, {}
        self.n_records = 0

    def _store_files(self):
        return [self.path / HEADER_FILE] + [self.path / f"{name}.npy"
                                            for name in ARRAY_NAMES + OPTIONAL_ARRAY_NAMES]

    @staticmethod
    def _present(sentences):
        return ARRAY_NAMES + tuple(name for name in OPTIONAL_ARRAY_NAMES
                                   if getattr(sentences, name, None) is not None)

    def _final(self, name):
        return self.path / f"{name}.npy"

    def _open(self, sentences):
        self.t, self.sampling_rate = sentences.t, sentences.sampling_rate
        self.preprocessing = sentences.preprocessing
        self.layouts = {name: (np.asarray(getattr(sentences, name)).dtype,
                               np.shape(getattr(sentences, name))[1:])
                        for name in self._present(sentences)}
        self.files, self.header_sizes = {}, {}
        for name, (dtype, tail) in self.layouts.items():
            with self._naming(name):
                self.temporaries[name] = temporary_path(self._final(name))
                self.files[name] = open(self.temporaries[name], "wb")
                self.header_sizes[name] = self._write_npy_header(self.files[name], dtype, (0, *tail))

    @contextlib.contextmanager
    def _naming(self, name):
        """Re-raise an ``OSError`` (disk full, ...) as one line naming the store file."""
        try:
            yield
        except OSError as error:
            raise write_error(self._final(name), error, what="sentence store") from error

    @staticmethod
    def _write_npy_header(file, dtype, shape):
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": tuple(int(n) for n in shape)}
        start = file.tell()
        np.lib.format.write_array_header_1_0(file, header)
        return file.tell() - start

    def append(self, sentences):
        """Write one chunk of sentences after the records written so far."""
        if len(sentences) == 0:
            return
        if self.files is None:
            self._open(sentences)
        elif (sentences.t, sentences.sampling_rate) != (self.t, self.sampling_rate):
            raise ValueError(f"chunk has t={sentences.t}, sampling_rate={sentences.sampling_rate:g}; "
                             f"the store t={self.t}, sampling_rate={self.sampling_rate:g}")
        if sentences.preprocessing != self.preprocessing:
            raise ValueError(f"chunk was made with tokenizer settings {sentences.preprocessing}, the store "
                             f"with {self.preprocessing}")
        if set(self._present(sentences)) != set(self.layouts):
            raise ValueError(f"chunk has arrays {sorted(self._present(sentences))}, the store "
                             f"{sorted(self.layouts)}: give every chunk record_ids and "
                             f"window_starts, or none")
        arrays = {name: np.asarray(getattr(sentences, name)) for name in self.layouts}
        for name, (dtype, tail) in self.layouts.items():  # check all before writing any
            if arrays[name].shape[1:] != tail:
                raise ValueError(f"chunk {name} has shape {arrays[name].shape[1:]} per record, the "
                                 f"store {tail}: every record must have the same leads and length")
            if not np.can_cast(arrays[name].dtype, dtype, casting="safe"):
                raise ValueError(f"chunk {name} is {arrays[name].dtype}, the store {dtype}: give "
                                 f"records of one dtype")
        for name, (dtype, _) in self.layouts.items():
            with self._naming(name):
                _append_array(np.ascontiguousarray(arrays[name], dtype=dtype), self.files[name])
        self.n_records += len(sentences)

    def close(self):
        """Finish the ``.npy`` files, then put them and ``header.json`` in place; the store is complete."""
        if self.files is None:
            raise ValueError("no records were written: a sentence store needs at least one record")
        for name, file in self.files.items():
            dtype, tail = self.layouts[name]
            with self._naming(name):
                file.seek(0)
                size = self._write_npy_header(file, dtype, (self.n_records, *tail))
                if size != self.header_sizes[name]:
                    raise RuntimeError(f"the .npy header of {name} changed size; cannot finish the store")
                file.flush()
                os.fsync(file.fileno())
                file.close()
        header = {
            "format": STORE_FORMAT, "version": STORE_VERSION, "n_records": self.n_records,
            "t": self.t, "sampling_rate": self.sampling_rate, "preprocessing": self.preprocessing,
            "arrays": {name: {"dtype": np.lib.format.dtype_to_descr(dtype),
                              "shape": [self.n_records, *tail]}
                       for name, (dtype, tail) in self.layouts.items()},
            "metadata": self.metadata,
        }
        header_path = self.path / HEADER_FILE
        try:
            header_temporary = temporary_path(header_path)
            self.temporaries[HEADER_FILE] = header_temporary
            header_temporary.write_text(json.dumps(header, indent=1, default=str))
        except OSError as error:
            raise write_error(header_path, error, what="sentence store") from error
        # Every byte is written: now only renames. Without its header a store reads as incomplete,
        # so the old header goes first and the new one comes last.
        header_path.unlink(missing_ok=True)
        for name in self.layouts:
            os.replace(self.temporaries.pop(name), self._final(name))
        for name in OPTIONAL_ARRAY_NAMES:  # an overwritten store's window arrays, no longer valid
            if name not in self.layouts:
                self._final(name).unlink(missing_ok=True)
        os.replace(self.temporaries.pop(HEADER_FILE), header_path)

    def abort(self):
        for file in (self.files or {}).values():
            file.close()
        for temporary in self.temporaries.values():
            temporary.unlink(missing_ok=True)
        self.temporaries = {}


def save_sentences(sentences, path, *, overwrite=False, metadata=None):
    """Write ECG sentences to a sentence store folder (see :meth:`ECGSentences.save`).

    Parameters
    ----------
    sentences : ECGSentences
    path : str or path-like
        Folder to write; created if needed.
    overwrite : bool, default=False
        Replace a store already in ``path`` (otherwise :class:`FileExistsError`).
    metadata : dict, optional
        JSON-serialisable information kept in ``header.json`` under ``"metadata"``.
    """
    writer = _StoreWriter(path, overwrite=overwrite, metadata=metadata)
    try:
        writer.append(sentences)
        writer.close()
    except BaseException:
        writer.abort()
        raise


# -- reading --------------------------------------------------------------------------------------
def read_header(path):
    """The ``header.json`` of a complete sentence store, as a dict."""
    header_path = Path(path) / HEADER_FILE
    if not header_path.is_file():
        raise FileNotFoundError(f"{path} is not a complete sentence store: {header_path} not found "
                                f"(an interrupted tokenize_to_store leaves no header)")
    header = json.loads(header_path.read_text())
    if header.get("format") != STORE_FORMAT or header.get("version", 0) > STORE_VERSION:
        raise ValueError(f"{path} is not a sentence store of format {STORE_FORMAT!r} version "
                         f"<= {STORE_VERSION}: {header.get('format')!r} {header.get('version')!r}")
    return header


def load_sentences(path, mmap_mode="r"):
    """Open a sentence store (see :meth:`ECGSentences.load`)."""
    header = read_header(path)
    n_records = header["n_records"]
    arrays = {}
    for name in ARRAY_NAMES + tuple(n for n in OPTIONAL_ARRAY_NAMES if n in header["arrays"]):
        array = np.load(Path(path) / f"{name}.npy", mmap_mode=mmap_mode, allow_pickle=False)
        if len(array) != n_records:
            raise ValueError(f"{name}.npy in {path} has {len(array)} records, header.json says "
                             f"{n_records}")
        arrays[name] = array
    return ECGSentences(**arrays, t=header["t"], sampling_rate=header["sampling_rate"],
                        preprocessing=normalise_settings(header.get("preprocessing")))


def release_mapped_pages(sentences):
    """Hand the pages a memory-mapped store has read back to the operating system.

    Pages read through a memory map stay resident in the process (and count in its RSS) until the
    kernel reclaims them. This drops them from the process (``madvise(MADV_DONTNEED)``); they stay
    in the system's file cache, so reading them again costs a page-table update, not a disk read.
    Arrays that are not shared, file-backed memory maps (in-memory arrays, copy-on-write maps
    opened with ``mmap_mode="c"``) are left alone, so this is safe to call on any sentences.

    Parameters
    ----------
    sentences : ECGSentences

    Examples
    --------
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk import QRSTokenizer
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(2, random_state=0)[0])
    >>> release_mapped_pages(S)  # in memory: nothing to do
    """
    if not hasattr(mmap, "MADV_DONTNEED"):
        return
    for name in ARRAY_NAMES + OPTIONAL_ARRAY_NAMES:
        array = getattr(sentences, name, None)
        mapping = getattr(array, "_mmap", None)  # np.memmap keeps its mmap.mmap here
        if mapping is None or getattr(array, "mode", "c") not in ("r", "r+", "w+"):
            continue
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (ValueError, OSError):  # a closed map, or a platform that refuses: nothing to free
            pass


# -- streaming tokenization -----------------------------------------------------------------------
def _is_array_like(records):
    return hasattr(records, "shape") and hasattr(records, "__getitem__") and hasattr(records, "__len__")


def _chunks(records, chunk_size):
    """Lazy chunks of ``records``: slices of an array-like, or the items of an iterable of chunks."""
    if _is_array_like(records):
        for start in range(0, len(records), chunk_size):
            yield records[start:start + chunk_size]
    else:
        yield from records


def _windows(chunks, size):
    """Lists of ``size`` consecutive chunks (the last may be shorter)."""
    window = []
    for chunk in chunks:
        window.append(chunk)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def _tokenize_chunk(tokenizer, records):
    """Tokenize one chunk (read here, in the worker); returns the sentences and the warnings raised.

    Warnings are recorded here only in a main thread (a worker process or a sequential run):
    ``warnings.catch_warnings`` is not thread-safe. In worker threads they reach the caller's
    recorder in :func:`tokenize_to_store` instead.
    """
    records = np.asarray(records)
    if threading.current_thread() is not threading.main_thread():
        return tokenizer.transform(records), []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sentences = tokenizer.transform(records)
    return sentences, list(caught)


def tokenize_to_store(tokenizer, records, path, *, chunk_size=1024, n_jobs=None, prefer="threads",
                      overwrite=False, verbose=False):
    """Tokenize records chunk by chunk into a sentence store on disk, in bounded memory.

    Chunks of ``chunk_size`` records are read lazily, tokenized in parallel by joblib, ``2 * n_jobs``
    chunks at a time, and appended in order to the store's ``.npy`` files by this process. Memory
    holds only those chunks, whatever the corpus size. Workers only compute: under a
    ``joblib.parallel_config(backend="dask")`` or ``"ray"`` context the chunks are tokenized on a
    cluster (array and :class:`WFDBRecords` chunks are read there) and the store is still written
    here, so no shared file system is needed.

    Parameters
    ----------
    tokenizer : QRSTokenizer
        Its parameters are used (fitted or not); it is cloned with ``n_jobs=1`` for the workers,
        since the parallelism is across chunks, and fitted on the first record.
    records : array-like of shape (n_records, n_leads, n_samples), or iterable of such chunks
        An array, ``np.memmap`` (e.g. ``np.load(file, mmap_mode="r")``), :class:`WFDBRecords` or
        any object with ``shape``, ``len`` and slicing is read ``chunk_size`` records at a time;
        any other iterable is taken as a sequence of chunks, each tokenized as it comes.
    path : str or path-like
        Folder of the store.
    chunk_size : int, default=1024
        Records per chunk (sliced inputs).
    n_jobs : int, default=None
        Parallel jobs (joblib; ``None`` is 1 unless a ``joblib.parallel_config`` says otherwise).
    prefer : {"threads", "processes"}, default="threads"
        joblib's soft hint for the backend when none is configured. The tokenizer's numpy work
        runs well in threads, which start at once; processes must import torch first.
    overwrite : bool, default=False
        Replace a store already in ``path``.
    verbose : bool, default=False
        Progress bar over chunks.

    Returns
    -------
    ECGSentences
        The store, opened memory-mapped (``ECGSentences.load(path, mmap_mode="r")``).

    Warns
    -----
    UserWarning
        One summary of the tokenizer's warnings over all chunks (records without a beat, lead
        fallbacks, flat leads): the store's ``n_beats`` and ``detection_leads`` tell which records.

    Examples
    --------
    >>> import tempfile
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> X, _ = make_ecg(6, random_state=0)
    >>> chunks = (X[i:i + 2] for i in range(0, 6, 2))  # e.g. read from disk one by one
    >>> S = tokenize_to_store(QRSTokenizer(sampling_rate=100), chunks, tempfile.mkdtemp())
    >>> in_memory = QRSTokenizer(sampling_rate=100).fit_transform(X)
    >>> len(S), bool((S.n_beats == in_memory.n_beats).all())
    (6, True)
    """
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunks = _chunks(records, chunk_size)
    first = next(chunks, None)
    if first is None or len(first) == 0:
        raise ValueError("no records to tokenize")
    worker_params = {name: value for name, value in (("n_jobs", 1), ("verbose", False))
                     if name in tokenizer.get_params()}
    worker = clone(tokenizer).set_params(**worker_params).fit(np.asarray(first[:1]))
    fitted_leads = getattr(tokenizer, "n_features_in_", worker.n_features_in_)
    if fitted_leads != worker.n_features_in_:
        raise ValueError(f"records have {worker.n_features_in_} leads, the tokenizer was fitted "
                         f"with {fitted_leads}")

    def all_chunks():
        yield first
        yield from chunks

    metadata = {"tokenizer": type(tokenizer).__name__,
                "tokenizer_params": {k: v for k, v in worker.get_params().items()
                                     if k not in worker_params}}
    writer = _StoreWriter(path, overwrite=overwrite, metadata=metadata)
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        total = -(-len(records) // chunk_size) if _is_array_like(records) else None
        progress = tqdm(total=total, desc="tokenize to store", unit="chunk")
    # joblib dispatches a new task whenever one finishes, not when its result is consumed: a
    # window of 2 * n_jobs chunks at a time keeps the results waiting to be written bounded.
    window = 2 * max(1, effective_n_jobs(n_jobs))
    try:
        with warnings.catch_warnings(record=True) as caught, \
                Parallel(n_jobs=n_jobs, prefer=prefer) as parallel:
            warnings.simplefilter("always")
            for chunks_in_window in _windows(all_chunks(), window):
                for sentences, chunk_warnings in parallel(delayed(_tokenize_chunk)(worker, chunk)
                                                          for chunk in chunks_in_window):
                    writer.append(sentences)
                    caught.extend(chunk_warnings)
                    if progress is not None:
                        progress.update()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        if progress is not None:
            progress.close()
    _report_warnings(caught, writer.n_records)
    return load_sentences(path, mmap_mode="r")


def _report_warnings(caught, n_records):
    """One summary for the tokenizer's per-chunk UserWarnings; any other warning as it was."""
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    for w in caught:
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if user:
        warnings.warn(f"the tokenizer warned {len(user)} times over the chunks of {n_records} records "
                      f"(first: {user[0].message}); the store's n_beats and detection_leads tell "
                      f"which records", UserWarning, stacklevel=3)


def __getattr__(name):
    # WFDBRecords lived here before io/wfdb_records.py: old imports still find it.
    if name == "WFDBRecords":
        from .wfdb_records import WFDBRecords

        return WFDBRecords
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
