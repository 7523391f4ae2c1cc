"""The masked-waveform target beside the word (``waveform_weight``, beyond the paper)."""

import numpy as np
import pytest
import torch

from heartlang_sk import HeartLangEmbedder, HeartLangPretrainer
from heartlang_sk.models.heartlang.auxiliary_objective import AuxiliaryPretrainingObjective, masked_waveform_loss


def test_loss_is_the_unexplained_share_of_the_masked_samples():
    target = torch.randn(50, 96)
    assert float(masked_waveform_loss(target.clone(), target)) == 0.0
    mean = torch.full_like(target, float(target.mean()))
    assert float(masked_waveform_loss(mean, target)) == pytest.approx(1.0, rel=1e-5)
    empty = torch.zeros(0, 96, requires_grad=True)
    assert float(masked_waveform_loss(empty, torch.zeros(0, 96)).detach()) == 0.0


def test_waveform_term_is_recorded_weighted_and_learned(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=8, batch_size=8, lr=2e-3, random_state=0,
                              waveform_weight=0.5).fit(sentences)
    assert isinstance(pre.net_.module_, AuxiliaryPretrainingObjective)
    history = pre.history_
    np.testing.assert_allclose(history["train_loss"],
                               history["train_word_loss"] + 0.5 * history["train_waveform_loss"], rtol=1e-4)
    waveform = history["train_waveform_loss"].to_numpy()
    assert waveform[-1] < 0.8 * waveform[0]  # the encoder learns to fill in the masked beats' samples
    Z = HeartLangEmbedder(pre).fit(sentences).transform(sentences)
    assert Z.shape == (len(sentences), 64) and np.isfinite(Z).all()


def test_waveform_and_rhythm_targets_together(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0,
                              temporal_encoding="rhythm", rhythm_target="beat", waveform_weight=1.0).fit(sentences)
    assert {"train_word_loss", "train_rhythm_loss", "train_waveform_loss"} <= set(pre.history_)


def test_zero_weight_keeps_the_papers_objective(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0,
                              waveform_weight=0.0).fit(sentences)
    assert type(pre.net_.module_).__name__ == "PretrainingObjective"


def test_bad_waveform_weight_and_official_architecture_are_refused(sentences, vocabulary):
    with pytest.raises(ValueError, match="waveform_weight"):
        HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, waveform_weight=-1.0).fit(sentences)
    with pytest.raises(ValueError, match="waveform_weight"):
        HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, architecture="official",
                            waveform_weight=1.0).fit(sentences)
