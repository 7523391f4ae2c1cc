"""Smoke test of benchmarks/pretraining_ablation.py on a handful of ptbxl-2k records.

``--quick`` runs one-block models for one epoch: this checks the plumbing (vocabularies, parallel
pre-trainings, random-init references, probes, report), not the numbers. Skips without the data.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def ablation():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("pretraining_ablation",
                                                  BENCHMARKS / "pretraining_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_every_variant_beside_random_init(ablation, ptbxl2k_path, tmp_path):
    out = tmp_path / "out"
    frame = ablation.main(["--data", str(ptbxl2k_path), "--quick", "--jobs", "1", "--seeds", "0,1",
                           "--random-init-seeds", "0,1", "--variants", "base,lead-mask-0.5",
                           "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert set(frame["run"]) == {"base@0", "base@1", "lead-mask-0.5@0", "random-init@0",
                                 "random-init@1"}
    assert set(frame["task"]) == {"super", "rhythm"} and set(frame["pooling"]) == {"mean", "lead"}
    assert frame["test_auc"].between(0, 100).all()
    report = (out / "pretraining_ablation.md").read_text()
    assert "not the paper's corpus or test fold" in report and "--quick" in report
    assert "| lead-mask-0.5 | whole leads masked |" in report
    assert "## HeartLang − random-init" in report
    with pytest.raises(SystemExit):
        ablation.parse_args(["--data", str(ptbxl2k_path), "--variants", "nonsense"])


def test_quick_run_reports_the_issue13_directions(ablation, ptbxl2k_path, tmp_path):
    out = tmp_path / "out"
    frame = ablation.main(["--data", str(ptbxl2k_path), "--quick", "--jobs", "1", "--seeds", "0",
                           "--random-init-seeds", "0,1", "--variants", "base,together",
                           "--vocabulary", "3 epochs", "--poolings", "mean,lead,mean+std",
                           "--fractions", "0.1,1.0", "--probe-seeds", "0,1", "--features",
                           "--union", "together", "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert {"together@0", "random-init-rhythm@0", "features", "together@0+features"} <= set(frame["run"])
    assert set(frame["regime"]) == {"10%", "100%"}
    assert set(frame["pooling"]) == {"mean", "lead", "mean+std", "-"}
    union = frame[frame["run"] == "together@0+features"]
    assert len(union) and union["test_auc"].between(0, 100).all()
    report = (out / "pretraining_ablation.md").read_text()
    assert "## Each direction alone and together (issue 13)" in report
    assert "| together − random-init-rhythm, super 10%, mean pooling |" in report
    assert "| together + features − features, rhythm 10% |" in report
    # one pre-training seed: its 100 % cells are one probe fit (no spread), its 10 % cells two draws
    header = next(line for line in report.splitlines() if line.startswith("| run | n | Super 10%"))
    row = next(line for line in report.splitlines() if line.startswith("| together | 1 |"))
    cells = dict(zip(header.strip("|").split(" | "), row.strip("|").split(" | ")))
    assert "±" not in cells["Super 100%"] and "±" in cells["Super 10%"]
    for bad in (["--features", "--union", "base", "--union-pooling", "max"],  # not among --poolings
                ["--union", "base"],  # without --features
                ["--features", "--union", "nonsense"],
                ["--poolings", "mean,lead,max"]):  # not cut from the mean+std+lead pass
        with pytest.raises(SystemExit):
            ablation.parse_args(["--data", str(ptbxl2k_path), *bad])
