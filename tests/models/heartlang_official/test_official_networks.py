"""The official-architecture networks equal an independent reference of the official forward pass.

Random weights in the official key layout, at a tiny size; the state dict goes through a file in
the official format (``{"model": ...}``) and :func:`read_official_checkpoint`, as a released
checkpoint would.
"""

import pytest
import torch

from heartlang_sk.models.heartlang_official import (OfficialECGFormer, OfficialVQHBR, infer_official_config,
                                                    read_official_checkpoint)
from official_reference import (backbone_shapes, random_state_dict, reference_all_tokens,
                                reference_word_indices, sentences, vqhbr_shapes)

DIM, DEPTH, HEADS, HEAD_DIM, MLP, POSITIONS, WORDS = 40, 2, 2, 16, 64, 17, 64
INNER = HEADS * HEAD_DIM  # 32 != DIM: to_out.0 is not square


def _relative_error(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def pretraining_state():
    return random_state_dict(backbone_shapes("", DIM, DEPTH, INNER, MLP, POSITIONS, 96, words=WORDS), seed=1)


@pytest.fixture(scope="module")
def vqhbr_state():
    return random_state_dict(vqhbr_shapes(DIM, 2, 1, INNER, MLP, POSITIONS, words=256, code=8), seed=2)


def _load(state, tmp_path, name="model.pth"):
    path = tmp_path / name
    torch.save({"model": state}, path)
    return read_official_checkpoint(path, head_dim=HEAD_DIM).build()


@pytest.fixture
def pretraining_model(pretraining_state, tmp_path):
    return _load(pretraining_state, tmp_path)


@pytest.fixture
def batch():
    return sentences(6, POSITIONS - 1, real=[16, 16, 12, 7, 3, 1], seed=3)


def test_cls_state_equals_the_reference(pretraining_model, pretraining_state, batch):
    tokens, leads, times = batch
    with torch.no_grad():
        out = pretraining_model(tokens, leads, times)
    expected = reference_all_tokens(pretraining_state, "", tokens, leads, times, HEADS)
    assert _relative_error(out.cls, expected[:, 0]) < 1e-4
    assert _relative_error(out.hidden, expected[:, 1:]) < 1e-4
    assert out.padding_mask.tolist() == (leads == 0).tolist()
    # Padding is attended to, as in the official code: changing a padding token's lead row has no
    # effect (index 0 stays 0) but the CLS state is not independent of how much padding there is.
    assert float(out.cls.std()) > 0.1


def test_masked_forward_and_word_logits_equal_the_reference(pretraining_model, pretraining_state, batch):
    tokens, leads, times = batch
    mask = torch.rand(leads.shape, generator=torch.Generator().manual_seed(4)) < 0.5
    with torch.no_grad():
        out = pretraining_model(tokens, leads, times, mask)
        logits = pretraining_model.word_logits(out.hidden[mask])
    expected = reference_all_tokens(pretraining_state, "", tokens, leads, times, HEADS, mask=mask)
    assert _relative_error(out.cls, expected[:, 0]) < 1e-4
    expected_logits = expected[:, 1:][mask] @ pretraining_state["lm_head.weight"].T + pretraining_state["lm_head.bias"]
    assert _relative_error(logits, expected_logits) < 1e-4
    # the mask token replaces the beat BEFORE the lead/time embeddings: masked rows still differ by lead
    assert not torch.allclose(out.hidden[mask][0], out.hidden[mask][1])


def test_shorter_sentences_are_zero_padded_like_the_official_pipeline(pretraining_model, pretraining_state, batch):
    tokens, leads, times = (x[:, :10] for x in batch)
    with torch.no_grad():
        out = pretraining_model(tokens, leads, times)
    padded = [torch.nn.functional.pad(x, (0, 0, 0, 6)) if x.ndim == 3 else torch.nn.functional.pad(x, (0, 6))
              for x in (tokens, leads, times)]
    expected = reference_all_tokens(pretraining_state, "", *padded, HEADS)
    assert out.hidden.shape == (6, 10, DIM)
    assert _relative_error(out.cls, expected[:, 0]) < 1e-4
    assert _relative_error(out.hidden, expected[:, 1:11]) < 1e-4


def test_longer_sentences_and_indices_past_the_tables_are_refused(pretraining_model):
    tokens, leads, times = sentences(1, POSITIONS, real=[POSITIONS])
    with pytest.raises(ValueError, match="position table covers at most 16"):
        pretraining_model(tokens, leads, times)
    tokens, leads, times = sentences(1, 8, real=[8])
    times[0, 0] = 16
    with pytest.raises(ValueError, match="time indices must lie in 0..15"):
        pretraining_model(tokens, leads, times)


def test_a_skipped_layer_norm_fails_the_comparison(pretraining_model, pretraining_state, batch):
    tokens, leads, times = batch
    with torch.no_grad():
        cls = pretraining_model(tokens, leads, times).cls
    for skipped in ("norm_layer", "transformer.layers.1.0.norm", "transformer.layers.0.1.net.0"):
        wrong = reference_all_tokens(pretraining_state, "", tokens, leads, times, HEADS, skip_norm=skipped)
        assert _relative_error(cls, wrong[:, 0]) > 1e-2, skipped
    pretraining_model.norm_layer = torch.nn.Identity()
    with torch.no_grad():
        cls = pretraining_model(tokens, leads, times).cls
    assert _relative_error(cls, reference_all_tokens(pretraining_state, "", tokens, leads, times, HEADS)[:, 0]) > 1e-2


def test_transposed_weights_and_a_wrong_head_split_fail_the_comparison(pretraining_state, tmp_path, batch):
    tokens, leads, times = batch
    state = dict(pretraining_state)
    expected = reference_all_tokens(pretraining_state, "", tokens, leads, times, HEADS)[:, 0]
    # a weight whose transpose has the same shape (to_out when inner == D) is caught by the comparison
    same_width = random_state_dict(backbone_shapes("", 32, 1, 32, MLP, POSITIONS, 96, words=WORDS), seed=7)
    reference = reference_all_tokens(same_width, "", tokens, leads, times, HEADS)[:, 0]
    transposed = dict(same_width, **{"transformer.layers.0.0.to_out.0.weight":
                                     same_width["transformer.layers.0.0.to_out.0.weight"].T.contiguous()})
    with torch.no_grad():
        assert _relative_error(_load(same_width, tmp_path, "w.pth")(tokens, leads, times).cls, reference) < 1e-4
        assert _relative_error(_load(transposed, tmp_path, "t.pth")(tokens, leads, times).cls, reference) > 1e-2
    # head_dim 8 reads 4 heads: a wrong head split shows as well
    wrong_heads = read_official_checkpoint(_save(state, tmp_path), head_dim=8).build()
    with torch.no_grad():
        assert _relative_error(wrong_heads(tokens, leads, times).cls, expected) > 1e-3
    conv = state["token_embed.tokenConv.weight"]
    flipped = dict(state, **{"token_embed.tokenConv.weight": conv.flip(-1)})  # kernel read backwards
    with torch.no_grad():
        assert _relative_error(_load(flipped, tmp_path, "flipped.pth")(tokens, leads, times).cls, expected) > 1e-2


def _save(state, tmp_path, name="saved.pth"):
    path = tmp_path / name
    torch.save({"model": state}, path)
    return path


def test_word_indices_equal_the_reference(vqhbr_state, tmp_path):
    model = _load(vqhbr_state, tmp_path, "vq.pth")
    assert isinstance(model, OfficialVQHBR)
    tokens, leads, times = sentences(24, POSITIONS - 1, real=[16, 12, 9, 5] * 6, seed=5)
    with torch.no_grad():
        words = model.official_indices(tokens, leads, times)
        no_index_words = model.official_indices(tokens)
    expected = reference_word_indices(vqhbr_state, tokens, leads, times, HEADS)
    assert words.shape == (24, 16)
    assert float((words == expected).float().mean()) >= 0.999
    # the official pre-training computed its targets without lead/time indices
    expected_no_index = reference_word_indices(vqhbr_state, tokens, None, None, HEADS)
    assert float((no_index_words == expected_no_index).float().mean()) >= 0.999
    assert len(set(words.flatten().tolist())) > 10  # a meaningful comparison: many distinct words


def test_a_transposed_square_vq_weight_changes_the_words(vqhbr_state, tmp_path):
    tokens, leads, times = sentences(24, POSITIONS - 1, real=[16, 12, 9, 5] * 6, seed=5)
    expected = reference_word_indices(vqhbr_state, tokens, leads, times, HEADS)
    state = dict(vqhbr_state)
    state["encode_task_layer.0.weight"] = state["encode_task_layer.0.weight"].T.contiguous()
    with torch.no_grad():
        words = _load(state, tmp_path, "vq_t.pth").official_indices(tokens, leads, times)
    assert float((words == expected).float().mean()) < 0.9


def test_decoder_reads_word_vectors_through_its_token_convolution(vqhbr_state, tmp_path):
    model = _load(vqhbr_state, tmp_path, "vq.pth")
    assert model.decoder.token_embed.tokenConv.in_channels == 8
    tokens, leads, times = sentences(2, POSITIONS - 1, real=[16, 5], seed=6)
    with torch.no_grad():
        words = model.official_indices(tokens, leads, times)
        beats = model.decode_indices(words.masked_fill(leads == 0, -1), leads, times)
    assert beats.shape == (2, 16, 96)
    assert float(beats[1, 5:].abs().max()) == 0.0 and float(beats[0].abs().min()) >= 0.0


def test_the_networks_state_dict_keys_are_the_official_ones():
    shapes = backbone_shapes("", DIM, DEPTH, INNER, MLP, POSITIONS, 96, words=WORDS)
    model = OfficialECGFormer(embed_dim=DIM, depth=DEPTH, heads=HEADS, head_dim=HEAD_DIM, mlp_dim=MLP,
                              n_positions=POSITIONS, n_words=WORDS)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes
    shapes = vqhbr_shapes(DIM, 2, 1, INNER, MLP, POSITIONS, words=256, code=8)
    small = dict(embed_dim=DIM, heads=HEADS, head_dim=HEAD_DIM, mlp_dim=MLP, n_positions=POSITIONS)
    vq = OfficialVQHBR(dict(small, depth=2), dict(small, depth=1), n_words=256, word_dim=8)
    assert {k: tuple(v.shape) for k, v in vq.state_dict().items()} == shapes


def test_official_sizes_are_inferred_from_shapes_alone():
    def meta(shapes):
        return {key: torch.empty(shape, device="meta") for key, shape in shapes.items()}

    kind, config = infer_official_config(meta(backbone_shapes("", 768, 12, 512, 1024, 257, 96, words=8192)))
    assert kind == "pretraining"
    assert config == dict(embed_dim=768, depth=12, heads=8, head_dim=64, mlp_dim=1024, n_positions=257,
                          in_channels=96, index_rows=16, n_words=8192)
    kind, config = infer_official_config(meta(vqhbr_shapes(768, 4, 2, 128, 2048, 257, words=8192, code=128)))
    assert kind == "vqhbr"
    assert config["encoder"] == dict(embed_dim=768, depth=4, heads=2, head_dim=64, mlp_dim=2048, n_positions=257,
                                     index_rows=16)
    assert config["decoder"]["depth"] == 2 and config["decoder"]["heads"] == 2
    assert (config["n_words"], config["word_dim"], config["t"]) == (8192, 128, 96)
    from heartlang_sk.models.heartlang_official.weights import check_official_state_dict
    check_official_state_dict(meta(vqhbr_shapes(768, 4, 2, 128, 2048, 257, words=8192, code=128)), kind, config)
