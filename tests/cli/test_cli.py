"""The heartlang-sk command line: every subcommand end to end on tiny settings, and its errors."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from heartlang_sk import ECGSentences, ECGVocabulary, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.cli import build_parser, main
from heartlang_sk.cli.demo import ZERO_SHOT_NAME
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.store import load_sentences

# Records without a label for the task are dropped with a warning: expected with these subsets.
pytestmark = pytest.mark.filterwarnings("ignore:load_ptbxl:UserWarning")

TINY_VOCABULARY = ["--n-words", "16", "--word-dim", "8", "--epochs", "1", "--param",
                   "encoder_depth=1", "--param", "decoder_depth=1", "--param", "batch_size=8"]
TINY_PRETRAINING = ["--epochs", "1", "--depth", "1", "--param", "batch_size=8"]
N_RECORDS = 12


def run(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    X, _ = make_ecg(N_RECORDS, sampling_rate=250, random_state=0)
    np.save(folder / "ecg.npy", X.astype(np.float32))
    return folder / "ecg.npy"


@pytest.fixture(scope="module")
def stages(records, tmp_path_factory):
    """tokenize -> vocabulary -> pretrain through the command line, into one folder."""
    out = tmp_path_factory.mktemp("stages")
    assert run("tokenize", records, "--sampling-rate", 250, "--plots", 1, "--out", out) == 0
    assert run("vocabulary", out / "sentences", *TINY_VOCABULARY, "--out", out) == 0
    assert run("pretrain", out / "sentences", "--vocabulary", out / "vocabulary.safetensors",
               *TINY_PRETRAINING, "--out", out) == 0
    return out


def test_stages_write_models_histories_and_pictures(stages):
    written = {path.name for path in stages.iterdir()}
    assert {"sentences", "records.csv", "tokenization_0.png", "sentence_0.png",
            "vocabulary.safetensors", "vocabulary_history.csv", "vocabulary_curves.png",
            "reconstructions.png", "top_words.png", "vocabulary_map.png", "pretrainer.safetensors",
            "pretraining_history.csv", "pretraining_curves.png"} <= written

    sentences = load_sentences(stages / "sentences")
    assert isinstance(sentences, ECGSentences) and len(sentences) == N_RECORDS
    table = pd.read_csv(stages / "records.csv")
    assert table["n_beats"].tolist() == sentences.n_beats.tolist()

    vocabulary = ECGVocabulary.load_weights(stages / "vocabulary.safetensors")
    assert isinstance(vocabulary, ECGVocabulary)
    assert (vocabulary.n_words, vocabulary.encoder_depth, vocabulary.batch_size) == (16, 1, 8)
    assert len(pd.read_csv(stages / "vocabulary_history.csv")) == 1

    pretrainer = HeartLangPretrainer.load_weights(stages / "pretrainer.safetensors")
    assert isinstance(pretrainer, HeartLangPretrainer) and pretrainer.depth == 1
    assert pretrainer.vocabulary_.codebook_.shape == (16, 8)
    history = pd.read_csv(stages / "pretraining_history.csv")
    assert {"train_loss", "train_masked_accuracy"} <= set(history)
    # the default recipe is 'rhythm': every loss term of it is recorded
    assert (pretrainer.temporal_encoding, pretrainer.rhythm_target, pretrainer.waveform_weight) == (
        "rhythm", "beat", 1.0)
    assert {"train_word_loss", "train_rhythm_loss", "train_waveform_loss"} <= set(history)


def test_pretrain_recipe_paper_trains_the_papers_objective(stages, tmp_path):
    assert run("pretrain", stages / "sentences", "--vocabulary", stages / "vocabulary.safetensors",
               *TINY_PRETRAINING, "--recipe", "paper", "--out", tmp_path) == 0
    pretrainer = HeartLangPretrainer.load_weights(tmp_path / "pretrainer.safetensors")
    assert (pretrainer.temporal_encoding, pretrainer.rhythm_target, pretrainer.waveform_weight) == (
        "second", "none", 0.0)
    assert "train_waveform_loss" not in pd.read_csv(tmp_path / "pretraining_history.csv")


def test_tokenize_reads_a_wfdb_folder_with_its_sampling_rate(ptbxl_path, tmp_path):
    assert run("tokenize", ptbxl_path / "records100", "--max-records", 3, "--bandpass", "0.5,",
               "--plots", 0, "--out", tmp_path) == 0
    sentences = load_sentences(tmp_path / "sentences")
    assert sentences.sampling_rate == 100 and sentences.signals.shape == (3, 12, 1000)
    assert pd.read_csv(tmp_path / "records.csv")["record"].tolist() == [
        "00000/00001_lr", "00000/00002_lr", "00000/00003_lr"]


def test_tokenize_store_streams_a_wfdb_folder_into_a_sentence_store(ptbxl_path, stages, tmp_path):
    folder = ptbxl_path / "records100"
    assert run("tokenize", folder, "--store", "--max-records", 6, "--plots", 1,
               "--out", tmp_path / "lazy") == 0
    assert run("tokenize", folder, "--max-records", 6, "--plots", 0, "--out", tmp_path / "eager") == 0
    store = tmp_path / "lazy" / "sentences"
    assert (store / "header.json").is_file()
    streamed = load_sentences(store)
    eager = load_sentences(tmp_path / "eager" / "sentences")
    assert isinstance(streamed.signals, np.memmap)
    np.testing.assert_array_equal(streamed.tokens, eager.tokens)
    np.testing.assert_array_equal(streamed.leads, eager.leads)
    np.testing.assert_array_equal(streamed.times, eager.times)
    assert (pd.read_csv(tmp_path / "lazy" / "records.csv")["record"].tolist()
            == pd.read_csv(tmp_path / "eager" / "records.csv")["record"].tolist())
    # Later commands take the store folder: embed names the records from records.csv.
    assert run("embed", store, "--pretrainer", stages / "pretrainer.safetensors",
               "--out", tmp_path / "Z.csv") == 0
    table = pd.read_csv(tmp_path / "Z.csv", dtype={"record": str})
    assert table["record"].tolist()[:2] == ["00000/00001_lr", "00000/00002_lr"] and len(table) == 6
    with pytest.raises(ValueError, match="the WFDB headers give 100 Hz, but sampling rate 500 was asked for"):
        run("tokenize", folder, "--store", "--sampling-rate", 500, "--out", tmp_path / "x",
            "--debug")


def test_embed_saved_sentences_and_raw_records(stages, records, tmp_path):
    pretrainer = stages / "pretrainer.safetensors"
    assert run("embed", stages / "sentences", "--pretrainer", pretrainer,
               "--out", tmp_path / "Z.csv") == 0
    table = pd.read_csv(tmp_path / "Z.csv")
    assert table.shape == (N_RECORDS, 1 + 64)
    assert table.columns[:2].tolist() == ["record", "heartlang0"]
    # Raw records are tokenized on the fly the same way: the same embeddings.
    assert run("embed", records, "--sampling-rate", 250, "--pretrainer", pretrainer,
               "--out", tmp_path / "Z.npy") == 0
    np.testing.assert_allclose(np.load(tmp_path / "Z.npy"), table.iloc[:, 1:].to_numpy(),
                               rtol=1e-5, atol=1e-6)
    assert run("embed", stages / "sentences", "--pretrainer", pretrainer, "--pooling",
               "lead", "--out", tmp_path / "Z_lead.npy") == 0
    assert np.load(tmp_path / "Z_lead.npy").shape == (N_RECORDS, 12 * 64)


def test_embed_parquet_needs_pyarrow(stages, tmp_path, capsys):
    code = run("embed", stages / "sentences", "--pretrainer", stages / "pretrainer.safetensors",
               "--out", tmp_path / "Z.parquet")
    if importlib.util.find_spec("pyarrow") is None:
        assert code == 2 and "pyarrow" in capsys.readouterr().err
    else:
        assert code == 0 and len(pd.read_parquet(tmp_path / "Z.parquet")) == N_RECORDS


def test_plot_draws_what_it_is_given(stages, tmp_path):
    assert run("plot", "--sentences", stages / "sentences", "--vocabulary",
               stages / "vocabulary.safetensors", "--pretrainer", stages / "pretrainer.safetensors",
               "--history", stages / "vocabulary_history.csv", "--records", 3,
               "--out", tmp_path) == 0
    assert {path.name for path in tmp_path.iterdir()} == {
        "tokenization_3.png", "sentence_3.png",
        "vocabulary_curves.png", "reconstructions.png", "top_words.png", "vocabulary_map.png",
        "pretraining_curves.png", "curves_vocabulary_history.png"}


def test_evaluate_ptbxl_protocol(stages, ptbxl_path, tmp_path, capsys):
    assert run("evaluate", ptbxl_path, "--pretrainer", stages / "pretrainer.safetensors",
               "--train-folds", "1-3", "--test-folds", 9, "--fractions", "0.1,1", "--seeds", "0,1",
               "--out", tmp_path) == 0
    results = pd.read_csv(tmp_path / "results.csv")
    models = ["HeartLang (pre-trained encoder)", "random-initialised encoder",
              "hand-made ECG features", "raw downsampled signal"]
    assert results["model"].unique().tolist() == models
    assert len(results) == 4 * 2 * 2 and results["test_auc"].between(0, 1).all()
    table = pd.read_csv(tmp_path / "results_table.csv")
    assert table["model"].tolist() == models
    assert list(table.columns[1:]) == ["10% macro AUC (%)", "100% macro AUC (%)"]
    printed = capsys.readouterr().out
    assert all(f"| {model} |" in printed for model in models)
    assert_report_is_self_contained(tmp_path, {"roc_curves.png"})


def test_evaluate_ptbxl2k_baseline_only(ptbxl2k_path, tmp_path):
    assert run("evaluate", ptbxl2k_path, "--task", "rhythm", "--baselines", "raw",
               "--train-folds", "1-2", "--fractions", 1, "--seeds", 0, "--out", tmp_path) == 0
    assert pd.read_csv(tmp_path / "results.csv")["model"].unique().tolist() == [
        "raw downsampled signal"]


def assert_report_is_self_contained(folder, pictures):
    report = (folder / "report.md").read_text()
    referenced = set(re.findall(r"\]\(([^)]+\.png)\)", report))
    assert pictures <= referenced
    assert all((folder / name).is_file() for name in referenced)


def test_demo_on_synthetic_ecg(tmp_path, capsys):
    assert run("demo", "--n-records", 24, "--sampling-rate", 100, "--epochs", 1, "--n-words", 16,
               "--depth", 1, "--out", tmp_path) == 0
    printed = capsys.readouterr().out
    for model in ("HeartLang (pre-trained encoder)", "random-initialised encoder",
                  "hand-made ECG features", "raw downsampled signal"):
        assert f"| {model} |" in printed
    # The zero-shot row: no few-label cells, an accuracy and a macro AUC in [0, 1].
    row = next(line for line in printed.splitlines() if line.startswith(f"| {ZERO_SHOT_NAME} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:3] == ["", ""] and all(0 <= float(cell) <= 1 for cell in cells[3:])
    assert "synthetic template report" in printed
    assert "synthetic template report" in (tmp_path / "report.md").read_text()
    assert ("| model | accuracy, 5 labels/class | macro AUC, 5 labels/class | accuracy | macro AUC |"
            in (tmp_path / "results.md").read_text())
    assert_report_is_self_contained(tmp_path, {
        "tokenization_normal.png", "vocabulary_curves.png", "reconstructions.png",
        "top_words.png", "vocabulary_map.png", "pretraining_curves.png", "roc_curves.png"})
    assert (tmp_path / "sentence_afib.png").is_file()  # saved, not shown
    pretrainer = HeartLangPretrainer.load_weights(tmp_path / "pretrainer.safetensors")
    assert pretrainer.history_.shape[0] == 1 and pretrainer.depth == 1


def test_demo_on_ptbxl(ptbxl_path, tmp_path, capsys):
    assert run("demo", "--ptbxl", ptbxl_path, "--train-folds", 1, "--epochs", 1,
               "--n-words", 16, "--depth", 1, "--fractions", 1, "--seeds", 0,
               "--out", tmp_path) == 0
    assert "| 100% macro AUC (%) |" in capsys.readouterr().out
    assert_report_is_self_contained(tmp_path, {"roc_curves.png", "reconstructions.png"})
    assert "Published numbers, for context" in (tmp_path / "report.md").read_text()


# -- user mistakes -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    X = np.random.default_rng(0).normal(size=(2, 12, 1000)).astype(np.float32)
    X[1, 3, 10] = np.nan
    np.save(folder / "nan.npy", X)
    np.save(folder / "short.npy", np.zeros((2, 12, 50), dtype=np.float32))
    (folder / "notes.txt").write_text("not an ECG")
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(4, random_state=0)[0])
    joblib.dump(sentences, folder / "sentences.joblib")
    joblib.dump(HeartLangPretrainer(max_epochs=0, depth=1, random_state=0).fit(sentences),
                folder / "pretrainer.joblib")
    return folder


MISTAKES = {
    "missing path": (["tokenize", "{bad}/absent"], "no such file or folder"),
    "wrong file type": (["tokenize", "{bad}/notes.txt"], "expected a folder of WFDB records"),
    "array without rate": (["tokenize", "{bad}/nan.npy"], "holds no sampling rate"),
    "NaN data": (["tokenize", "{bad}/nan.npy", "--sampling-rate", "100"], "contain NaN"),
    "too short": (["tokenize", "{bad}/short.npy", "--sampling-rate", "100"],
                  "records too short for one beat"),
    "too short, streamed": (["tokenize", "{bad}/short.npy", "--sampling-rate", "100", "--store"],
                            "records too short for one beat"),
    "not sentences": (["vocabulary", "{bad}/nan.npy"], "expected the sentences/ folder"),
    "wrong model": (["pretrain", "{stages}/sentences", "--vocabulary",
                     "{stages}/pretrainer.safetensors"], "holds a HeartLangPretrainer, not a ECGVocabulary"),
    "not a model file": (["pretrain", "{stages}/sentences", "--vocabulary", "{bad}/notes.txt"],
                         "is not a heartlang-sk model file"),
    "pickle without --trust-pickle": (["vocabulary", "{bad}/sentences.joblib"],
                                      "is a pickle, and loading a pickle runs any code inside it"),
    "pickled model without --trust-pickle": (["embed", "{stages}/sentences", "--pretrainer",
                                              "{bad}/pretrainer.joblib", "--out", "{bad}/Z.csv"],
                                             "pass --trust-pickle if you made this file yourself"),
    "unknown parameter": (["vocabulary", "{stages}/sentences", "--param", "colour=1"],
                          "Invalid parameter 'colour'"),
    "embeddings format": (["embed", "{stages}/sentences", "--pretrainer",
                           "{stages}/pretrainer.safetensors", "--out", "{bad}/Z.txt"],
                          "unknown embeddings format"),
    "not PTB-XL": (["evaluate", "{bad}"], "neither a PTB-XL folder"),
    "nothing to plot": (["plot"], "nothing to plot"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_user_mistake_prints_one_line_and_exits_2(mistake, bad_files, stages, tmp_path, capsys):
    argv, message = MISTAKES[mistake]
    argv = [a.format(bad=bad_files, stages=stages) for a in argv] + ["--out", str(tmp_path / "o")]
    if argv[0] == "embed":
        argv = argv[:-2]  # embed's --out is the embeddings file, given above
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("heartlang-sk: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
def test_unavailable_device_is_a_user_mistake(stages, capsys):
    assert run("vocabulary", stages / "sentences", "--device", "cuda") == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err


def test_debug_raises_with_the_traceback(bad_files):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        run("--debug", "tokenize", bad_files / "absent")
    with pytest.raises(ValueError, match="contain NaN"):
        run("tokenize", bad_files / "nan.npy", "--sampling-rate", 100, "--debug")


def test_console_script_prints_one_line(bad_files):
    script = Path(sys.executable).with_name("heartlang-sk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "heartlang_sk"]
    result = subprocess.run([*command, "tokenize", str(bad_files / "absent")],
                            env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == f"heartlang-sk: error: no such file or folder: {bad_files / 'absent'}\n"


def test_option_parsing():
    parser = build_parser()
    args = parser.parse_args(["evaluate", "data", "--train-folds", "1-3,5", "--fractions", "0.1,1",
                              "--bandpass", "0.5,", "--baselines", "none"])
    assert args.train_folds == (1, 2, 3, 5) and args.fractions == (0.1, 1.0)
    assert args.bandpass == (0.5, None) and args.baselines == ()
    assert parser.parse_args(["tokenize", "x", "--bandpass", "off"]).bandpass is None
    assert parser.parse_args(["demo"]).epochs == 8
    assert parser.parse_args(["vocabulary", "s", "--param", "lr=3e-4"]).param == [("lr", 3e-4)]
    for wrong in (["tokenize", "x", "--bandpass", "3"], ["evaluate", "d", "--baselines", "cnn"],
                  ["vocabulary", "s", "--param", "lr"]):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(wrong)
        assert exit_info.value.code == 2


def test_trust_pickle_opens_files_of_older_versions(bad_files, tmp_path):
    # joblib files that earlier heartlang-sk versions wrote still open, when the user says so.
    assert run("embed", bad_files / "sentences.joblib", "--pretrainer", bad_files / "pretrainer.joblib",
               "--trust-pickle", "--out", tmp_path / "Z.csv") == 0
    assert len(pd.read_csv(tmp_path / "Z.csv")) == 4
