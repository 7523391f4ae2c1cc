"""What the benchmark scripts share: argument types, the ptbxl-2k records, the cache of fitted
models, and the cells and Markdown tables of their reports.

The scripts import it as ``_common`` (they put ``benchmarks/`` on ``sys.path``). Every table goes
through :func:`heartlang_sk.report.markdown_table`, so reports escape cells the same way.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from heartlang_sk.datasets import load_ptbxl2k
from heartlang_sk.evaluation import PUBLISHED, PUBLISHED_FRACTIONS
from heartlang_sk.report import markdown_table

TASK_TITLES = {"super": "PTBXL-Super", "sub": "PTBXL-Sub", "form": "PTBXL-Form",
               "rhythm": "PTBXL-Rhythm"}
DEFAULT_CACHE = "/tmp/heartlang_probe_cache"


# -- arguments ---------------------------------------------------------------------------------------
def comma_list(item_type=str):
    """An ``argparse`` type: ``"0,1,2"`` → ``[0, 1, 2]`` (items converted by ``item_type``).

    Blank items are skipped, so ``"super, rhythm,"`` gives ``["super", "rhythm"]``. argparse
    applies the type to string defaults too.

    Examples
    --------
    >>> comma_list(int)("0, 1,2")
    [0, 1, 2]
    >>> comma_list()("super, rhythm,")
    ['super', 'rhythm']
    """
    def parse(text):
        return [item_type(item.strip()) for item in str(text).split(",") if item.strip()]

    parse.__name__ = f"comma-separated {getattr(item_type, '__name__', 'value')} list"
    return parse


# -- data --------------------------------------------------------------------------------------------
def load_records(data, quick=False, quick_records=12):
    """All ptbxl-2k records (labelled or not) with their metadata; ``quick`` keeps the first
    ``quick_records`` of each fold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, _, meta = load_ptbxl2k(data, task="super", drop_unlabelled=False)
    if quick:
        keep = np.sort(np.concatenate([np.flatnonzero(meta["strat_fold"].to_numpy() == fold)[
            :quick_records] for fold in sorted(meta["strat_fold"].unique())]))
        X, meta = X[keep], meta.iloc[keep]
    return X, meta


# -- cache -------------------------------------------------------------------------------------------
def code_version():
    """Hash of the package's source: a cached model is reused only with the code that fitted it."""
    root = Path(__file__).resolve().parents[1] / "heartlang_sk"
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_key(*parts):
    """A short key of ``parts`` (JSON-able settings) and the package source."""
    text = json.dumps([code_version(), *parts], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def cached(cache, name, key, build):
    """``build()`` once per key: the result (and the seconds it took) is kept under ``cache``."""
    path = Path(cache) / f"{name}-{key}.joblib"
    if path.exists():
        print(f"[cache] {name}: {path}", file=sys.stderr)
        return joblib.load(path)
    print(f"[build] {name} ...", file=sys.stderr)
    wall, cpu = time.perf_counter(), time.process_time()
    value = build()
    result = {"value": value, "wall_seconds": time.perf_counter() - wall,
              "cpu_seconds": time.process_time() - cpu, "built": datetime.now(timezone.utc).isoformat()}
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(result, path)
    print(f"[build] {name}: {result['wall_seconds']:.0f} s wall", file=sys.stderr)
    return result


# -- report cells and tables -------------------------------------------------------------------------
def table(header, rows):
    """A Markdown table as a list of lines (:func:`heartlang_sk.report.markdown_table`); cells are
    written as they are (``str``).

    Examples
    --------
    >>> table(["model", "AUC"], [["raw", "75.00 ± 1.00"]])
    ['| model | AUC |', '|---|---|', '| raw | 75.00 ± 1.00 |']
    """
    frame = pd.DataFrame([[str(cell) for cell in row] for row in rows], columns=list(header))
    return markdown_table(frame).split("\n")


def summary_cell(summary, model, task, method, fraction, column="test_auc", missing=None):
    """The ``column`` of one model, task, probe and regime in a ``summarize`` table, or ``missing``."""
    row = summary[(summary["model"] == model) & (summary["task"] == task)
                  & (summary["method"] == method) & np.isclose(summary["fraction"], fraction)]
    return row[column].iloc[0] if len(row) else missing


def published_cell(model, task, fraction):
    """A published macro AUC (%) of :data:`heartlang_sk.evaluation.PUBLISHED`, or ``"–"``."""
    for published_fraction, value in zip(PUBLISHED_FRACTIONS, PUBLISHED[model][task]):
        if np.isclose(published_fraction, fraction) and value is not None:
            return f"{value:.2f}"
    return "–"
