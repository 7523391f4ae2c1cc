"""Atomic writes: a failed write (disk full, interrupt) leaves the previous file intact and names the file."""

import errno
import os
import stat

import joblib
import matplotlib
import numpy as np
import pandas as pd
import pytest

from heartlang_sk import ECGSentences, QRSTokenizer
from heartlang_sk.cli import main
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.artifacts import save_embeddings
from heartlang_sk.io.atomic import atomic_open, atomic_path, save_figure_atomic, write_text_atomic

matplotlib.use("Agg")


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def sentences():
    X, _ = make_ecg(4, random_state=0)
    return QRSTokenizer(sampling_rate=100).fit_transform(X)


def test_disk_full_mid_write_keeps_the_previous_file_and_names_it(tmp_path):
    target = tmp_path / "model.joblib"
    target.write_bytes(b"the good model")
    with pytest.raises(OSError, match=f"could not write {target}: No space left on device") as caught:
        with atomic_open(target) as handle:
            handle.write(b"half a mod")
            disk_full()
    assert caught.value.errno == errno.ENOSPC and "\n" not in str(caught.value)
    assert target.read_bytes() == b"the good model" and leftovers(tmp_path) == []


def test_an_interrupt_mid_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "results.md"
    write_text_atomic(target, "old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as temporary:
            temporary.write_text("ne")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n" and leftovers(tmp_path) == []


def test_files_get_ordinary_permissions(tmp_path):
    write_text_atomic(tmp_path / "a.md", "x")
    with open(tmp_path / "b.md", "w") as handle:  # what a plain open gives
        handle.write("x")
    mode = lambda name: stat.S_IMODE(os.stat(tmp_path / name).st_mode)  # noqa: E731
    assert mode("a.md") == mode("b.md")


def test_embeddings_files_survive_a_full_disk(tmp_path, monkeypatch):
    for name in ("Z.npy", "Z.csv"):
        path = save_embeddings(np.eye(3), tmp_path / name)
        before = path.read_bytes()

        def half_then_full(target, *args, **kwargs):
            with open(target, "wb") as handle:
                handle.write(b"\x93NUMPY half")
            disk_full()

        monkeypatch.setattr(np, "save", lambda handle, *a, **k: (handle.write(b"half"), disk_full()))
        monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, target, **k: half_then_full(target))
        with pytest.raises(OSError, match=f"could not write {path}"):
            save_embeddings(np.zeros((3, 3)), path)
        monkeypatch.undo()
        assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_sentence_store_overwrite_on_a_full_disk_keeps_the_old_store(tmp_path, sentences, monkeypatch):
    import heartlang_sk.io.store as store_module

    store = tmp_path / "store"
    sentences[:2].save(store)
    calls = {"n": 0}
    original = store_module._append_array

    def fill_up(array, file):
        calls["n"] += 1
        if calls["n"] == 3:  # the third array of the new store: the disk is full
            file.write(array.tobytes()[: array.nbytes // 2])
            disk_full()
        original(array, file)

    monkeypatch.setattr(store_module, "_append_array", fill_up)
    with pytest.raises(OSError, match=r"could not write .*store/\w+\.npy: No space left on device; the previous "
                                      r"sentence store, if any, is unchanged"):
        sentences.save(store, overwrite=True)
    monkeypatch.undo()
    old = ECGSentences.load(store)
    assert len(old) == 2 and np.array_equal(old.tokens, sentences[:2].tokens)
    assert leftovers(store) == []


def test_tokenize_to_store_interrupted_keeps_the_old_store(tmp_path, sentences, monkeypatch):
    import heartlang_sk.io.store as store_module
    from heartlang_sk.io.store import tokenize_to_store

    X, _ = make_ecg(6, random_state=1)
    store = tmp_path / "store"
    tokenize_to_store(QRSTokenizer(sampling_rate=100), X[:3], store)
    calls = {"n": 0}
    original = store_module._append_array

    def interrupt_in_second_chunk(array, file):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        original(array, file)

    monkeypatch.setattr(store_module, "_append_array", interrupt_in_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        tokenize_to_store(QRSTokenizer(sampling_rate=100), X, store, chunk_size=2, overwrite=True)
    monkeypatch.undo()
    assert len(ECGSentences.load(store)) == 3 and leftovers(store) == []


def test_model_file_on_a_full_disk_keeps_the_previous_model(tmp_path, monkeypatch):
    import safetensors.torch

    from heartlang_sk import ECGVocabulary

    X, _ = make_ecg(8, random_state=0)
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocab = ECGVocabulary(n_words=8, word_dim=4, encoder_depth=1, decoder_depth=1, max_epochs=1,
                          random_state=0).fit(S)
    path = tmp_path / "vocabulary.safetensors"
    vocab.save_weights(path)
    before = path.read_bytes()

    def half(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(before[: len(before) // 2])
        disk_full()

    monkeypatch.setattr(safetensors.torch, "save_file", half)
    with pytest.raises(OSError, match=f"could not write {path}"):
        vocab.save_weights(path)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_figures_are_written_atomically(tmp_path, monkeypatch):
    from matplotlib import pyplot as plt

    fig = plt.figure()
    target = tmp_path / "curve.png"
    save_figure_atomic(fig, target)
    before = target.read_bytes()
    monkeypatch.setattr(fig, "savefig", lambda path, **kwargs: (open(path, "wb").write(b"\x89PN"), disk_full()))
    with pytest.raises(OSError, match=f"could not write {target}"):
        save_figure_atomic(fig, target)
    plt.close(fig)
    assert target.read_bytes() == before and leftovers(tmp_path) == []


def test_cli_tokenize_on_a_full_disk_keeps_the_previous_sentences(tmp_path, monkeypatch, capsys):
    import heartlang_sk.io.store as store

    X, _ = make_ecg(4, sampling_rate=100, random_state=0)
    np.save(tmp_path / "ecg.npy", X.astype(np.float32))
    out = tmp_path / "out"
    assert main(["tokenize", str(tmp_path / "ecg.npy"), "--sampling-rate", "100", "--out", str(out),
                 "--plots", "0"]) == 0
    before = {f.name: f.read_bytes() for f in (out / "sentences").iterdir()}

    def half_then_full(array, file):
        file.write(b"half an array")
        disk_full()

    monkeypatch.setattr(store, "_append_array", half_then_full)
    capsys.readouterr()
    assert main(["tokenize", str(tmp_path / "ecg.npy"), "--sampling-rate", "100", "--out", str(out),
                 "--plots", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"could not write {out / 'sentences'}" in error
    assert "No space left on device" in error
    assert {f.name: f.read_bytes() for f in (out / "sentences").iterdir()} == before
    assert leftovers(out) == [] and leftovers(out / "sentences") == []


@pytest.mark.parametrize("command", ["pretrain", "embed", "tokenize"])
def test_unwritable_output_folder_is_refused_before_the_run(tmp_path, command, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    out = {"embed": blocked / "sub" / "embeddings.csv"}.get(command, blocked / "sub")
    argv = {"pretrain": ["pretrain", "no-such-sentences.joblib", "--vocabulary", "no-such-vocabulary.joblib"],
            "embed": ["embed", "no-such-input.npy", "--pretrainer", "no-such-pretrainer.joblib"],
            "tokenize": ["tokenize", "no-such-records.npy", "--sampling-rate", "100"]}[command]
    assert main(argv + ["--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "is a file, not a folder" in error  # not "no such file"
    if os.geteuid() != 0:  # root writes anywhere: a read-only folder only stops other users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(argv + ["--out", str(locked / "x.csv" if command == "embed" else locked)]) == 2
        assert "cannot write in" in capsys.readouterr().err


def test_read_only_file_system_is_refused_before_the_run(capsys):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    assert main(["pretrain", "no-such-sentences.joblib", "--vocabulary", "v.joblib", "--out",
                 "/proc/self/heartlang-sk-out"]) == 2
    assert "cannot write in /proc/self" in capsys.readouterr().err
