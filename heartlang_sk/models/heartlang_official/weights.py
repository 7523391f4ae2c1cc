"""Read and write checkpoints in the layout of the released HeartLang code.

Contract:

* :func:`read_official_checkpoint` loads a ``.pth`` file with ``torch.load(weights_only=True)``
  only (no arbitrary unpickling; ``argparse.Namespace``, which the official training script saves
  under ``"args"``, is the one class allowed besides tensors and containers). It takes a dict
  holding the state dict under ``"model"`` (the official format), a bare state dict, or one whose
  keys all start with ``"module."`` (saved from DistributedDataParallel). It tells the
  masked-pre-training model (``pos_embed``, ...) from the VQ-HBR (``encoder.pos_embed``, ...),
  infers every size from the tensors' shapes and checks the keys and shapes against the network
  those sizes give. Every problem (missing file, not a checkpoint, a missing or unexpected key,
  a wrong shape) is a one-line ``ValueError`` naming it.
* :func:`write_official_checkpoint` writes ``{"model": state_dict}`` with the official key names
  (atomically), which the official scripts read; a ``"heartlang_sk"`` entry beside it records the
  number of attention heads, which shapes cannot tell apart from the head width.

The head count: a checkpoint stores the attention inner width ``heads * head_dim`` only. The
official code always uses 64-wide heads, so ``heads = inner / 64`` unless the file says otherwise
(files written here) or ``head_dim`` is given.
"""

from __future__ import annotations

import argparse
import pickle
import re
import zipfile
from pathlib import Path
from typing import NamedTuple

import torch

from .ecgformer import OFFICIAL_HEAD_DIM, OfficialECGFormer
from .vqhbr import OfficialVQHBR

__all__ = ["OfficialCheckpoint", "build_official_network", "infer_official_config", "read_official_checkpoint",
           "write_official_checkpoint", "PRETRAINING", "VQHBR"]

PRETRAINING = "pretraining"
"""Kind of the masked-pre-training checkpoint (the ST-ECGFormer with ``lm_head``)."""
VQHBR = "vqhbr"
"""Kind of the VQ-HBR checkpoint (encoder, codebook, decoder)."""

_METADATA = "heartlang_sk"
_LAYER = re.compile(r"transformer\.layers\.(\d+)\.")


class OfficialCheckpoint(NamedTuple):
    """A checked official checkpoint.

    Attributes
    ----------
    kind : {"pretraining", "vqhbr"}
    config : dict
        Keyword arguments of :class:`OfficialECGFormer` (pre-training) or :class:`OfficialVQHBR`.
    state_dict : dict of str to torch.Tensor
        Official key names, float tensors as float32.
    """

    kind: str
    config: dict
    state_dict: dict

    def build(self):
        """The network with these weights, in evaluation mode."""
        network = build_official_network(self.kind, self.config, device="meta")
        network.load_state_dict(self.state_dict, strict=True, assign=True)
        return network.eval()


def build_official_network(kind, config, device=None):
    """A fresh :class:`OfficialECGFormer` (``kind="pretraining"``) or :class:`OfficialVQHBR`."""
    with torch.device(device) if device is not None else _no_context():
        if kind == PRETRAINING:
            return OfficialECGFormer(**config)
        if kind == VQHBR:
            return OfficialVQHBR(**config)
    raise ValueError(f"kind must be {PRETRAINING!r} or {VQHBR!r}, got {kind!r}")


class _no_context:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _shape(state_dict, key):
    if key not in state_dict:
        raise ValueError(f"not an official HeartLang checkpoint: key {key!r} is missing")
    return tuple(state_dict[key].shape)


