"""heartlang-sk align / zeroshot on the real ptbxl-2k folder (one tiny epoch: the plumbing, not the numbers)."""

import json

import pandas as pd
import pytest

from heartlang_sk.cli import main


def test_align_then_zeroshot_on_ptbxl2k(ptbxl2k_path, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["align", str(ptbxl2k_path), "--folds", "9", "--epochs", "1", "--depth", "1",
                   "--losses", "global,caption", "--device", "cpu", "--quiet", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "103 of 259 records in folds [9] have a report" in printed
    history = pd.read_csv(out / "align_history.csv")
    assert {"train_global_loss", "train_caption_loss"} <= set(history.columns)
    from heartlang_sk import ECGReportAligner

    assert ECGReportAligner.load_weights(out / "aligner.safetensors").temporal_encoding == "rhythm"
    status = main(["zeroshot", str(ptbxl2k_path), "--aligner", str(out / "aligner.safetensors"), "--task", "rhythm",
                   "--folds", "9", "--quiet", "--out", str(tmp_path / "scores.csv")])
    printed = capsys.readouterr().out
    assert status == 0, printed
    scores = pd.read_csv(tmp_path / "scores.csv", index_col=0)
    assert scores.shape == (259, 12) and "AFIB" in scores.columns
    assert "zero-shot macro AUC" in printed


def test_zeroshot_refuses_a_prompt_class_without_text(ptbxl2k_path, tmp_path, capsys):
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"SR": ["sinus rhythm"], "AFIB": []}))
    # the prompts are checked before any model is needed: a non-aligner file fails first otherwise
    status = main(["zeroshot", str(ptbxl2k_path), "--aligner", str(prompts), "--prompts", str(prompts),
                   "--out", str(tmp_path)])
    assert status == 2
    assert "prompts for class 'AFIB' have no text" in capsys.readouterr().err


def test_align_rejects_unknown_losses(capsys):
    with pytest.raises(SystemExit):
        main(["align", "somewhere", "--losses", "global,rhythm"])
    assert "choose one or more of global, local, caption" in capsys.readouterr().err
