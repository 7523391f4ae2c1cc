"""heartlang-sk embed / evaluate --official-checkpoint: a released-format file in the command line."""

import numpy as np
import pandas as pd
import pytest
import torch

from heartlang_sk import HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.cli import main
from heartlang_sk.datasets import make_ecg
from heartlang_sk.models.heartlang_official import OfficialECGFormer, OfficialVQHBR, write_official_checkpoint


def run(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("official_cli")
    torch.manual_seed(0)
    tiny = dict(embed_dim=64, heads=4, head_dim=16, mlp_dim=256)
    write_official_checkpoint(OfficialECGFormer(depth=1, n_words=16, **tiny), folder / "pre.pth")
    write_official_checkpoint(OfficialVQHBR(dict(tiny, depth=1), dict(tiny, depth=1), n_words=16, word_dim=8),
                              folder / "vq.pth")
    X, _ = make_ecg(6, sampling_rate=250, random_state=0)
    np.save(folder / "records.npy", X)
    (folder / "text.pth").write_text("not a checkpoint\n")
    return folder, X


def test_embed_raw_records_with_an_official_checkpoint(files, tmp_path):
    folder, X = files
    assert run("embed", folder / "records.npy", "--sampling-rate", 250, "--official-checkpoint",
               folder / "pre.pth", "--pooling", "cls", "--device", "cpu", "--out", tmp_path / "Z.npy") == 0
    # the same as the Python three lines, with the released model's tokenizer preset
    S = QRSTokenizer.official(sampling_rate=250).fit_transform(X)
    pretrainer = HeartLangPretrainer.from_official(folder / "pre.pth", device="cpu")
    expected = HeartLangEmbedder(pretrainer, pooling="cls", device="cpu").fit_transform(S)
    np.testing.assert_allclose(np.load(tmp_path / "Z.npy"), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, message", [
    ("absent.pth", "does not exist"),
    ("text.pth", "is not a torch checkpoint"),
    ("vq.pth", "is a vqhbr checkpoint, not a pretraining one"),
])
def test_bad_checkpoints_are_one_line_errors(files, tmp_path, capsys, name, message):
    folder, _ = files
    assert run("embed", folder / "records.npy", "--sampling-rate", 250, "--official-checkpoint", folder / name,
               "--out", tmp_path / "Z.npy") == 2
    err = capsys.readouterr().err
    assert err.startswith("heartlang-sk: error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "Z.npy").exists()


def test_embed_needs_exactly_one_encoder(files, tmp_path, capsys):
    folder, _ = files
    with pytest.raises(SystemExit):
        run("embed", folder / "records.npy", "--sampling-rate", 250, "--out", tmp_path / "Z.npy")
    with pytest.raises(SystemExit):
        run("embed", folder / "records.npy", "--pretrainer", "p.joblib", "--official-checkpoint",
            folder / "pre.pth", "--out", tmp_path / "Z.npy")


def test_evaluate_ptbxl2k_with_an_official_checkpoint(files, ptbxl2k_path, tmp_path):
    folder, _ = files
    assert run("evaluate", ptbxl2k_path, "--official-checkpoint", folder / "pre.pth", "--baselines", "raw",
               "--task", "rhythm", "--train-folds", "1-2", "--fractions", 1, "--seeds", 0, "--pooling", "cls",
               "--device", "cpu", "--out", tmp_path) == 0
    models = pd.read_csv(tmp_path / "results.csv")["model"].unique().tolist()
    assert models == ["HeartLang (released checkpoint)", "raw downsampled signal"]
    assert "official checkpoint" in (tmp_path / "report.md").read_text()
