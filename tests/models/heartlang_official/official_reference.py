"""An independent reference of the official HeartLang forward pass, for the equivalence tests.

Written from the official semantics (issue 11 / SPEC.md), in plain functional torch on a state
dict with the official key names, sharing no code with heartlang_sk.models.heartlang_official:
the key layout is spelled out here, attention is an explicit einsum, the token convolution an
explicit circular pad + F.conv1d.
"""

import torch
import torch.nn.functional as F


def backbone_shapes(prefix, dim, depth, inner, mlp, positions, in_channels, rows=16, words=None):
    """Official key -> shape of one ST-ECGFormer (``words`` adds ``lm_head``)."""
    shapes = {
        f"{prefix}mask_token": (1, 1, dim),
        f"{prefix}cls_token": (dim,),
        f"{prefix}pos_embed": (1, positions, dim),
        f"{prefix}token_embed.tokenConv.weight": (dim, in_channels, 3),
        f"{prefix}spa_embed.embed.weight": (rows, dim),
        f"{prefix}tem_embed.embed.weight": (rows, dim),
    }
    for i in range(depth):
        layer = f"{prefix}transformer.layers.{i}"
        shapes.update({
            f"{layer}.0.norm.weight": (dim,), f"{layer}.0.norm.bias": (dim,),
            f"{layer}.0.to_qkv.weight": (3 * inner, dim),
            f"{layer}.0.to_out.0.weight": (dim, inner), f"{layer}.0.to_out.0.bias": (dim,),
            f"{layer}.1.net.0.weight": (dim,), f"{layer}.1.net.0.bias": (dim,),
            f"{layer}.1.net.1.weight": (mlp, dim), f"{layer}.1.net.1.bias": (mlp,),
            f"{layer}.1.net.4.weight": (dim, mlp), f"{layer}.1.net.4.bias": (dim,),
        })
    shapes[f"{prefix}norm_layer.weight"] = (dim,)
    shapes[f"{prefix}norm_layer.bias"] = (dim,)
    if words is not None:
        shapes["lm_head.weight"] = (words, dim)
        shapes["lm_head.bias"] = (words,)
    return shapes


def vqhbr_shapes(dim, enc_depth, dec_depth, inner, mlp, positions, words, code, t=96):
    shapes = {}
    shapes.update(backbone_shapes("encoder.", dim, enc_depth, inner, mlp, positions, t))
    shapes.update(backbone_shapes("decoder.", dim, dec_depth, inner, mlp, positions, code))
    shapes.update({
        "quantize.cluster_size": (words,), "quantize.embedding.weight": (words, code),
        "quantize.embedding.cluster_size": (words,), "quantize.embedding.embed_avg": (words, code),
        "quantize.embedding.initted": (1,),
        "encode_task_layer.0.weight": (dim, dim), "encode_task_layer.0.bias": (dim,),
        "encode_task_layer.2.weight": (code, dim), "encode_task_layer.2.bias": (code,),
        "decode_task_layer.0.weight": (dim, dim), "decode_task_layer.0.bias": (dim,),
        "decode_task_layer.2.weight": (t, dim), "decode_task_layer.2.bias": (t,),
    })
    return shapes


