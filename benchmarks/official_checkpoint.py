"""Embedding throughput of the released HeartLang model's size, loaded through ``from_official``.

Usage::

    python benchmarks/official_checkpoint.py --data ../shared/data/ptbxl-2k [--records 200]
        [--threads 2] [--device cpu] [--out benchmarks/results]

The released checkpoints are not downloaded (nothing is, at run time): random weights in the
official layout at the released sizes (masked pre-training: width 768, 12 blocks, 8 heads x 64,
MLP 1,024, 8,192 words; VQ-HBR: width 768, encoder 4 / decoder 2 blocks, 2 heads x 64, MLP 2,048,
8,192 x 128 codebook) are written to a temporary ``.pth`` file and read back with
``HeartLangPretrainer.from_official`` / ``ECGVocabulary.from_official``, exactly the path a
downloaded file takes; the speed does not depend on the weights' values.

Measured: seconds to load each file, records/s of ``HeartLangEmbedder(pooling="cls").transform``
(the official linear probe's representation) and of ``ECGVocabulary.transform`` (ECG words) on
real ptbxl-2k records tokenized with ``QRSTokenizer.official``. One warm-up batch, then one timed
pass; the CPU machine is shared, so figures are indicative.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="ptbxl-2k folder (signals_100hz.npy)")
    parser.add_argument("--records", type=int, default=200, help="records embedded (default 200)")
    parser.add_argument("--vq-records", type=int, default=100, help="records turned into words (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)

    from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
    from heartlang_sk.models.heartlang_official import (RELEASED_PRETRAINING_CONFIG, RELEASED_VQHBR_CONFIG,
                                                        OfficialECGFormer, OfficialVQHBR, write_official_checkpoint)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    signals = np.load(Path(args.data) / "signals_100hz.npy", mmap_mode="r")
    n = max(args.records, args.vq_records)
    X = np.asarray(signals[:n], dtype=np.float32)
    sentences = QRSTokenizer.official(sampling_rate=100).fit_transform(X)

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        pre_path, vq_path = Path(folder) / "heartlang.pth", Path(folder) / "vqhbr.pth"
        write_official_checkpoint(OfficialECGFormer(**RELEASED_PRETRAINING_CONFIG), pre_path)
        released_vq = dict(RELEASED_VQHBR_CONFIG)
        write_official_checkpoint(OfficialVQHBR(**released_vq), vq_path)
        sizes = {path.name: path.stat().st_size / 2 ** 20 for path in (pre_path, vq_path)}
        pretrainer, load_pre = _timed(lambda: HeartLangPretrainer.from_official(pre_path, device=args.device))
        vocabulary, load_vq = _timed(lambda: ECGVocabulary.from_official(vq_path, device=args.device))

    embedder = HeartLangEmbedder(pretrainer, pooling="cls", batch_size=args.batch_size, device=args.device)
    embedder.fit(sentences[:1])
    embedder.transform(sentences[:args.batch_size])  # warm-up
    Z, seconds = _timed(lambda: embedder.transform(sentences[:args.records]))
    rows.append(("HeartLangEmbedder(pooling='cls').transform, released pre-training size",
                 args.records, seconds, Z.shape))
    vocabulary.set_params(batch_size=args.batch_size)
    vocabulary.transform(sentences[:args.batch_size])  # warm-up
    words, seconds = _timed(lambda: vocabulary.transform(sentences[:args.vq_records]))
    rows.append(("ECGVocabulary.transform (words), released VQ-HBR size", args.vq_records, seconds, words.shape))

    parameters = sum(p.numel() for p in pretrainer.encoder_.parameters())
    vq_parameters = sum(p.numel() for p in vocabulary.net_.module_.model.parameters())
    command = "python benchmarks/official_checkpoint.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Official-size HeartLang checkpoints: loading and embedding throughput",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared), torch {torch.__version__}, {args.threads} torch threads, "
        f"device {args.device}, batch size {args.batch_size}",
        "",
        "Random weights in the official layout at the released sizes, written to `.pth` files and "
        "read back with `from_official` (the path a downloaded checkpoint takes). "
        f"Masked pre-training model: {parameters:,} parameters, file {sizes['heartlang.pth']:.0f} MiB, "
        f"loaded in {load_pre:.1f} s. VQ-HBR: {vq_parameters:,} parameters (plus codebook buffers), "
        f"file {sizes['vqhbr.pth']:.0f} MiB, loaded in {load_vq:.1f} s.",
        "",
        f"Data: the first {n} ptbxl-2k records (100 Hz, 12 leads, 10 s), `QRSTokenizer.official(sampling_rate=100)`.",
        "",
        "| what | records | seconds | records/s |",
        "|---|---:|---:|---:|",
    ]
    for what, count, seconds, _ in rows:
        lines.append(f"| {what} | {count} | {seconds:.1f} | {count / seconds:.2f} |")
    lines += ["", "No GPU was lent to this session: GPU figures are still to be measured "
                  "(`--device cuda`)." if args.device == "cpu" else ""]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "official_checkpoint.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
