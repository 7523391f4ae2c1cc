"""Cross-check the official-architecture networks against the official HeartLang code itself.

Usage::

    pip install einops   # the official code's one extra import that matters here
    python benchmarks/official_crosscheck.py --official-repo path/to/HeartLang [--out benchmarks/results]

``--official-repo`` is a clone of https://github.com/PKUDigitalHealth/HeartLang (read at run time,
never copied here; the tests use an independent reference instead and do not need it). ``timm``
is replaced by stubs (the official modules import it only to register models and for
``trunc_normal_``). Random weights at a reduced size (width 96, 64-wide heads as released) go into
the official ``ST_ECGFormer`` and ``VQHBR``; their ``state_dict`` is loaded with ``strict=True`` into
:class:`OfficialECGFormer` / :class:`OfficialVQHBR`, and the outputs are compared in evaluation mode,
float32, on sentences with 256 to 1 real tokens (masked and not).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import types
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F


def _stub_timm():
    timm = types.ModuleType("timm")
    timm.create_model = None
    models = types.ModuleType("timm.models")
    models.register_model = lambda f: f
    layers = types.ModuleType("timm.models.layers")
    layers.trunc_normal_ = torch.nn.init.trunc_normal_
    registry = types.ModuleType("timm.models.registry")
    registry.register_model = lambda f: f
    timm.models, models.layers, models.registry = models, layers, registry
    sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers,
                        "timm.models.registry": registry})


def _relative(a, b):
    return float((a - b).norm() / b.norm())


def _perturb(module, skip=()):
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if not any(s in name for s in skip):
                parameter.add_(0.1 * torch.randn_like(parameter))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--official-repo", required=True, help="a clone of PKUDigitalHealth/HeartLang")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)

    from heartlang_sk.models.heartlang_official import OfficialECGFormer, OfficialVQHBR

    _stub_timm()
    sys.path.insert(0, str(Path(args.official_repo).resolve()))
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # the official VQHBR creates a figs/ folder in the working directory
        try:
            import modeling_pretrain
            import modeling_vqhbr

            torch.manual_seed(0)
            official = modeling_pretrain.ST_ECGFormer(seq_len=256, time_window=96, depth=2, embed_dim=96, heads=2,
                                                      mlp_dim=128, dim_head=64, vocab_size=128).eval()
            _perturb(official)
            encoder = dict(seq_len=256, time_window=96, embed_dim=96, depth=2, heads=2, mlp_dim=128, dropout=0.0,
                           emb_dropout=0.0, Encoder=True)
            decoder = dict(encoder, depth=1, code_dim=16, Encoder=False)
            official_vq = modeling_vqhbr.VQHBR(encoder, decoder, n_embed=512, codebook_embed_dim=16,
                                               quantize_kmeans_init=False, model="crosscheck").eval()
            _perturb(official_vq, skip=("quantize",))
        finally:
            os.chdir(here)

    ours = OfficialECGFormer(embed_dim=96, depth=2, heads=2, head_dim=64, mlp_dim=128, n_words=128)
    ours.load_state_dict(official.state_dict(), strict=True)
    small = dict(embed_dim=96, heads=2, head_dim=64, mlp_dim=128)
    ours_vq = OfficialVQHBR(dict(small, depth=2), dict(small, depth=1), n_words=512, word_dim=16)
    ours_vq.load_state_dict(official_vq.state_dict(), strict=True)
    ours.eval(), ours_vq.eval()

    generator = torch.Generator().manual_seed(1)
    x = torch.randn(6, 256, 96, generator=generator)
    leads = torch.randint(1, 13, (6, 256), generator=generator)
    times = torch.randint(1, 11, (6, 256), generator=generator)
    for i, n in enumerate([256, 200, 120, 60, 10, 1]):
        x[i, n:], leads[i, n:], times[i, n:] = 0, 0, 0
    mask = torch.rand(6, 256, generator=generator) < 0.5
    with torch.no_grad():
        rows = [
            ("CLS state, no mask (`forward(..., return_all_tokens=True)[:, 0]`)",
             _relative(ours(x, leads, times).cls,
                       official(x, in_chan_matrix=leads, in_time_matrix=times, return_all_tokens=True)[:, 0])),
            ("all 257 states, 50 % masked",
             _relative(ours.forward_all(x, leads, times, mask),
                       official(x, mask, leads, times, return_all_tokens=True))),
            ("`lm_head` logits of the masked tokens",
             _relative(ours.word_logits(ours(x, leads, times, mask).hidden[mask]), official(x, mask, leads, times))),
        ]
        words = ours_vq.official_indices(x, leads, times)
        agreement = [
            ("VQ-HBR words, with lead/time indices", words, official_vq.get_codebook_indices(x, leads, times)),
            ("VQ-HBR words, without (the official pre-training targets)", ours_vq.official_indices(x),
             official_vq.get_codebook_indices(x)),
        ]
        decoded = ours_vq.decode(F.embedding(words, ours_vq.quantize.codebook), leads, times)
        rows.append(("VQ-HBR decoder output", _relative(decoded, official_vq.decode(
            official_vq.encode(x, leads, times)[0], leads, times))))

    command = "python benchmarks/official_crosscheck.py " + " ".join(argv if argv is not None else sys.argv[1:])
    revision = subprocess.run(["git", "-C", args.official_repo, "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or "unknown"
    lines = ["# The official-architecture networks against the official HeartLang code", "",
             f"Command: `{command}`  ",
             f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; float32, eval mode; "
             f"official code at commit {revision}",
             "", "Random weights (width 96, 2 heads x 64, MLP 128; VQ-HBR encoder 2 / decoder 1 blocks, 512 x 16 "
             "codebook) in the official classes, loaded with `strict=True` into this toolkit's networks; 6 "
             "sentences with 256, 200, 120, 60, 10 and 1 real tokens.", "",
             "| output | relative error / agreement |", "|---|---:|"]
    lines += [f"| {what} | {value:.1e} |" for what, value in rows]
    for what, got, expected in agreement:
        distinct = len(set(expected.flatten().tolist()))
        lines.append(f"| {what} ({distinct} distinct words) | {float((got == expected).float().mean()):.2%} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "official_crosscheck.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
