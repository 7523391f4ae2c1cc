"""`heartlang-sk embed` on raw records applies the pretrainer's tokenizer settings (issue 17, item 2)."""

import numpy as np
import pytest

from heartlang_sk import HeartLangPretrainer
from heartlang_sk.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TINY_VOCABULARY = ["--n-words", "16", "--word-dim", "8", "--epochs", "1", "--param",
                   "encoder_depth=1", "--param", "decoder_depth=1", "--param", "batch_size=8"]
TINY_PRETRAINING = ["--epochs", "1", "--depth", "1", "--param", "batch_size=8"]


def run(*argv):
    return main([str(a) for a in argv])


def test_embed_raw_ptbxl_records_with_the_high_pass_the_pretrainer_was_trained_with(ptbxl_path, tmp_path, capsys):
    folder = ptbxl_path / "records100"
    assert run("tokenize", folder, "--max-records", 12, "--bandpass", "0.5,", "--plots", 0, "--out", tmp_path) == 0
    assert run("vocabulary", tmp_path / "sentences", *TINY_VOCABULARY, "--out", tmp_path) == 0
    assert run("pretrain", tmp_path / "sentences", "--vocabulary", tmp_path / "vocabulary.safetensors",
               *TINY_PRETRAINING, "--out", tmp_path) == 0
    pretrainer = tmp_path / "pretrainer.safetensors"
    assert HeartLangPretrainer.load_weights(pretrainer).preprocessing_["bandpass"] == (0.5, None)
    assert run("embed", tmp_path / "sentences", "--pretrainer", pretrainer, "--out", tmp_path / "stored.npy") == 0
    capsys.readouterr()
    # No flag: the raw records are high-passed as in training, giving the stored sentences' embeddings.
    assert run("embed", folder, "--max-records", 12, "--pretrainer", pretrainer, "--out", tmp_path / "raw.npy") == 0
    assert "pretrainer's settings: bandpass=(0.5, None)" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(tmp_path / "raw.npy"), np.load(tmp_path / "stored.npy"), rtol=1e-5, atol=1e-6)
    # Another filter asked for: refused in one line naming the setting, not embedded differently.
    assert run("embed", folder, "--max-records", 12, "--bandpass", "0.5,40", "--pretrainer", pretrainer,
               "--out", tmp_path / "other.npy") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("heartlang-sk: error:") and "bandpass=(0.5, 40.0) here, (0.5, None) in training" in error
    assert "\n" not in error