def random_state_dict(shapes, seed=0):
    """Random weights of the given shapes: LayerNorm gains around 1, the codebook unit-norm rows."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        value = torch.randn(shape, generator=generator)
        if key.endswith(("norm.weight", "net.0.weight", "norm_layer.weight")):
            value = 1.0 + 0.3 * value
        elif key.endswith(".bias"):
            value = 0.1 * value
        elif key.endswith("initted"):
            value = torch.ones(shape)
        elif key == "quantize.embedding.weight":
            value = F.normalize(value, dim=1)
        elif value.ndim == 2:
            value = value / shape[1] ** 0.5
        elif key.endswith("tokenConv.weight"):
            value = value / (3 * shape[1]) ** 0.5
        state[key] = value
    return state


def _layer_norm(x, state, key, skip=False):
    if skip:
        return x
    return F.layer_norm(x, x.shape[-1:], state[f"{key}.weight"], state[f"{key}.bias"], eps=1e-5)


def reference_all_tokens(state, prefix, tokens, leads, times, heads, mask=None, skip_norm=None):
    """The official ``forward(..., return_all_tokens=True)``: (B, 1 + l, D).

    ``skip_norm`` names one LayerNorm key to leave out (to show that the comparison catches it).
    """
    conv = state[f"{prefix}token_embed.tokenConv.weight"]
    x = F.conv1d(F.pad(tokens.transpose(1, 2), (1, 1), mode="circular"), conv).transpose(1, 2)
    if mask is not None:
        w = mask[..., None].float()
        x = x * (1 - w) + state[f"{prefix}mask_token"] * w
    if leads is not None:
        x = x + state[f"{prefix}spa_embed.embed.weight"][leads]
    if times is not None:
        x = x + state[f"{prefix}tem_embed.embed.weight"][times]
    cls = state[f"{prefix}cls_token"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + state[f"{prefix}pos_embed"]
    depth = len({k.split(".")[len(prefix.split(".")) + 1] for k in state
                 if k.startswith(f"{prefix}transformer.layers.")})
    for i in range(depth):
        layer = f"{prefix}transformer.layers.{i}"
        h = _layer_norm(x, state, f"{layer}.0.norm", skip_norm == f"{layer}.0.norm")
        q, k, v = (h @ state[f"{layer}.0.to_qkv.weight"].T).chunk(3, dim=-1)
        b, n, inner = q.shape
        d = inner // heads
        q, k, v = (t.reshape(b, n, heads, d).permute(0, 2, 1, 3) for t in (q, k, v))
        attention = torch.softmax(torch.einsum("bhid,bhjd->bhij", q, k) * d ** -0.5, dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", attention, v).permute(0, 2, 1, 3).reshape(b, n, inner)
        x = out @ state[f"{layer}.0.to_out.0.weight"].T + state[f"{layer}.0.to_out.0.bias"] + x
        h = _layer_norm(x, state, f"{layer}.1.net.0", skip_norm == f"{layer}.1.net.0")
        h = F.gelu(h @ state[f"{layer}.1.net.1.weight"].T + state[f"{layer}.1.net.1.bias"])
        x = h @ state[f"{layer}.1.net.4.weight"].T + state[f"{layer}.1.net.4.bias"] + x
    return _layer_norm(x, state, f"{prefix}norm_layer", skip_norm == f"{prefix}norm_layer")


def reference_word_indices(state, tokens, leads, times, heads):
    """The official ``VQHBR.get_codebook_indices``: (B, l) int64."""
    hidden = reference_all_tokens(state, "encoder.", tokens, leads, times, heads)[:, 1:]
    hidden = torch.where((tokens == 0).all(dim=2)[..., None], torch.zeros_like(hidden), hidden)
    z = torch.tanh(hidden @ state["encode_task_layer.0.weight"].T + state["encode_task_layer.0.bias"])
    z = z @ state["encode_task_layer.2.weight"].T + state["encode_task_layer.2.bias"]
    z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    flat = z.reshape(-1, z.shape[-1])
    codebook = state["quantize.embedding.weight"]
    distance = (flat ** 2).sum(1, keepdim=True) + (codebook ** 2).sum(1) - 2 * flat @ codebook.T
    return distance.argmin(dim=1).reshape(z.shape[:2])


def sentences(batch, length, real, seed=0, channels=96):
    """Random sentences: ``real[i]`` real tokens in sentence i (lead 1..12, time 1..10), zero padding."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randn(batch, length, channels, generator=generator)
    leads = torch.randint(1, 13, (batch, length), generator=generator)
    times = torch.randint(1, 11, (batch, length), generator=generator)
    for i, n in enumerate(real):
        tokens[i, n:] = 0
        leads[i, n:] = 0
        times[i, n:] = 0
    return tokens, leads, times
