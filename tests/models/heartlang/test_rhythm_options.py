"""Issue 13 options beyond the paper: the rhythm encoding, rhythm targets and joined poolings.

Each option keeps the paper's setting as its default; these tests check that the default is
untouched, that each option does what it says on real values, and that bad values fail clearly.
"""

import pickle

import numpy as np
import pytest
import torch

from heartlang_sk import HeartLangEmbedder, HeartLangPretrainer
from heartlang_sk.models.heartlang.ecgformer import ECGFormer, count_parameters
from heartlang_sk.models.heartlang.auxiliary_objective import AuxiliaryPretrainingObjective

def _batch():
    torch.manual_seed(0)
    tokens = torch.randn(1, 6, 96)
    leads = torch.tensor([[1, 1, 1, 2, 2, 2]])
    times = torch.tensor([[1, 2, 3, 1, 2, 3]])
    beat_times = torch.tensor([[0.5, 1.3, 2.1, 0.5, 1.3, 2.1]])
    return tokens, leads, times, beat_times


def test_default_encoder_is_the_papers():
    model = ECGFormer.from_size("tiny")
    assert model.temporal_encoding == "second" and model.rhythm is None
    assert count_parameters(model) == 217_984


def test_rhythm_encoding_needs_beat_times_and_reads_them():
    torch.manual_seed(0)
    model = ECGFormer.from_size("tiny", depth=1, temporal_encoding="rhythm", use_mask_token=True).eval()
    tokens, leads, times, beat_times = _batch()
    with pytest.raises(ValueError, match="needs beat_times"):
        model(tokens, leads, times)
    regular = model(tokens, leads, times, beat_times=beat_times).hidden
    faster = model(tokens, leads, times, beat_times=beat_times * 0.7).hidden
    assert not torch.allclose(regular, faster)
    # a masked beat's own rhythm is hidden with its waveform
    mask = torch.tensor([[False, True, False, False, False, False]])
    shifted = beat_times.clone()
    shifted[0, 1] += 0.2
    a = model.embed(tokens, leads, times, mask, beat_times)[0, 1]
    b = model.embed(tokens, leads, times, mask, shifted)[0, 1]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="temporal_encoding"):
        ECGFormer.from_size("tiny", temporal_encoding="minute")


@pytest.mark.parametrize("target", ["none", "beat", "record"])
def test_pretrainer_records_each_loss_term(sentences, vocabulary, target):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=8, random_state=0,
                              temporal_encoding="rhythm", rhythm_target=target, rhythm_weight=0.5).fit(sentences)
    history = pre.history_
    assert isinstance(pre.net_.module_, AuxiliaryPretrainingObjective)
    assert "train_word_loss" in history
    if target == "none":
        assert "train_rhythm_loss" not in history
        np.testing.assert_allclose(history["train_loss"], history["train_word_loss"], rtol=1e-5)
    else:
        assert (history["train_rhythm_loss"] > 0).all()
        np.testing.assert_allclose(history["train_loss"],
                                   history["train_word_loss"] + 0.5 * history["train_rhythm_loss"], rtol=1e-4)
    assert 0 <= pre.score(sentences) <= 1
    Z = HeartLangEmbedder(pre).fit(sentences).transform(sentences)
    assert Z.shape == (len(sentences), 64) and np.isfinite(Z).all()


def test_record_target_is_learned(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=8, batch_size=8, lr=2e-3, random_state=0,
                              temporal_encoding="rhythm", rhythm_target="record").fit(sentences)
    rhythm = pre.history_["train_rhythm_loss"].to_numpy()
    assert rhythm[-1] < 0.5 * rhythm[0]


def test_paper_settings_keep_the_papers_objective(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(sentences)
    assert type(pre.net_.module_).__name__ == "PretrainingObjective"
    assert "train_word_loss" not in pre.history_


@pytest.mark.parametrize("params, match", [({"temporal_encoding": "minute"}, "temporal_encoding"),
                                           ({"rhythm_target": "qt"}, "rhythm_target"),
                                           ({"rhythm_weight": -1.0}, "rhythm_weight")])
def test_bad_rhythm_parameters_are_refused(sentences, vocabulary, params, match):
    with pytest.raises(ValueError, match=match):
        HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, **params).fit(sentences)