def _backbone_config(state_dict, prefix, heads=None, head_dim=None):
    _, n_positions, embed_dim = _shape(state_dict, f"{prefix}pos_embed")
    _, in_channels, _ = _shape(state_dict, f"{prefix}token_embed.tokenConv.weight")
    index_rows, _ = _shape(state_dict, f"{prefix}spa_embed.embed.weight")
    layers = {int(m.group(1)) for key in state_dict if key.startswith(prefix)
              for m in [_LAYER.match(key[len(prefix):])] if m}
    if not layers:
        raise ValueError(f"not an official HeartLang checkpoint: no {prefix}transformer.layers.* keys")
    depth = max(layers) + 1
    qkv = f"{prefix}transformer.layers.0.0.to_qkv.weight"
    inner = _shape(state_dict, qkv)[0] // 3
    mlp_dim = _shape(state_dict, f"{prefix}transformer.layers.0.1.net.1.weight")[0]
    if f"{prefix}transformer.layers.0.0.to_out.0.weight" not in state_dict and inner == embed_dim:
        heads, head_dim = 1, embed_dim  # the official attention without output projection
    elif heads is not None:
        if inner % heads:
            raise ValueError(f"{qkv}: attention width {inner} is not a multiple of {heads} heads")
        head_dim = inner // heads
    else:
        head_dim = OFFICIAL_HEAD_DIM if head_dim is None else int(head_dim)
        if inner % head_dim:
            raise ValueError(f"{qkv}: attention width {inner} is not a multiple of the head width {head_dim};"
                             f" pass head_dim")
        heads = inner // head_dim
    return dict(embed_dim=embed_dim, depth=depth, heads=heads, head_dim=head_dim, mlp_dim=mlp_dim,
                n_positions=n_positions, in_channels=in_channels, index_rows=index_rows)


def infer_official_config(state_dict, heads=None, head_dim=None):
    """Kind and sizes of an official state dict, from its keys and shapes.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        Official key names (meta tensors are enough).
    heads : dict or None, default=None
        Attention heads per backbone: ``{"": H}`` (pre-training) or ``{"encoder": H, "decoder": H}``.
    head_dim : int or None, default=None
        Head width when ``heads`` does not say (default 64, the official value).

    Returns
    -------
    kind : {"pretraining", "vqhbr"}
    config : dict

    Examples
    --------
    >>> import torch
    >>> from heartlang_sk.models.heartlang_official import OfficialECGFormer
    >>> with torch.device("meta"):
    ...     model = OfficialECGFormer(embed_dim=128, depth=3, heads=2, mlp_dim=256, n_words=512)
    >>> kind, config = infer_official_config(model.state_dict())
    >>> kind, config["depth"], config["heads"], config["n_words"]
    ('pretraining', 3, 2, 512)
    """
    heads = heads or {}
    if "pos_embed" in state_dict:
        config = _backbone_config(state_dict, "", heads.get(""), head_dim)
        config["n_words"] = _shape(state_dict, "lm_head.weight")[0] if "lm_head.weight" in state_dict else None
        return PRETRAINING, config
    if "encoder.pos_embed" in state_dict:
        n_words, word_dim = _shape(state_dict, "quantize.embedding.weight")
        t = _shape(state_dict, "decode_task_layer.2.weight")[0]
        encoder = _backbone_config(state_dict, "encoder.", heads.get("encoder"), head_dim)
        decoder = _backbone_config(state_dict, "decoder.", heads.get("decoder"), head_dim)
        for config in (encoder, decoder):
            del config["in_channels"]
        return VQHBR, dict(encoder=encoder, decoder=decoder, n_words=n_words, word_dim=word_dim, t=t)
    keys = list(state_dict)
    raise ValueError("not an official HeartLang checkpoint: neither 'pos_embed' (pre-training model) nor "
                     f"'encoder.pos_embed' (VQ-HBR) among its keys (first: {keys[0] if keys else 'none'!r})")


def check_official_state_dict(state_dict, kind, config):
    """Raise a one-line ``ValueError`` for the first missing key, unexpected key or wrong shape."""
    expected = build_official_network(kind, config, device="meta").state_dict()
    for key in expected:
        if key not in state_dict:
            raise ValueError(f"checkpoint is missing key {key!r} (a {kind} model of the inferred sizes has it)")
    for key in state_dict:
        if key not in expected:
            raise ValueError(f"checkpoint has unexpected key {key!r} (not in the official {kind} model)")
    for key, tensor in expected.items():
        if tuple(state_dict[key].shape) != tuple(tensor.shape):
            raise ValueError(f"checkpoint key {key!r} has shape {tuple(state_dict[key].shape)}, the inferred "
                             f"{kind} model needs {tuple(tensor.shape)}")


