"""The optional Hugging Face text tower: a tiny BERT saved on disk (no download), through transformers."""

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")

from heartlang_sk import ECGReportAligner, QRSTokenizer  # noqa: E402
from heartlang_sk.datasets import make_ecg  # noqa: E402
from heartlang_sk.models.melp.text_towers import HuggingFaceReportTokenizer  # noqa: E402

WORDS = ["sinusrhythmus", "normales", "ekg", "vorhofflimmern", "linkstyp", "sinus", "rhythm", "normal", "ecg"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    transformers.BertModel(config).save_pretrained(folder)
    return folder


def test_tokenizer_marks_each_subword_with_its_phrase(tiny_bert):
    arrays = HuggingFaceReportTokenizer(tiny_bert, max_length=12).transform(["sinusrhythmus  normales ekg"])
    mask, phrases = arrays["text_ngrams"][0], arrays["text_phrases"][0]
    assert mask[:5].tolist() == [1, 1, 1, 1, 1] and mask[5:].sum() == 0  # [CLS] 3 words [SEP]
    assert phrases[:5].tolist() == [-1, 0, 1, 1, -1]


def test_aligner_trains_with_a_frozen_hugging_face_tower(tiny_bert):
    X, y = make_ecg(8, classes=["normal", "afib"], random_state=0)
    reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern linkstyp" for c in y]
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    aligner = ECGReportAligner(text_encoder=str(tiny_bert), freeze_layers=1, depth=1, embed_dim=8, max_epochs=1,
                               batch_size=4, device="cpu", random_state=0).fit(S, reports)
    text = aligner.encode_text(["sinus rhythm", "vorhofflimmern"])
    assert text.shape == (2, 8) and np.allclose(np.linalg.norm(text, axis=1), 1, atol=1e-5)
    bert = aligner.net_.module_.text.model
    assert not any(p.requires_grad for p in bert.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in bert.encoder.layer[1].parameters())
    assert {"train_global_loss", "train_local_loss", "train_caption_loss"} <= set(aligner.history_)