def test_random_init_rhythm_encoder_embeds(sentences):
    pre = HeartLangPretrainer(None, depth=1, max_epochs=0, random_state=0, temporal_encoding="rhythm")
    Z = HeartLangEmbedder(pre).fit(sentences).transform(sentences)
    plain = HeartLangEmbedder(HeartLangPretrainer(None, depth=1, max_epochs=0, random_state=0)).fit(
        sentences).transform(sentences)
    assert Z.shape == plain.shape and not np.allclose(Z, plain)


def test_model_saved_before_the_options_loads_as_the_paper(sentences, vocabulary):
    pre = HeartLangPretrainer(vocabulary, depth=1, max_epochs=1, batch_size=8, random_state=0).fit(sentences)
    state = pre.__getstate__()
    for name in ("temporal_encoding", "rhythm_target", "rhythm_weight"):
        state.pop(name)
    for name in ("rhythm", "temporal_encoding"):  # an encoder pickled before the option existed
        pre.encoder_.__dict__.pop(name, None)
        pre.encoder_._modules.pop(name, None)
    old = HeartLangPretrainer.__new__(HeartLangPretrainer)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.temporal_encoding == "second" and old.rhythm_target == "none"
    Z = HeartLangEmbedder(old).fit(sentences).transform(sentences)
    assert np.isfinite(Z).all()


def test_classifier_fine_tunes_a_rhythm_encoder_and_reads_the_rhythm(sentences):
    from heartlang_sk import HeartLangClassifier
    from heartlang_sk.training.data import device_batches

    pre = HeartLangPretrainer(None, depth=1, max_epochs=0, random_state=0, temporal_encoding="rhythm").fit(
        sentences)
    y = np.arange(len(sentences)) % 2
    clf = HeartLangClassifier(pre, max_epochs=1, batch_size=8, random_state=0).fit(sentences, y)
    assert clf.net_.module_.model.encoder.rhythm is not None
    scores = clf.decision_function(sentences)
    assert scores.shape == (len(sentences),) and np.isfinite(scores).all()
    # the same waveforms at other R-peak times give other logits: the network reads the rhythm
    model = clf.net_.module_.model.eval()
    batch = next(device_batches(sentences[:4], 4, "cpu", beat_times=sentences[:4].beat_times))
    with torch.no_grad():
        regular = model(**batch)
        batch["beat_times"] = batch["beat_times"] * 0.7
        faster = model(**batch)
    assert not torch.allclose(regular, faster)


# -- joined poolings ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def random_pretrainer(sentences):
    return HeartLangPretrainer(None, depth=1, max_epochs=0, random_state=0).fit(sentences)


def test_joined_pooling_concatenates_its_parts(sentences, random_pretrainer):
    parts = {p: HeartLangEmbedder(random_pretrainer, pooling=p).fit(sentences).transform(sentences)
             for p in ("mean", "lead")}
    joined = HeartLangEmbedder(random_pretrainer, pooling="mean+std+lead").fit(sentences)
    Z = joined.transform(sentences)
    assert joined.n_features_out_ == 64 * 2 + 64 * 12 == Z.shape[1]
    np.testing.assert_allclose(Z[:, :64], parts["mean"], atol=1e-6)
    np.testing.assert_allclose(Z[:, 128:], parts["lead"], atol=1e-6)
    names = joined.get_feature_names_out()
    assert names[0] == "heartlang_mean0" and names[64] == "heartlang_std0" and names[128] == "heartlang_lead1_0"


def test_std_and_max_pooling_match_the_token_states(sentences, random_pretrainer):
    encoder = random_pretrainer.encoder_.eval()
    batch = sentences[:2].to_dict()
    with torch.inference_mode():
        out = encoder(*(torch.from_numpy(batch[k]) for k in ("tokens", "leads", "times")))
    Z = HeartLangEmbedder(random_pretrainer, pooling="std+max").fit(sentences).transform(sentences[:2])
    for i in range(2):
        real = out.hidden[i][~out.padding_mask[i]].numpy()
        np.testing.assert_allclose(Z[i, :64], real.std(axis=0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(Z[i, 64:], real.max(axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["mean+median", "lead+lead", "avg"])
def test_bad_pooling_is_refused_in_one_line(sentences, random_pretrainer, pooling):
    with pytest.raises(ValueError, match="pooling must be one of") as error:
        HeartLangEmbedder(random_pretrainer, pooling=pooling).fit(sentences)
    assert "\n" not in str(error.value)
