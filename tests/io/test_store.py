"""Sentence stores on disk: round trip, lazy memory maps, streaming tokenization, fitting on a store."""

import json
import warnings

import numpy as np
import pytest

from heartlang_sk import (ECGSentences, ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer,
                          QRSTokenizer)
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.store import (ARRAY_NAMES, HEADER_FILE, WFDBRecords, release_mapped_pages,
                                tokenize_to_store)

N_RECORDS = 20
TINY_VOCABULARY = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=1,
                       batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def records():
    return make_ecg(N_RECORDS, random_state=0)[0]


@pytest.fixture(scope="module")
def in_memory(records):
    return QRSTokenizer(sampling_rate=100).fit_transform(records)


@pytest.fixture(scope="module")
def store(records, tmp_path_factory):
    return tokenize_to_store(QRSTokenizer(sampling_rate=100), records,
                             tmp_path_factory.mktemp("store") / "sentences", chunk_size=6)


def assert_same_sentences(actual, expected):
    assert (actual.t, actual.sampling_rate) == (expected.t, expected.sampling_rate)
    for name in ARRAY_NAMES:
        np.testing.assert_array_equal(np.asarray(getattr(actual, name)),
                                      np.asarray(getattr(expected, name)), err_msg=name)
        assert np.asarray(getattr(actual, name)).dtype == np.asarray(getattr(expected, name)).dtype


def test_save_and_load_round_trip(in_memory, tmp_path):
    in_memory.save(tmp_path / "s")
    header = json.loads((tmp_path / "s" / HEADER_FILE).read_text())
    assert header["n_records"] == N_RECORDS and header["t"] == in_memory.t
    for mmap_mode in ("r", None):
        assert_same_sentences(ECGSentences.load(tmp_path / "s", mmap_mode=mmap_mode), in_memory)
    assert not isinstance(ECGSentences.load(tmp_path / "s", mmap_mode=None).signals, np.memmap)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        in_memory.save(tmp_path / "s")
    in_memory[:3].save(tmp_path / "s", overwrite=True)
    assert len(ECGSentences.load(tmp_path / "s")) == 3


def test_loaded_store_is_memory_mapped_and_indexes_lazily(store, in_memory):
    for name in ARRAY_NAMES:
        assert isinstance(getattr(store, name), np.memmap), name
    assert isinstance(store[2:5].signals, np.memmap)  # a slice stays a view of the file
    picked = store[np.array([7, 1, 12])]  # an index array reads just those records
    assert not isinstance(picked.signals, np.memmap)
    np.testing.assert_array_equal(picked.tokens, in_memory[np.array([7, 1, 12])].tokens)
    np.testing.assert_array_equal(store[-1].tokens, in_memory[-1].tokens)
    mask = np.arange(N_RECORDS) % 3 == 0
    np.testing.assert_array_equal(store[mask].times, in_memory[mask].times)
    release_mapped_pages(store)  # hands pages back; the data reads the same afterwards
    np.testing.assert_array_equal(store[4:6].tokens, in_memory[4:6].tokens)


def test_incomplete_store_is_refused(tmp_path):
    (tmp_path / "signals.npy").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="not a complete sentence store"):
        ECGSentences.load(tmp_path)


def test_streaming_equals_in_memory_tokenization(store, in_memory, records, tmp_path):
    assert_same_sentences(store, in_memory)
    # Threads, an uneven last chunk, and an iterable of chunks instead of an array.
    threaded = tokenize_to_store(QRSTokenizer(sampling_rate=100), records, tmp_path / "threads",
                                 chunk_size=7, n_jobs=2, prefer="threads")
    assert_same_sentences(threaded, in_memory)
    chunks = (records[i:i + 5] for i in range(0, N_RECORDS, 5))
    assert_same_sentences(tokenize_to_store(QRSTokenizer(sampling_rate=100), chunks,
                                            tmp_path / "chunks"), in_memory)
    # A memory-mapped input array streams the same way.
    np.save(tmp_path / "records.npy", records)
    mapped = np.load(tmp_path / "records.npy", mmap_mode="r")
    assert_same_sentences(tokenize_to_store(QRSTokenizer(sampling_rate=100), mapped,
                                            tmp_path / "mapped", chunk_size=8), in_memory)


