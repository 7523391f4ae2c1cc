"""The demo's zero-shot row: template reports per synthetic class, descriptions worded unlike them, and an
aligner that ranks held-out records by those descriptions better than chance."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from heartlang_sk import QRSTokenizer
from heartlang_sk.cli._demo_zeroshot import (SYNTHETIC_DESCRIPTIONS, SYNTHETIC_REPORTS, synthetic_reports,
                                             zero_shot_row)
from heartlang_sk.datasets import make_ecg
from heartlang_sk.datasets.synthetic import ECG_CLASSES


def test_every_synthetic_class_has_reports_and_descriptions_in_other_words():
    assert set(SYNTHETIC_REPORTS) == set(SYNTHETIC_DESCRIPTIONS) == set(ECG_CLASSES)
    report_sentences = {part.strip() for texts in SYNTHETIC_REPORTS.values() for text in texts
                        for part in text.split(".") if part.strip()}
    for descriptions in SYNTHETIC_DESCRIPTIONS.values():
        assert descriptions and not set(descriptions) & report_sentences


def test_reports_are_templates_of_each_record_class_and_repeatable():
    labels = ["afib", "normal", "st_shift", "afib"]
    reports = synthetic_reports(labels, random_state=0)
    assert [r in SYNTHETIC_REPORTS[c] for r, c in zip(reports, labels)] == [True] * 4
    assert synthetic_reports(labels, random_state=0) == reports


def test_zero_shot_ranks_held_out_records_above_chance():
    X, y = make_ecg(60, classes=["normal", "afib", "wide_qrs"], random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    S_train = QRSTokenizer(sampling_rate=100).fit_transform(X_train)
    S_test = QRSTokenizer(sampling_rate=100).fit_transform(X_test)
    aligner, scores, accuracy, auc = zero_shot_row(S_train, y_train, S_test, y_test, size="tiny", depth=1,
                                                   epochs=6, device="cpu", random_state=0)
    assert scores.shape == (18, 3) and np.all(np.abs(scores) <= 1 + 1e-5)
    assert len(aligner.history_) == 6 and aligner.n_reports_ == 42
    assert auc > 0.6 and 0 <= accuracy <= 1
