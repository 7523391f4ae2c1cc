"""Pictures (vocabulary, training curves, ROC curves), the Markdown report and the file helpers."""

import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from heartlang_sk import ECGVocabulary, QRSTokenizer
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io import load_artifact, read_records, save_embeddings
from heartlang_sk.plotting.evaluation import plot_roc_curves
from heartlang_sk.plotting.training import plot_training_curves
from heartlang_sk.plotting.vocabulary import (plot_reconstructions, plot_top_words,
                                               plot_vocabulary_map)
from heartlang_sk.report import Report, markdown_table


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sentences():
    X, _ = make_ecg(10, random_state=0)
    return QRSTokenizer(sampling_rate=100).fit_transform(X)


@pytest.fixture(scope="module")
def vocabulary(sentences):
    return ECGVocabulary(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=2,
                         batch_size=4, random_state=0).fit(sentences)


# -- vocabulary pictures -------------------------------------------------------------------------
def test_reconstructions_draw_real_beats_and_their_reconstruction(vocabulary, sentences):
    fig = plot_reconstructions(vocabulary, sentences, n_beats=5, random_state=1)
    assert len(fig.axes) == 5
    words = vocabulary.transform(sentences)
    rebuilt = vocabulary.reconstruct(sentences)
    tokens = sentences.tokens
    for ax in fig.axes:
        record, second = map(int, re.findall(r"record (\d+), lead \S+, second (\d+)",
                                             ax.get_title())[0])
        word = int(ax.get_title().rsplit("word ", 1)[1])
        beat, reconstruction = (line.get_ydata() for line in ax.lines[:2])
        # The drawn pair is one real token of that record: its samples and its reconstruction.
        position = np.flatnonzero([np.array_equal(beat, token) for token in tokens[record]])[0]
        assert not sentences.padding_mask[record, position]
        assert sentences.times[record, position] == second and words[record, position] == word
        np.testing.assert_allclose(reconstruction, rebuilt[record, position], rtol=1e-5,
                                   atol=1e-6)
    same = plot_reconstructions(vocabulary, sentences, n_beats=5, random_state=1)
    assert [ax.get_title() for ax in same.axes] == [ax.get_title() for ax in fig.axes]


def test_reconstructions_reject_bad_requests(vocabulary, sentences):
    with pytest.raises(ValueError, match="n_beats must be a positive integer"):
        plot_reconstructions(vocabulary, sentences, n_beats=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # flat leads, no beat: what this tests
        flat = QRSTokenizer(sampling_rate=100).fit_transform(np.zeros((2, 12, 1000)))
    with pytest.raises(ValueError, match="no real beat"):
        plot_reconstructions(vocabulary, flat)
    three_beats = sentences.tokens[0, :3]  # a 2-D array: one beat per row
    assert len(plot_reconstructions(vocabulary, three_beats, n_beats=100).axes) == 3


def test_top_words_are_the_mean_of_their_beats(vocabulary, sentences):
    fig = plot_top_words(vocabulary, sentences, n_words=3)
    words = vocabulary.transform(sentences)
    counts = np.bincount(words[words >= 0], minlength=16)
    assert len(fig.axes) == min(3, np.count_nonzero(counts))
    tokens = sentences.tokens
    shown = []
    for ax in fig.axes:
        word, count = map(int, re.match(r"word (\d+): (\d+) beats", ax.get_title()).groups())
        assert count == counts[word]
        np.testing.assert_allclose(ax.lines[0].get_ydata(), tokens[words == word].mean(axis=0),
                                   rtol=1e-5, atol=1e-6)
        shown.append(count)
    assert shown == sorted(counts, reverse=True)[:len(shown)]


def test_vocabulary_map_marks_unused_words(vocabulary, sentences):
    fig = plot_vocabulary_map(vocabulary)
    used, unused = fig.axes[0].collections[1], fig.axes[0].collections[0]
    assert len(used.get_offsets()) == vocabulary.n_active_words_
    assert len(unused.get_offsets()) == 16 - vocabulary.n_active_words_
    fig = plot_vocabulary_map(vocabulary, sentences=sentences[:2], method="tsne")
    assert "2 given records" in fig.axes[1].get_ylabel()
    with pytest.raises(ValueError, match="method must be one of"):
        plot_vocabulary_map(vocabulary, method="umap")


# -- training curves -----------------------------------------------------------------------------
def test_training_curves_follow_the_history(vocabulary):
    fig = plot_training_curves(vocabulary, title="vocabulary")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "reconstruction R²", "codebook use"]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), vocabulary.history_["train_r2"])
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.0], "valid_loss": [2.5, 1.5]})
    (ax,) = plot_training_curves(history).axes
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_curves(pd.DataFrame())
    with pytest.raises(ValueError, match="no training curve"):
        plot_training_curves(pd.DataFrame({"epoch": [1], "dur": [3.0]}))