def test_streaming_from_a_wfdb_folder(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    X, _ = make_ecg(5, sampling_rate=500, random_state=1)
    folder = tmp_path / "wfdb"
    folder.mkdir()
    for i, record in enumerate(X):
        wfdb.wrsamp(f"r{i}", fs=500, units=["mV"] * 12, sig_name=[f"L{k}" for k in range(12)],
                    p_signal=record.T.astype(np.float64), fmt=["16"] * 12, write_dir=str(folder))
    reader = WFDBRecords(folder)
    assert reader.shape == (5, 12, 5000) and reader.sampling_rate == 500.0
    streamed = tokenize_to_store(QRSTokenizer(sampling_rate=500), reader, tmp_path / "s",
                                 chunk_size=2)
    expected = QRSTokenizer(sampling_rate=500).fit_transform(np.asarray(reader))
    assert_same_sentences(streamed, expected)


def test_wfdb_records_at_another_sampling_rate_are_refused(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    X, _ = make_ecg(2, n_leads=3, sampling_rate=500, random_state=2)
    for i, (record, fs) in enumerate(zip(X, (500, 250))):  # the second one claims 250 Hz
        wfdb.wrsamp(f"r{i}", fs=fs, units=["mV"] * 3, sig_name=["I", "II", "III"],
                    p_signal=record.T.astype(np.float64), fmt=["16"] * 3, write_dir=str(tmp_path))
    reader = WFDBRecords(tmp_path)
    assert reader.sampling_rate == 500.0 and reader[0].shape == (3, 5000)
    with pytest.raises(ValueError, match="250 Hz, but the first record is at 500 Hz"):
        np.asarray(reader)
    with pytest.raises(ValueError, match="one sampling rate"):
        reader[1]


def test_tokenizer_warnings_are_summarised_once(records, tmp_path):
    X = records[:8].copy()
    X[[1, 6]] = 0.0  # flat records: no beat
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        S = tokenize_to_store(QRSTokenizer(sampling_rate=100), X, tmp_path / "s", chunk_size=3)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1 and "the tokenizer warned" in messages[0], messages
    assert np.flatnonzero(S.n_beats == 0).tolist() == [1, 6]


def test_chunks_must_agree(records, tmp_path):
    chunks = [records[:4], records[4:8, :, :900]]  # a different record length
    with pytest.raises(ValueError, match="same leads and length"):
        tokenize_to_store(QRSTokenizer(sampling_rate=100), chunks, tmp_path / "s")
    assert not (tmp_path / "s" / HEADER_FILE).exists()
    with pytest.raises(ValueError, match="no records"):
        tokenize_to_store(QRSTokenizer(sampling_rate=100), records[:0], tmp_path / "empty")


def test_estimators_fit_and_transform_a_store_batch_by_batch(store, in_memory, monkeypatch):
    # Tokens are only ever built for one batch: the store is never materialised.
    built = []
    tokens = ECGSentences.tokens

    def counting_tokens(self):
        built.append(len(self))
        return tokens.fget(self)

    monkeypatch.setattr(ECGSentences, "tokens", property(counting_tokens))
    vocabulary = ECGVocabulary(**TINY_VOCABULARY).fit(store)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8,
                                     random_state=0).fit(store)
    embeddings = HeartLangEmbedder(pretrainer, batch_size=8).fit(store).transform(store)
    assert built and max(built) <= 8
    monkeypatch.undo()
    # ... and the result is the same as from the sentences in memory.
    reference = ECGVocabulary(**TINY_VOCABULARY).fit(in_memory)
    np.testing.assert_array_equal(vocabulary.codebook_, reference.codebook_)
    np.testing.assert_array_equal(vocabulary.transform(store), reference.transform(in_memory))
    np.testing.assert_array_equal(
        embeddings, HeartLangEmbedder(pretrainer, batch_size=8).fit(in_memory).transform(in_memory))
