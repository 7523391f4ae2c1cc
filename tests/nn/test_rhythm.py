"""Rhythm features and embedding (heartlang_sk.nn.rhythm): intervals per lead, padding, statistics."""

import math

import numpy as np
import pytest
import torch

from heartlang_sk.nn.rhythm import (REFERENCE_RR, RhythmEmbedding, beat_intervals, record_rhythm_statistics,
                                    rhythm_features)


def _sentence():
    # lead 1: beats at 0.5, 1.3, 2.0 s; lead 2: the same beats; then two padding tokens
    times = torch.tensor([[0.5, 1.3, 2.0, 0.5, 1.3, 2.0, 0.0, 0.0]])
    leads = torch.tensor([[1, 1, 1, 2, 2, 2, 0, 0]])
    return times, leads


def test_intervals_stay_inside_each_lead_and_skip_padding():
    times, leads = _sentence()
    previous, following = beat_intervals(times, leads)
    assert torch.isnan(previous[0, [0, 3, 6, 7]]).all()  # first beat of each lead, padding
    assert torch.allclose(previous[0, [1, 2, 4, 5]], torch.tensor([0.8, 0.7, 0.8, 0.7]))
    assert torch.isnan(following[0, [2, 5, 6, 7]]).all()  # last beat of each lead, padding
    assert torch.allclose(following[0, [0, 1]], torch.tensor([0.8, 0.7]))


def test_features_fill_the_missing_side_and_zero_padding():
    times, leads = _sentence()
    f = rhythm_features(times, leads, n_frequencies=2)
    assert f.shape == (1, 8, 5 + 4)
    assert f[0, 0, 0] == pytest.approx(0.0, abs=1e-6)  # no previous beat: takes log(0.8 / 0.8) of the next
    assert f[0, 0, 3] == 0 and f[0, 0, 4] == 1  # has_prev, has_next flags
    assert f[0, 2, 1] == pytest.approx(math.log(0.7 / REFERENCE_RR), abs=1e-6)  # last beat: next := previous
    assert f[0, 1, 2] == pytest.approx(math.log(0.7 / 0.8), abs=1e-6)  # beat-to-beat change
    assert (f[0, 6:] == 0).all()


def test_record_statistics_measure_irregularity():
    leads = torch.ones(2, 6, dtype=torch.long)
    regular = torch.arange(6, dtype=torch.float32) * 0.6
    irregular = torch.tensor([0.0, 0.4, 1.4, 1.8, 2.9, 3.2])
    stats = record_rhythm_statistics(torch.stack([regular, irregular]), leads)
    assert stats[0, 0] == pytest.approx(math.log(0.6 / REFERENCE_RR), abs=1e-5)
    assert stats[0, 1] == pytest.approx(0.0, abs=1e-5) and stats[0, 2] == pytest.approx(0.0, abs=1e-5)
    assert stats[1, 1] > 0.3 and stats[1, 2] > 0.5


def test_embedding_is_zero_at_padding_and_depends_on_rr():
    torch.manual_seed(0)
    embedding = RhythmEmbedding(8)
    times, leads = _sentence()
    out = embedding(times, leads)
    assert out.shape == (1, 8, 8) and (out[0, 6:] == 0).all()
    slower = embedding(times * 1.5, leads)
    assert not torch.allclose(out[0, :6], slower[0, :6])


def test_sentences_give_beat_times_in_seconds():
    from heartlang_sk import QRSTokenizer
    from heartlang_sk.datasets import make_ecg

    S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(2, random_state=0)[0])
    times = S.beat_times
    assert times.dtype == np.float32 and times.shape == S.leads.shape
    assert np.array_equal(times[S.padding_mask], np.zeros(S.padding_mask.sum(), np.float32))
    real = ~S.padding_mask
    np.testing.assert_allclose(times[real], S.r_peaks[real] / 100.0, rtol=1e-6)
    assert np.array_equal(np.floor(times[real]).astype(int) + 1, S.times[real])