# -- ROC curves ----------------------------------------------------------------------------------
def test_roc_curves_one_panel_per_class_with_both_labels():
    rng = np.random.default_rng(0)
    Y = pd.DataFrame({"NORM": [1, 0, 1, 0, 1, 0], "MI": [0, 1, 1, 0, 0, 1],
                      "PACE": [0, 0, 0, 0, 0, 0]})
    scores = {"probe": rng.random((6, 3)), "other": rng.random((6, 3))}
    fig = plot_roc_curves(Y, scores)
    assert [ax.get_title() for ax in fig.axes] == ["NORM", "MI"]
    assert "no curve for PACE" in fig._suptitle.get_text()
    legend = [text.get_text() for text in fig.axes[1].get_legend().get_texts()]
    assert legend[0] == f"probe ({roc_auc_score(Y['MI'], scores['probe'][:, 1]):.3f})"
    with pytest.raises(ValueError, match="expected"):
        plot_roc_curves(Y, np.zeros((6, 2)))
    with pytest.raises(ValueError, match="no class has both"):
        plot_roc_curves(np.zeros((4, 2)), np.zeros((4, 2)))


def test_roc_curves_of_class_labels_follow_sorted_classes():
    y = np.array(["wide_qrs", "normal", "normal", "wide_qrs"])
    fig = plot_roc_curves(y, np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]))
    assert [ax.get_title() for ax in fig.axes] == ["normal", "wide_qrs"]


# -- report --------------------------------------------------------------------------------------
def test_report_saves_closes_and_references_its_pictures(tmp_path):
    report = Report(tmp_path / "run", "A run", details={"seed": 0})
    fig, _ = plt.subplots()
    report.figure(fig, "shown.png", "Shown.")
    hidden, _ = plt.subplots()
    report.figure(hidden, "saved.png", "Saved only.", show=False)
    assert not plt.get_fignums()
    report.section("Table")
    report.table(pd.DataFrame({"model": ["a|b"], "auc": [float("nan")]}))
    text = report.write().read_text()
    assert "![Shown.](shown.png)" in text and "saved.png" not in text
    assert (tmp_path / "run" / "saved.png").is_file()
    assert "| a\\|b |  |" in text


def test_markdown_table_aligns_numbers_right():
    table = markdown_table(pd.DataFrame({"name": ["x"], "n": [3], "v": [0.12345]}),
                           float_format="{:.2f}")
    assert table.splitlines() == ["| name | n | v |", "|---|---:|---:|", "| x | 3 | 0.12 |"]


# -- files ---------------------------------------------------------------------------------------
def write_wfdb(folder, name, signal, fs, units="mV"):
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=[units] * signal.shape[1],
                sig_name=[f"ch{k}" for k in range(signal.shape[1])], p_signal=signal,
                fmt=["16"] * signal.shape[1], write_dir=str(folder))


def test_read_records_from_wfdb_folders(tmp_path):
    rng = np.random.default_rng(0)
    write_wfdb(tmp_path / "a", "r1", rng.normal(size=(500, 2)), 250)
    write_wfdb(tmp_path / "a" / "sub", "r2", rng.normal(size=(600, 2)) * 1000, 250, units="uV")
    with pytest.warns(UserWarning, match="cropped to the shortest, 500 samples"):
        X, rate, names = read_records(tmp_path / "a")
    assert X.shape == (2, 2, 500) and rate == 250.0 and names == ["r1", "sub/r2"]
    assert 0.3 < X[1].std() < 3  # µV converted to mV
    with pytest.raises(ValueError, match="headers give 250 Hz"):
        read_records(tmp_path / "a", sampling_rate=500)
    write_wfdb(tmp_path / "a" / "other", "r3", rng.normal(size=(500, 2)), 500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="different sampling rates"):
            read_records(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no WFDB records"):
        read_records(tmp_path / "empty")


def test_read_records_from_arrays(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="expected an array of shape"):
        read_records(tmp_path / "bad.npy", sampling_rate=100)
    (tmp_path / "fake.npy").write_text("not numpy")
    with pytest.raises(ValueError, match="not a readable .npy array"):
        read_records(tmp_path / "fake.npy", sampling_rate=100)
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "absent.npy")


def test_save_embeddings_and_load_artifact(tmp_path):
    Z = np.arange(6, dtype=np.float32).reshape(3, 2)
    path = save_embeddings(Z, tmp_path / "Z.csv", index=["a", "b", "c"], columns=["x", "y"])
    assert pd.read_csv(path).values.tolist() == [["a", 0, 1], ["b", 2, 3], ["c", 4, 5]]
    np.testing.assert_array_equal(np.load(save_embeddings(Z, tmp_path / "Z.npy")), Z)
    with pytest.raises(ValueError, match="unknown embeddings format"):
        save_embeddings(Z, tmp_path / "Z.json")
    with pytest.raises(ValueError, match="joblib cannot read it"):
        load_artifact(path, ECGVocabulary)
    with pytest.raises(ValueError, match="is a folder"):
        load_artifact(tmp_path, ECGVocabulary)