def _load(path):
    path = Path(path)
    if not path.exists():
        raise ValueError(f"official checkpoint {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"official checkpoint {str(path)!r} is not a file")
    with open(path, "rb") as stream:
        magic = stream.read(4)
    # torch.save writes a zip archive (legacy files: a pickle, protocol byte 0x80)
    if not (zipfile.is_zipfile(path) or magic[:1] == b"\x80"):
        raise ValueError(f"{str(path)!r} is not a torch checkpoint (neither a torch.save archive nor a pickle)")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        refused = [line for line in lines if "Unsupported global" in line or "Unsupported operand" in line]
        reason = refused[0].split(" Please use")[0] if refused else (lines[0] if lines else type(error).__name__)
        raise ValueError(f"{str(path)!r} is not a checkpoint that loads with weights_only=True ({reason})") from None
    except Exception as error:  # truncated files, text, random bytes: torch raises various types
        raise ValueError(f"{str(path)!r} is not a torch checkpoint ({type(error).__name__})") from None


def _state_dict_of(payload, path):
    if isinstance(payload, dict) and "model" in payload:
        state_dict = payload["model"]
    else:
        state_dict = payload
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f"{str(path)!r} holds no state dict (expected a dict with the weights under 'model')")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ValueError(f"{str(path)!r}: state dict entry {key!r} is not a named tensor")
    if all(key.startswith("module.") for key in state_dict):
        state_dict = {key[len("module."):]: value for key, value in state_dict.items()}
    return {key: value.float() if value.is_floating_point() else value for key, value in state_dict.items()}


def read_official_checkpoint(path, head_dim=None):
    """Read and check a released HeartLang checkpoint (either model).

    Parameters
    ----------
    path : str or Path
        A ``.pth`` file: the official format (weights under ``"model"``), a bare state dict or a
        ``"module."``-prefixed one.
    head_dim : int or None, default=None
        Attention head width, for files that do not record their heads (default 64, official).

    Returns
    -------
    OfficialCheckpoint
        ``.build()`` gives the network with the weights.

    Raises
    ------
    ValueError
        One line naming the problem: a missing file, a file that is not a checkpoint, a missing or
        unexpected key, a wrong shape.

    Examples
    --------
    >>> import tempfile, torch
    >>> from heartlang_sk.models.heartlang_official import OfficialECGFormer
    >>> model = OfficialECGFormer(embed_dim=32, depth=1, heads=2, head_dim=16, mlp_dim=64,
    ...                           n_positions=17, n_words=64)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_official_checkpoint(model, f"{folder}/model.pth")
    ...     checkpoint = read_official_checkpoint(f"{folder}/model.pth")
    >>> checkpoint.kind, checkpoint.config["heads"], checkpoint.config["head_dim"]
    ('pretraining', 2, 16)
    >>> net = checkpoint.build()
    >>> bool(torch.equal(net.lm_head.weight, model.lm_head.weight))
    True
    """
    payload = _load(path)
    state_dict = _state_dict_of(payload, path)
    metadata = payload.get(_METADATA, {}) if isinstance(payload, dict) else {}
    heads = metadata.get("heads") if isinstance(metadata, dict) else None
    kind, config = infer_official_config(state_dict, heads=heads, head_dim=head_dim)
    check_official_state_dict(state_dict, kind, config)
    return OfficialCheckpoint(kind, config, state_dict)


def _heads_of(model):
    if isinstance(model, OfficialVQHBR):
        return {"encoder": model.encoder.heads, "decoder": model.decoder.heads}
    if isinstance(model, OfficialECGFormer):
        return {"": model.heads}
    raise TypeError(f"write_official_checkpoint takes an OfficialECGFormer or OfficialVQHBR, "
                    f"got {type(model).__name__}")


def write_official_checkpoint(model, path):
    """Write ``{"model": state_dict}`` in the official layout, atomically.

    Parameters
    ----------
    model : OfficialECGFormer or OfficialVQHBR
    path : str or Path
        The file; a temporary file in the same folder is renamed onto it, so a crash never leaves
        a half-written checkpoint.
    """
    heads = _heads_of(model)
    path = Path(path)
    payload = {"model": {key: value.detach().cpu().clone() for key, value in model.state_dict().items()},
               _METADATA: {"heads": heads}}
    from ...io.atomic import atomic_open

    with atomic_open(path) as stream:  # a crash or a full disk keeps any previous file
        torch.save(payload, stream)
