"""One 12-lead record passed as a 2-D array ``(12, n_samples)``: a warning or error that says ``X[None]``."""

import warnings

import numpy as np
import pytest

from heartlang_sk import QRSTokenizer
from heartlang_sk.baselines.features import ECGFeatures, RawSignal
from heartlang_sk.datasets import make_ecg
from heartlang_sk.preprocessing.window_tokenizer import FixedWindowTokenizer

ESTIMATORS = [
    lambda: QRSTokenizer(sampling_rate=100),
    lambda: FixedWindowTokenizer(sampling_rate=100),
    lambda: ECGFeatures(sampling_rate=100),
    lambda: RawSignal(sampling_rate=100),
]


@pytest.fixture(scope="module")
def records():
    return make_ecg(3, sampling_rate=100, random_state=0)[0].astype(np.float32)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_one_12_lead_record_as_2d_warns_once_naming_x_none(make, records):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().fit_transform(records[0])
    messages = [str(w.message) for w in caught if "X[None]" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    assert "(12, 1000)" in messages[0] and "12 one-lead records" in messages[0]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_2d_record_given_to_a_multi_lead_fit_is_an_error_naming_x_none(make, records):
    estimator = make().fit(records)
    with pytest.raises(ValueError, match=r"fitted on 12-lead records; for one 12-lead record pass X\[None\]"):
        estimator.transform(records[0])
    three_leads = make().fit(records[:, :3])
    with pytest.raises(ValueError, match=r"fitted on 3-lead records; for one 3-lead record pass X\[None\]"):
        three_leads.transform(records[0, :3])


@pytest.mark.parametrize("make", ESTIMATORS)
def test_x_none_and_ordinary_one_lead_batches_give_no_warning(make, records):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().fit(records).transform(records[:1])  # what the message asks for: X[None]
        make().fit_transform(records[:, 0])  # three one-lead records
    assert not [w for w in caught if "X[None]" in str(w.message)]
