"""MELP's three losses: each is minimal on matched pairs, ignores padding and back-propagates."""

import math

import torch

from heartlang_sk.models.melp.losses import (CaptionDecoder, beat_means, caption_loss, global_contrastive_loss,
                                             local_contrastive_loss, same_report_targets)
from heartlang_sk.models.melp.text_towers import BuiltinTextTower, phrase_means


def test_global_loss_prefers_matched_pairs_and_is_symmetric():
    torch.manual_seed(0)
    ecg = torch.randn(8, 16)
    text = ecg + 0.1 * torch.randn(8, 16)
    scale = torch.tensor(math.log(1 / 0.07))
    matched = global_contrastive_loss(ecg, text, scale)
    shuffled = global_contrastive_loss(ecg, text.roll(1, 0), scale)
    assert matched < 0.1 < shuffled
    assert torch.allclose(global_contrastive_loss(text, ecg, scale), matched)


def test_global_loss_counts_a_pair_with_the_same_report_text_as_positive():
    # records 0 and 1 have the same report; their text vectors differ (word dropout in training)
    text = torch.eye(4)
    ecg = text[[1, 0, 2, 3]]  # ECG 0 lies on the report vector of record 1, and vice versa
    scale = torch.tensor(math.log(100.0))
    plain = global_contrastive_loss(ecg, text, scale)
    aware = global_contrastive_loss(ecg, text, scale, same_report_targets(torch.tensor([5, 5, 1, 2])))
    assert plain > 40  # two of four pairs look swapped
    assert aware < 0.6 * plain  # half the penalty: the swapped texts are also positives


def test_learnable_temperature_gets_a_gradient():
    scale = torch.tensor(1.0, requires_grad=True)
    global_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), scale).backward()
    assert scale.grad is not None and scale.grad != 0


def test_beat_means_average_each_beat_over_leads_and_skip_padding():
    hidden = torch.arange(7.0).reshape(1, 7, 1)
    leads = torch.tensor([[1, 1, 1, 2, 2, 2, 0]])  # 3 beats on 2 leads, one padding token
    beats, mask = beat_means(hidden, leads)
    assert beats.squeeze(-1).tolist() == [[1.5, 2.5, 3.5]]
    assert mask.all()


def test_local_loss_ignores_padding_beats_and_phrases():
    torch.manual_seed(0)
    beats = torch.randn(3, 4, 8)
    phrases = beats[:, :2].clone()
    beat_mask = torch.ones(3, 4, dtype=torch.bool)
    phrase_mask = torch.ones(3, 2, dtype=torch.bool)
    base, attention = local_contrastive_loss(beats, beat_mask, phrases, phrase_mask)
    assert attention.shape == (3, 2, 4)
    assert torch.allclose(attention.sum(-1), torch.ones(3, 2))
    # a padded beat slot with garbage and a padded phrase slot with garbage change nothing
    padded_beats = torch.cat([beats, 100 * torch.randn(3, 1, 8)], dim=1)
    padded_phrases = torch.cat([phrases, torch.randn(3, 1, 8)], dim=1)
    loss, attention = local_contrastive_loss(
        padded_beats, torch.cat([beat_mask, torch.zeros(3, 1, dtype=torch.bool)], 1),
        padded_phrases, torch.cat([phrase_mask, torch.zeros(3, 1, dtype=torch.bool)], 1))
    assert torch.allclose(loss, base, atol=1e-5)
    assert (attention[..., -1] == 0).all()


def test_local_loss_survives_an_ecg_without_beats():
    beats = torch.randn(2, 3, 8)
    mask = torch.tensor([[True, True, True], [False, False, False]])
    loss, _ = local_contrastive_loss(beats, mask, torch.randn(2, 2, 8), torch.ones(2, 2, dtype=torch.bool))
    assert torch.isfinite(loss)


def test_caption_decoder_learns_to_write_a_report_from_the_ecg():
    torch.manual_seed(0)
    decoder = CaptionDecoder(n_words=8, memory_dim=4, width=16, depth=1, max_length=4)
    memory = torch.eye(4)[None, :2].repeat(2, 1, 1)
    memory[1] = torch.eye(4)[2:]  # two different "ECGs"
    words = torch.tensor([[4, 5, 0], [6, 7, 6]])
    optimiser = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    no_padding = torch.zeros(2, 2, dtype=torch.bool)
    for _ in range(150):
        logits, targets = decoder(memory, no_padding, words)
        loss = caption_loss(logits, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss < 0.05
    assert decoder.generate(memory, no_padding).tolist() == [[4, 5, 0], [6, 7, 6]]


def test_caption_targets_end_with_eos_and_ignore_padding():
    inputs, targets = CaptionDecoder.teacher_forcing(torch.tensor([[4, 5, 0], [6, 7, 8]]))
    assert inputs.tolist() == [[2, 4, 5, 0], [2, 6, 7, 8]]
    assert targets.tolist() == [[4, 5, 3, 0], [6, 7, 8, 3]]


def test_builtin_text_tower_masks_padding_and_pools_phrases():
    torch.manual_seed(0)
    tower = BuiltinTextTower(n_words=10, n_buckets=32, width=16, depth=1, word_dropout=0.0).eval()
    ids = torch.tensor([[4, 5, 6, 0, 0]])
    ngrams = torch.randint(1, 33, (1, 5, 4)).masked_fill((ids == 0)[..., None], 0)
    phrases = torch.tensor([[0, 0, 1, -1, -1]])
    out = tower(ids, ngrams, phrases)
    shorter = tower(ids[:, :3], ngrams[:, :3], phrases[:, :3])
    assert torch.allclose(out.pooled, shorter.pooled, atol=1e-5)
    assert torch.allclose(out.phrases, phrase_means(out.hidden, phrases)[0])
    assert out.phrase_mask.tolist() == [[True, True]]
