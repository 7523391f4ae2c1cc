"""The command line on records of unequal length: --window cuts them into windows and says how many
each record gave; embed pools the windows back to one row per record."""

import numpy as np
import pandas as pd
import pytest

from heartlang_sk import ECGSentences, ECGVocabulary, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.cli import main
from heartlang_sk.datasets import make_ecg

SECONDS = {"long": 95, "short": 41}  # 41 s to 95 s, at 100 Hz


def run(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def unequal_records(tmp_path_factory):
    import wfdb

    folder = tmp_path_factory.mktemp("unequal")
    X, _ = make_ecg(2, sampling_rate=100, duration=max(SECONDS.values()), random_state=0)
    for record, (name, seconds) in zip(X, SECONDS.items()):
        signal = record[:, :seconds * 100].T.astype(np.float64)
        wfdb.wrsamp(name, fs=100, units=["mV"] * 12, sig_name=[f"L{k}" for k in range(12)],
                    p_signal=signal, fmt=["16"] * 12, write_dir=str(folder))
    return folder


@pytest.fixture(scope="module")
def pretrainer_file(tmp_path_factory):
    X, _ = make_ecg(16, random_state=1)
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocabulary = ECGVocabulary(n_words=8, word_dim=8, encoder_depth=1, decoder_depth=1,
                               max_epochs=1, batch_size=8, random_state=0).fit(S)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8,
                                     random_state=0).fit(S)
    path = tmp_path_factory.mktemp("model") / "pretrainer.safetensors"
    pretrainer.save_weights(path)
    return path


def test_tokenize_without_window_names_what_cropping_drops(unequal_records, tmp_path):
    with pytest.warns(UserWarning, match=r"cropped to the shortest, 4100 samples \(41 s\), which "
                                         r"drops 40% of the signal \(54 s of 2.27 min\).*--window 10"):
        assert run("tokenize", unequal_records, "--plots", 0, "--out", tmp_path) == 0
    assert ECGSentences.load(tmp_path / "sentences").signals.shape[2] == 4100


def test_tokenize_window_reports_windows_per_record(unequal_records, tmp_path, capsys):
    assert run("tokenize", unequal_records, "--window", 10, "--plots", 1, "--out", tmp_path) == 0
    out, err = capsys.readouterr()
    assert "read 2 records of 41 s to 95 s at 100 Hz" in out and "-> 15 windows of 10 s" in out
    assert "  long: 10 windows (95 s)" in out and "  short: 5 windows (41 s)" in out
    assert "cropped" not in err
    sentences = ECGSentences.load(tmp_path / "sentences")  # the store keeps the windows
    assert len(sentences) == 15 and sentences.signals.shape[2] == 1000
    assert sentences.record_ids.tolist() == ["long"] * 10 + ["short"] * 5
    table = pd.read_csv(tmp_path / "records.csv")
    assert table["window_start_s"].tolist()[8:11] == [80, 85, 0]  # the last ends at 95 s
    assert (table["n_beats"] >= 8).all()  # every 10-s window has its beats
    assert pd.read_csv(tmp_path / "windows.csv")["windows"].tolist() == [10, 5]


def test_embed_pools_windows_per_record(unequal_records, pretrainer_file, tmp_path, capsys):
    assert run("embed", unequal_records, "--window", 10, "--pretrainer", pretrainer_file,
               "--out", tmp_path / "Z.csv") == 0
    assert "pooled 15 window embeddings into 2 records (mean)" in capsys.readouterr().out
    pooled = pd.read_csv(tmp_path / "Z.csv")
    assert pooled["record"].tolist() == ["long", "short"]
    assert run("embed", unequal_records, "--window", 10, "--window-pooling", "none",
               "--pretrainer", pretrainer_file, "--out", tmp_path / "Zw.csv") == 0
    windows = pd.read_csv(tmp_path / "Zw.csv")
    assert len(windows) == 15 and windows["record"].tolist()[:2] == ["long@0s", "long@10s"]
    # the pooled row is the mean of the record's window rows
    long = windows[windows["record"].str.startswith("long@")].iloc[:, 1:].to_numpy().mean(axis=0)
    np.testing.assert_allclose(pooled.iloc[0, 1:].to_numpy(float), long, rtol=1e-4, atol=1e-5)
    # sentences written by 'tokenize --window' embed the same way
    assert run("tokenize", unequal_records, "--window", 10, "--plots", 0,
               "--out", tmp_path / "tok") == 0
    assert run("embed", tmp_path / "tok" / "sentences", "--pretrainer", pretrainer_file,
               "--out", tmp_path / "Z2.csv") == 0
    again = pd.read_csv(tmp_path / "Z2.csv")
    assert again["record"].tolist() == ["long", "short"]
    np.testing.assert_allclose(again.iloc[:, 1:].to_numpy(float),
                               pooled.iloc[:, 1:].to_numpy(float), rtol=1e-4, atol=1e-5)


def test_window_must_be_positive_and_not_with_store(unequal_records, tmp_path):
    with pytest.raises(SystemExit):
        run("tokenize", unequal_records, "--window", "0")
    with pytest.raises(ValueError, match="--window and --store cannot be combined"):
        run("tokenize", unequal_records, "--window", 10, "--store", "--out", tmp_path, "--debug")
