"""Smoke test of benchmarks/heartlang_probe.py: the whole pipeline on a handful of ptbxl-2k records.

``--quick`` keeps a few records per fold and one-block models trained for one epoch, so this checks
the plumbing (tokenize, vocabulary, pre-training, embeddings, probes, report, cache), not the
numbers. Skips without the data (``ptbxl2k_path`` fixture).
"""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "heartlang_probe.py"


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location("heartlang_probe", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_report_with_every_model(probe, ptbxl2k_path, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--data", str(ptbxl2k_path), "--quick", "--quick-records", "6", "--tasks", "super",
            "--seeds", "0", "--fractions", "1.0", "--out", str(out), "--cache", str(cache),
            "--threads", "1"]
    results, summary = probe.main(argv)

    encoders = {"heartlang", "random-init", "fixed-window"}
    assert set(results["model"]) == (encoders | {f"{m}+lead" for m in encoders}
                                     | {"bag-of-words", "features", "raw"})
    assert set(results.loc[results["method"] == "torch", "model"]) == encoders
    assert (results["task"] == "super").all() and results["test_auc"].notna().all()
    report = (out / "heartlang_probe.md").read_text()
    assert "not the paper's corpus or test fold" in report
    assert "--quick" in report and "| HeartLang (QRS tokens, pre-trained) |" in report
    assert (out / "heartlang_probe_curves.png").stat().st_size > 0
    history = pd.read_csv(out / "heartlang_probe_pretraining.csv")
    assert {"vocabulary", "pretrainer"} <= set(history["stage"])
    rows = pd.read_csv(out / "heartlang_probe.csv")
    assert len(rows[rows["part"] == "main"]) == len(results)
    assert (rows["part"] == "random-init seed spread").any()
    assert "## Diagnostics" in report and "rr_cv" in report

    # Pre-training never sees fold 9: the pretrainer's records are folds 1-8 only.
    import _pretraining  # benchmarks/ is on sys.path once the script is loaded

    args = probe.parse_args(argv)
    _, meta = probe.load_records(args.data, args.quick, args.quick_records)
    train_rows, held_rows = _pretraining.pretraining_rows(meta)
    assert set(meta["strat_fold"].iloc[train_rows]) | set(meta["strat_fold"].iloc[held_rows]) <= set(
        range(1, 9))
    assert not set(train_rows) & set(held_rows)

    # Fitted models are cached: a second fit_models loads them instead of training again.
    cached = sorted(path.name for path in cache.iterdir())
    assert any(name.startswith("pretrainer-qrs") for name in cached)
    X, meta = probe.load_records(args.data, args.quick, args.quick_records)
    _, models, _, _ = probe.fit_models(args, X, meta)
    assert sorted(path.name for path in cache.iterdir()) == cached
    assert models["qrs"]["pretrainer"]["value"].history_.shape[0] == 1
