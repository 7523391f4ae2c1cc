"""read_official_checkpoint / write_official_checkpoint: formats accepted, one-line errors, round trip."""

import argparse
import os

import pytest
import torch

from heartlang_sk.models.heartlang_official import (OfficialECGFormer, OfficialVQHBR, read_official_checkpoint,
                                                    write_official_checkpoint)
from official_reference import backbone_shapes, random_state_dict, vqhbr_shapes

SHAPES = backbone_shapes("", 40, 2, 32, 64, 17, 96, words=64)


@pytest.fixture(scope="module")
def state():
    return random_state_dict(SHAPES, seed=0)


def _save(payload, tmp_path, name="model.pth"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


def _one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def test_official_format_bare_and_ddp_prefixed_state_dicts_load(state, tmp_path):
    args = argparse.Namespace(model="HeartLang", lr=5e-4)  # what the official training script saves too
    for name, payload in (("official.pth", {"model": state, "epoch": 3, "args": args}),
                          ("bare.pth", state),
                          ("ddp.pth", {"model": {f"module.{k}": v for k, v in state.items()}})):
        checkpoint = read_official_checkpoint(_save(payload, tmp_path, name), head_dim=16)
        assert checkpoint.kind == "pretraining"
        assert (checkpoint.config["depth"], checkpoint.config["heads"], checkpoint.config["n_words"]) == (2, 2, 64)
        net = checkpoint.build()
        for key, value in net.state_dict().items():
            assert torch.equal(value, state[key]), (name, key)


def test_missing_file_and_non_checkpoints_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(tmp_path / "nowhere.pth")
    assert "does not exist" in _one_line(error)
    (tmp_path / "random.pth").write_bytes(os.urandom(4096))
    (tmp_path / "text.pth").write_text("model weights go here\n")
    for name in ("random.pth", "text.pth"):
        with pytest.raises(ValueError) as error:
            read_official_checkpoint(tmp_path / name)
        assert "not a" in _one_line(error) and name in str(error.value)
    with pytest.raises(ValueError, match="is not a file"):
        read_official_checkpoint(tmp_path)


class _Payload:
    pass


def test_arbitrary_pickled_objects_are_refused_not_unpickled(tmp_path):
    path = _save({"model": _Payload()}, tmp_path)
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(path)
    assert "weights_only=True" in _one_line(error)
    with pytest.raises(ValueError, match="holds no state dict"):
        read_official_checkpoint(_save({"model": [1, 2]}, tmp_path, "list.pth"))


def test_missing_unexpected_and_renamed_keys_are_named(state, tmp_path):
    missing = {k: v for k, v in state.items() if k != "transformer.layers.1.1.net.4.bias"}
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(_save({"model": missing}, tmp_path), head_dim=16)
    assert "'transformer.layers.1.1.net.4.bias'" in _one_line(error) and "missing" in str(error.value)
    extra = dict(state, **{"head.weight": torch.zeros(3)})
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(_save({"model": extra}, tmp_path), head_dim=16)
    assert "unexpected key 'head.weight'" in _one_line(error)
    renamed = {k.replace("norm_layer", "norm"): v for k, v in state.items()}
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(_save({"model": renamed}, tmp_path), head_dim=16)
    assert "'norm_layer.weight'" in _one_line(error)
    with pytest.raises(ValueError, match="neither 'pos_embed'"):
        read_official_checkpoint(_save({"model": {"weight": torch.zeros(2)}}, tmp_path), head_dim=16)


def test_transposed_non_square_weight_is_a_shape_error_naming_both_shapes(state, tmp_path):
    key = "transformer.layers.0.0.to_out.0.weight"
    transposed = dict(state, **{key: state[key].T.contiguous()})
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(_save({"model": transposed}, tmp_path), head_dim=16)
    message = _one_line(error)
    assert repr(key) in message and "(32, 40)" in message and "(40, 32)" in message


def test_head_width_must_divide_the_attention_width(state, tmp_path):
    with pytest.raises(ValueError, match="not a multiple of the head width 64"):
        read_official_checkpoint(_save({"model": state}, tmp_path))  # 32 wide, official heads are 64


def test_write_then_read_round_trips_both_models_with_their_heads(tmp_path):
    small = dict(embed_dim=40, heads=2, head_dim=16, mlp_dim=64, n_positions=17)
    model = OfficialECGFormer(depth=2, n_words=64, **small)
    vq = OfficialVQHBR(dict(small, depth=2), dict(small, depth=1, heads=1, head_dim=24), n_words=32, word_dim=8)
    for network, name in ((model, "pre.pth"), (vq, "vq.pth")):
        write_official_checkpoint(network, tmp_path / name)
        checkpoint = read_official_checkpoint(tmp_path / name)  # heads recorded in the file
        expected = {k: v for k, v in network.config().items() if k != "zero_empty_tokens"}
        assert checkpoint.config == expected
        rebuilt = checkpoint.build()
        for key, value in network.state_dict().items():
            assert torch.equal(rebuilt.state_dict()[key], value), key
    assert read_official_checkpoint(tmp_path / "vq.pth").config["decoder"]["heads"] == 1
    payload = torch.load(tmp_path / "pre.pth", weights_only=True)
    assert set(payload["model"]) == set(SHAPES)  # the official layout: weights under "model"
    assert sorted(os.listdir(tmp_path)) == ["pre.pth", "vq.pth"]  # no temporary file left behind


def test_write_refuses_other_modules(tmp_path):
    with pytest.raises(TypeError, match="OfficialECGFormer or OfficialVQHBR"):
        write_official_checkpoint(torch.nn.Linear(2, 2), tmp_path / "x.pth")
    assert not os.listdir(tmp_path)


def test_vqhbr_checkpoint_keys_match_the_official_layout(tmp_path):
    shapes = vqhbr_shapes(40, 2, 1, 32, 64, 17, words=32, code=8)
    state = random_state_dict(shapes, seed=1)
    checkpoint = read_official_checkpoint(_save({"model": state}, tmp_path), head_dim=16)
    assert checkpoint.kind == "vqhbr"
    assert checkpoint.config["decoder"]["depth"] == 1 and checkpoint.config["word_dim"] == 8
    wrong = dict(state, **{"decoder.token_embed.tokenConv.weight": torch.zeros(40, 96, 3)})
    with pytest.raises(ValueError) as error:
        read_official_checkpoint(_save({"model": wrong}, tmp_path), head_dim=16)
    assert "'decoder.token_embed.tokenConv.weight'" in _one_line(error)
